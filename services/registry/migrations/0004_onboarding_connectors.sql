-- Device onboarding (registrations and claim codes) and connectors.

CREATE TABLE registrations (
    id             uuid PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('printer', 'connector')),
    model          text NOT NULL,
    public_key     bytea NOT NULL,
    key_algorithm  text NOT NULL,
    fingerprint    text NOT NULL UNIQUE,
    claim_code     text NOT NULL,
    source         text NOT NULL CHECK (source IN ('online', 'relay')),
    status         text NOT NULL CHECK (status IN ('pending', 'claimed')),
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    tenant_id      uuid REFERENCES tenants (id),
    device_id      uuid,
    claimed_at     timestamptz,
    last_poll      bigint NOT NULL DEFAULT 0
);
-- Codes a person types must be unique among those that can still be claimed.
CREATE UNIQUE INDEX registrations_pending_code ON registrations (claim_code)
    WHERE status = 'pending';

-- Sliding-window counters for the two endpoints that guess or create codes.
CREATE TABLE onboarding_attempts (
    bucket  text NOT NULL,
    at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX onboarding_attempts_bucket_at ON onboarding_attempts (bucket, at);

CREATE TABLE connectors (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    name        text NOT NULL,
    model       text NOT NULL,
    region      text NOT NULL,
    location    text,
    revision    integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX connectors_tenant_name_key ON connectors (tenant_id, lower(name));

-- The devices a connector is responsible for, and how it reaches each one.
CREATE TABLE connector_devices (
    connector_id  uuid NOT NULL REFERENCES connectors (id),
    printer_id    uuid NOT NULL UNIQUE REFERENCES printers (id),
    uri           text NOT NULL,
    PRIMARY KEY (connector_id, printer_id)
);
