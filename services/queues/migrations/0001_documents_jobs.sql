-- Documents (content in the blob store, addressed by sha256) and print jobs.

CREATE TABLE documents (
    id          uuid PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    owner_id    uuid        NOT NULL,
    sha256      text        NOT NULL,
    size        bigint      NOT NULL,
    format      text        NOT NULL,
    pages       integer,
    title       text        NOT NULL DEFAULT '',
    keep        boolean     NOT NULL DEFAULT false,
    priority    integer     NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);
-- The references a blob has: it is deleted when no live document names it.
CREATE INDEX documents_live_sha256 ON documents (sha256) WHERE deleted_at IS NULL;
CREATE INDEX documents_owner ON documents (tenant_id, owner_id, created_at)
    WHERE deleted_at IS NULL;

CREATE TABLE reservations (
    id          uuid PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    owner_id    uuid        NOT NULL,
    printer_id  uuid        NOT NULL,
    deadline    timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE jobs (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid        NOT NULL,
    owner_id            uuid        NOT NULL,
    document_id         uuid        NOT NULL REFERENCES documents (id),
    release             text        NOT NULL,
    title               text        NOT NULL,
    pages               integer,
    settings            jsonb       NOT NULL,
    state               text        NOT NULL,
    printer_id          uuid,
    virtual_printer_id  uuid,
    decision            integer     NOT NULL DEFAULT 0,
    hold_reason         text,
    expires_at          timestamptz,
    reservation_id      uuid REFERENCES reservations (id),
    sequence            integer,
    submitted_at        timestamptz NOT NULL DEFAULT now(),
    queued_at           timestamptz,
    finished_at         timestamptz,
    CHECK ((printer_id IS NOT NULL) OR (virtual_printer_id IS NOT NULL))
);
CREATE INDEX jobs_owner ON jobs (tenant_id, owner_id, id);
CREATE INDEX jobs_tenant ON jobs (tenant_id, id);
CREATE INDEX jobs_at_printer ON jobs (printer_id, queued_at)
    WHERE state IN ('queued', 'sent', 'printing');
CREATE INDEX jobs_held_expiry ON jobs (expires_at) WHERE state = 'held';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_document ON jobs (document_id);

-- Every change of a job's state, in commit order per job: the event streams
-- resume from it (Last-Event-ID is its id).
CREATE TABLE job_history (
    id          bigserial PRIMARY KEY,
    job_id      uuid        NOT NULL REFERENCES jobs (id),
    tenant_id   uuid        NOT NULL,
    owner_id    uuid        NOT NULL,
    state       text        NOT NULL,
    printer_id  uuid,
    detail      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_history_job ON job_history (job_id, id);
CREATE INDEX job_history_owner ON job_history (tenant_id, owner_id, id);

-- Read models kept from other services' events.
CREATE TABLE printers (
    id                    uuid PRIMARY KEY,
    tenant_id             uuid    NOT NULL,
    name                  text    NOT NULL DEFAULT '',
    model                 text    NOT NULL DEFAULT '',
    region                text    NOT NULL DEFAULT '',
    revision              integer NOT NULL DEFAULT 0,
    capabilities          jsonb,
    capabilities_version  integer NOT NULL DEFAULT 0,
    connection_state      text    NOT NULL DEFAULT 'unknown',
    connection_at         timestamptz
);

CREATE TABLE virtual_printers (
    id         uuid PRIMARY KEY,
    tenant_id  uuid    NOT NULL,
    name       text    NOT NULL,
    revision   integer NOT NULL,
    members    uuid[]  NOT NULL
);

-- Which connector bridges a printer (a printer with no row holds its own websocket).
CREATE TABLE printer_holders (
    printer_id    uuid PRIMARY KEY,
    connector_id  uuid NOT NULL,
    tenant_id     uuid NOT NULL
);
CREATE TABLE connectors (
    id         uuid PRIMARY KEY,
    tenant_id  uuid    NOT NULL,
    revision   integer NOT NULL
);

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    tenant_id     uuid,
    display_name  text    NOT NULL,
    revision      integer NOT NULL,
    deleted       boolean NOT NULL DEFAULT false
);

-- Users' sessions at printers (phone login): secure-release jobs print while open.
CREATE TABLE sessions (
    id            uuid PRIMARY KEY,
    tenant_id     uuid        NOT NULL,
    printer_id    uuid        NOT NULL,
    user_id       uuid        NOT NULL,
    display_name  text        NOT NULL,
    opened_at     timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL
);
CREATE INDEX sessions_printer ON sessions (printer_id, user_id, expires_at);
