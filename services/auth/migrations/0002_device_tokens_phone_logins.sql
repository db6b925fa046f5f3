-- Device access tokens: the last timestamp each device signed; a request must sign a
-- greater one, so a captured request cannot be replayed.
ALTER TABLE device_credentials ADD COLUMN last_token_timestamp bigint NOT NULL DEFAULT 0;

-- The printers each connector bridges (from the registry's connector.devices_changed).
CREATE TABLE connector_printers (
    connector_id  uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL,
    revision      integer NOT NULL,
    printer_ids   uuid[] NOT NULL DEFAULT '{}'
);

-- Users' phone keys: a phone proves its user by signing a printer's login challenge.
CREATE TABLE phone_keys (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id),
    tenant_id     uuid NOT NULL,
    label         text NOT NULL,
    algorithm     text NOT NULL CHECK (algorithm IN ('ed25519', 'ecdsa-p256')),
    public_key    bytea NOT NULL,
    fingerprint   text NOT NULL,
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
-- One key proves one user only.
CREATE UNIQUE INDEX phone_keys_active_fingerprint_key ON phone_keys (fingerprint)
    WHERE revoked_at IS NULL;
CREATE INDEX phone_keys_user_id ON phone_keys (user_id, created_at);

-- Login challenges a printer shows (as a QR code); only the SHA-256 of the challenge is
-- kept. Single use; dead after too many failed attempts.
CREATE TABLE login_challenges (
    challenge_hash  bytea PRIMARY KEY CHECK (length(challenge_hash) = 32),
    tenant_id       uuid NOT NULL,
    printer_id      uuid NOT NULL,
    device_id       uuid NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    failures        integer NOT NULL DEFAULT 0,
    used_at         timestamptz,
    key_id          uuid,
    session_id      uuid
);
CREATE INDEX login_challenges_expires_at ON login_challenges (expires_at);
