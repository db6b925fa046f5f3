-- IPP jobs: the integer job-id an IPP client sees, the Printcloud job behind it (null
-- while a Create-Job waits for its Send-Document) and the job's template settings.
CREATE TABLE ipp_jobs (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_id   uuid        NOT NULL,
    owner_id    text        NOT NULL,
    tenant_id   uuid,
    name        text        NOT NULL DEFAULT '',
    settings    jsonb       NOT NULL DEFAULT '{}',
    job_uuid    uuid UNIQUE,
    state       text        NOT NULL CHECK (state IN ('awaiting-document', 'submitted', 'canceled')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX ipp_jobs_target_owner ON ipp_jobs (target_id, owner_id, id DESC);
