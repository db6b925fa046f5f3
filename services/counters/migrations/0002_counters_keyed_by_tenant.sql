-- A printer's counters belong to one tenant: the first reading binds the printer to its
-- tenant, a reading from any other tenant is refused, and the kept values are keyed by
-- tenant and printer.
CREATE TABLE counter_printers (
    printer_id  uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    bound_at    timestamptz NOT NULL DEFAULT now()
);
INSERT INTO counter_printers (printer_id, tenant_id)
    SELECT DISTINCT ON (printer_id) printer_id, tenant_id
    FROM counter_readings ORDER BY printer_id, received_at
ON CONFLICT DO NOTHING;

ALTER TABLE printer_counters DROP CONSTRAINT printer_counters_pkey;
ALTER TABLE printer_counters ADD PRIMARY KEY (tenant_id, printer_id, counter);
CREATE INDEX counter_increments_tenant_printer ON counter_increments (tenant_id, printer_id, read_at);
