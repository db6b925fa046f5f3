CREATE TABLE virtual_printers (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    name        text NOT NULL,
    revision    integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX virtual_printers_tenant_name_key ON virtual_printers (tenant_id, lower(name));

CREATE TABLE virtual_printer_members (
    virtual_printer_id  uuid NOT NULL REFERENCES virtual_printers (id) ON DELETE CASCADE,
    printer_id          uuid NOT NULL REFERENCES printers (id),
    position            integer NOT NULL,
    PRIMARY KEY (virtual_printer_id, printer_id)
);
CREATE INDEX virtual_printer_members_printer ON virtual_printer_members (printer_id);
