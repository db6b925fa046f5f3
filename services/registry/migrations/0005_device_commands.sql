-- The ledger of commands for devices: pending until the device acknowledges.
CREATE TABLE device_commands (
    command_id        uuid PRIMARY KEY,
    device_id         uuid NOT NULL,
    tenant_id         uuid NOT NULL REFERENCES tenants (id),
    target_device_id  uuid,
    name              text NOT NULL,
    payload           jsonb NOT NULL,
    issued_at         timestamptz NOT NULL,
    state             text NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'done', 'failed', 'rejected')),
    acked_at          timestamptz,
    detail            text
);
CREATE INDEX device_commands_pending ON device_commands (device_id, issued_at)
    WHERE state = 'pending';
