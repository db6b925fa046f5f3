-- Idempotency keys of submissions (POST /v1/jobs, POST /v1/documents): a retried
-- request with the same key answers what the first one created instead of creating
-- it again. Recorded in the transaction that creates the job or document.
CREATE TABLE idempotency_keys (
    tenant_id    uuid        NOT NULL,
    owner_id     uuid        NOT NULL,
    key          text        NOT NULL,
    fingerprint  text        NOT NULL,
    resource     text        NOT NULL,
    resource_id  uuid        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, owner_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
