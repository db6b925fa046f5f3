-- Users and service accounts. tenant_id NULL: a platform service account.
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    tenant_id     uuid,
    kind          text NOT NULL CHECK (kind IN ('person', 'service')),
    email         text,
    display_name  text NOT NULL,
    roles         text[] NOT NULL DEFAULT '{}',
    disabled      boolean NOT NULL DEFAULT false,
    revision      integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    CHECK ((kind = 'person') = (email IS NOT NULL)),
    CHECK (tenant_id IS NOT NULL OR kind = 'service'),
    CHECK (roles <@ ARRAY['admin', 'user']::text[])
);
CREATE UNIQUE INDEX users_tenant_email_key ON users (tenant_id, lower(email))
    WHERE deleted_at IS NULL AND email IS NOT NULL;
CREATE INDEX users_tenant_id ON users (tenant_id, id) WHERE deleted_at IS NULL;

-- API tokens: only the SHA-256 of the secret is stored; it is also the lookup key.
CREATE TABLE api_tokens (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id),
    tenant_id     uuid,
    name          text NOT NULL,
    token_hash    bytea NOT NULL CHECK (length(token_hash) = 32),
    scopes        text[] NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz
);
CREATE UNIQUE INDEX api_tokens_token_hash_key ON api_tokens (token_hash);
CREATE INDEX api_tokens_user_id ON api_tokens (user_id, id);

-- Access-token signing keys; the private half is sealed (AES-256-GCM) under the KEK.
CREATE TABLE signing_keys (
    kid           text PRIMARY KEY,
    algorithm     text NOT NULL,
    public_jwk    jsonb NOT NULL,
    private_key   bytea NOT NULL,
    created_at    timestamptz NOT NULL,
    activates_at  timestamptz NOT NULL
);

-- Device public keys, one per printer or connector.
CREATE TABLE device_credentials (
    device_id      uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL,
    subject_type   text NOT NULL CHECK (subject_type IN ('printer', 'connector')),
    subject_id     uuid NOT NULL,
    public_key     bytea NOT NULL,
    key_algorithm  text NOT NULL CHECK (key_algorithm IN ('ed25519', 'ecdsa-p256')),
    fingerprint    text NOT NULL,
    model          text NOT NULL,
    claimed_at     timestamptz NOT NULL,
    issued_at      timestamptz NOT NULL,
    revoked_at     timestamptz
);
-- One key authenticates one device only.
CREATE UNIQUE INDEX device_credentials_active_fingerprint_key ON device_credentials (fingerprint)
    WHERE revoked_at IS NULL;
CREATE INDEX device_credentials_tenant_id ON device_credentials (tenant_id);
