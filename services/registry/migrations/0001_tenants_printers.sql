CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX tenants_name_key ON tenants (lower(name));

CREATE TABLE printers (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id),
    name              text NOT NULL,
    model             text NOT NULL,
    region            text NOT NULL,
    location          text,
    connection_state  text NOT NULL DEFAULT 'unknown',
    revision          integer NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX printers_tenant_name_key ON printers (tenant_id, lower(name));
CREATE INDEX printers_tenant_id ON printers (tenant_id, id);
