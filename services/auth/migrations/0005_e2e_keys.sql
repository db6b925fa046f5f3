-- Printers' ephemeral end-to-end keys: the latest offer each printer published, signed
-- with its device key (the private halves never leave the printers).
CREATE TABLE e2e_keys (
    device_id     uuid PRIMARY KEY REFERENCES device_credentials (device_id),
    tenant_id     uuid NOT NULL,
    key_id        uuid NOT NULL,
    public_key    text NOT NULL,
    expires_at    bigint NOT NULL,
    signature     text NOT NULL,
    published_at  timestamptz NOT NULL DEFAULT now()
);
