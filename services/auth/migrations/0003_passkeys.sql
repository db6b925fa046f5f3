-- Users' passkeys (WebAuthn credentials): the public key the authenticator made, its
-- credential id and the signature counter it last reported.
CREATE TABLE passkeys (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id),
    tenant_id      uuid NOT NULL,
    label          text NOT NULL,
    credential_id  bytea NOT NULL UNIQUE,
    public_key     bytea NOT NULL,
    sign_count     bigint NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL,
    last_used_at   timestamptz,
    revoked_at     timestamptz
);
CREATE INDEX passkeys_user_id ON passkeys (user_id, created_at);

-- WebAuthn challenges: single use, short-lived; only the SHA-256 of the challenge is
-- kept. A registration challenge belongs to one user; a sign-in challenge to none.
CREATE TABLE passkey_challenges (
    challenge_hash  bytea PRIMARY KEY CHECK (length(challenge_hash) = 32),
    purpose         text NOT NULL CHECK (purpose IN ('register', 'sign-in')),
    user_id         uuid,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);
CREATE INDEX passkey_challenges_expires_at ON passkey_challenges (expires_at);
