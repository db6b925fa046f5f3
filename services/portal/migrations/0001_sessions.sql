-- Browser sessions: only the SHA-256 of the session cookie is kept. A session carries
-- the access token auth issued at sign-in, the CSRF token of its forms, and ends at
-- expires_at, at sign-out, or when its person signs out everywhere.
CREATE TABLE sessions (
    id_hash       bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    user_id       uuid        NOT NULL,
    tenant_id     uuid,
    roles         text[]      NOT NULL DEFAULT '{}',
    access_token  text        NOT NULL,
    csrf_token    text        NOT NULL,
    method        text        NOT NULL CHECK (method IN ('passkey', 'api-token', 'oidc')),
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
