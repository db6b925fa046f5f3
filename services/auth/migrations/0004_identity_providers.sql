-- A tenant's OpenID Connect identity provider (at most one): its issuer, the portal's
-- client at it (the secret sealed with the key-encryption key) and how claims map to roles.
CREATE TABLE identity_providers (
    tenant_id             uuid PRIMARY KEY,
    issuer                text NOT NULL,
    client_id             text NOT NULL,
    client_secret_sealed  bytea NOT NULL,
    role_claim            text NOT NULL,
    role_map              jsonb NOT NULL,
    default_role          text,
    group_claim           text,
    updated_at            timestamptz NOT NULL
);

-- The people an identity provider signed in: issuer + subject name one user for good
-- (an email may change at the provider); the groups of the last sign-in are kept.
CREATE TABLE user_identities (
    issuer         text NOT NULL,
    subject        text NOT NULL,
    user_id        uuid NOT NULL REFERENCES users (id),
    tenant_id      uuid NOT NULL,
    groups         text[] NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL,
    last_sign_in   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, issuer, subject)
);
CREATE INDEX user_identities_user_id ON user_identities (user_id);
