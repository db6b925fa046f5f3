-- Sign-ins under way at a tenant's identity provider (OpenID Connect): the SHA-256 of
-- the state sent with the browser, the SHA-256 of the browser's flow cookie it must come
-- back with, the nonce and PKCE verifier. Single use, a few minutes long.
CREATE TABLE sign_in_flows (
    state_hash     bytea PRIMARY KEY CHECK (length(state_hash) = 32),
    browser_hash   bytea NOT NULL CHECK (length(browser_hash) = 32),
    tenant_id      uuid NOT NULL,
    nonce          text NOT NULL,
    code_verifier  text NOT NULL,
    redirect_uri   text NOT NULL,
    expires_at     timestamptz NOT NULL
);
CREATE INDEX sign_in_flows_expires_at ON sign_in_flows (expires_at);
