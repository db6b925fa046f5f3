-- Routing's read models (kept from other services' events) and its own state:
-- policies per printer, the jobs it still may move, and every decision it took.

CREATE TABLE printers (
    printer_id            uuid PRIMARY KEY,
    tenant_id             uuid NOT NULL,
    name                  text,
    revision              integer NOT NULL DEFAULT 0,
    connection_state      text NOT NULL DEFAULT 'offline'
                          CHECK (connection_state IN ('online', 'offline')),
    state_since           timestamptz,
    state_known           boolean NOT NULL DEFAULT false,
    capabilities          jsonb,
    capabilities_version  integer NOT NULL DEFAULT 0
);
CREATE INDEX printers_tenant ON printers (tenant_id);

CREATE TABLE virtual_printers (
    virtual_printer_id  uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL,
    name                text NOT NULL,
    revision            integer NOT NULL,
    members             uuid[] NOT NULL DEFAULT '{}'
);

CREATE TABLE quotas (
    quota_id        uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL,
    subject_kind    text NOT NULL CHECK (subject_kind IN ('user', 'group', 'tenant')),
    subject_id      uuid NOT NULL,
    members         uuid[] NOT NULL DEFAULT '{}',
    metric          text NOT NULL CHECK (metric IN ('pages', 'colour_pages')),
    period          text NOT NULL,
    period_start    timestamptz NOT NULL,
    used            integer NOT NULL,
    quota_limit     integer NOT NULL,
    policy          text NOT NULL CHECK (policy IN ('hold', 'warn')),
    exceeded        boolean NOT NULL,
    override_until  timestamptz
);
CREATE INDEX quotas_tenant ON quotas (tenant_id);

CREATE TABLE policies (
    printer_id           uuid PRIMARY KEY,
    tenant_id            uuid NOT NULL,
    on_offline           text NOT NULL CHECK (on_offline IN ('failover', 'hold')),
    offline_after_s      integer NOT NULL CHECK (offline_after_s >= 0),
    failover_printer_id  uuid,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    updated_by           text NOT NULL
);
CREATE INDEX policies_failover ON policies (failover_printer_id);

-- Jobs routing may still move: from job.submitted until sent or finished.
-- state: pending (not decided), queued (at printer_id), held (hold_reason), sent.
CREATE TABLE jobs (
    job_id              uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL,
    owner_id            uuid NOT NULL,
    target_printer_id   uuid,
    virtual_printer_id  uuid,
    release             text NOT NULL,
    document_format     text NOT NULL,
    printed_pages       integer,
    colour              boolean NOT NULL,
    settings            jsonb NOT NULL,
    state               text NOT NULL CHECK (state IN ('pending', 'queued', 'held', 'sent')),
    printer_id          uuid,
    hold_reason         text,
    decision            integer NOT NULL DEFAULT 0,
    submitted_at        timestamptz NOT NULL,
    checked_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_checked ON jobs (checked_at) WHERE state IN ('queued', 'held');
CREATE INDEX jobs_held ON jobs (hold_reason) WHERE state = 'held';
CREATE INDEX jobs_queued_at ON jobs (printer_id) WHERE state = 'queued';
CREATE INDEX jobs_owner ON jobs (tenant_id, owner_id);

-- Every decision taken, kept after the job finished (support looks them up).
CREATE TABLE decisions (
    job_id      uuid NOT NULL,
    decision    integer NOT NULL,
    tenant_id   uuid NOT NULL,
    action      text NOT NULL,
    printer_id  uuid,
    reason      text NOT NULL,
    detail      text NOT NULL,
    at          timestamptz NOT NULL,
    PRIMARY KEY (job_id, decision)
);
CREATE INDEX decisions_at ON decisions (at);
