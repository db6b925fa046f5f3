-- One row per administrative change: who, when, what, and the subject before and after.
CREATE TABLE entries (
    id              bigserial PRIMARY KEY,
    event_id        uuid NOT NULL UNIQUE,
    tenant_id       uuid,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    actor_kind      text NOT NULL,
    actor_id        text NOT NULL,
    actor_token_id  uuid,
    event_type      text NOT NULL,
    event_version   integer NOT NULL,
    subject_kind    text NOT NULL,
    subject_id      text NOT NULL,
    before          jsonb,
    after           jsonb,
    source          text NOT NULL,
    correlation_id  uuid NOT NULL
);
CREATE INDEX entries_tenant ON entries (tenant_id, id);
CREATE INDEX entries_tenant_subject ON entries (tenant_id, subject_id, id);
CREATE INDEX entries_tenant_actor ON entries (tenant_id, actor_id, id);
CREATE INDEX entries_occurred ON entries (occurred_at);

-- The last known state of every subject of an administrative topic: the next change's
-- "before". A deleted subject's row is removed.
CREATE TABLE subjects (
    subject_kind  text NOT NULL,
    subject_id    text NOT NULL,
    tenant_id     uuid,
    state         jsonb NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (subject_kind, subject_id)
);
