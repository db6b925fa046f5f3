-- Device counters: the last value kept per printer and counter, every increment,
-- every reset, and the readings applied or refused.
CREATE TABLE counter_readings (
    reading_id   uuid PRIMARY KEY,
    printer_id   uuid NOT NULL,
    tenant_id    uuid NOT NULL,
    read_at      timestamptz NOT NULL,
    attempts     integer NOT NULL,
    source       text NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('applied', 'unchanged', 'out_of_order')),
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX counter_readings_printer ON counter_readings (printer_id, read_at);

CREATE TABLE printer_counters (
    printer_id   uuid NOT NULL,
    counter      text NOT NULL,
    tenant_id    uuid NOT NULL,
    unit         text NOT NULL,
    value        bigint NOT NULL CHECK (value >= 0),
    usage        bigint NOT NULL DEFAULT 0 CHECK (usage >= 0),
    read_at      timestamptz NOT NULL,
    reading_id   uuid NOT NULL,
    PRIMARY KEY (printer_id, counter)
);

CREATE TABLE counter_increments (
    id           bigserial PRIMARY KEY,
    printer_id   uuid NOT NULL,
    counter      text NOT NULL,
    tenant_id    uuid NOT NULL,
    reading_id   uuid NOT NULL,
    increment    bigint NOT NULL CHECK (increment >= 0),
    value        bigint NOT NULL,
    read_at      timestamptz NOT NULL
);
CREATE INDEX counter_increments_printer ON counter_increments (printer_id, read_at);

CREATE TABLE counter_resets (
    id             bigserial PRIMARY KEY,
    printer_id     uuid NOT NULL,
    counter        text NOT NULL,
    tenant_id      uuid NOT NULL,
    reading_id     uuid NOT NULL,
    previous_value bigint NOT NULL,
    new_value      bigint NOT NULL,
    read_at        timestamptz NOT NULL,
    detected_at    timestamptz NOT NULL DEFAULT now()
);

-- Readings refused because a job ran while they were taken; parked on the
-- dead-letter topic through the outbox in the same transaction.
CREATE TABLE refused_readings (
    event_id        uuid PRIMARY KEY,
    reading_id      uuid NOT NULL,
    printer_id      uuid NOT NULL,
    tenant_id       uuid NOT NULL,
    activity_before bigint NOT NULL,
    activity_after  bigint NOT NULL,
    reason          text NOT NULL,
    refused_at      timestamptz NOT NULL DEFAULT now()
);

-- Usage per job, from job.completed.
CREATE TABLE job_usage (
    job_id        uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL,
    user_id       uuid NOT NULL,
    printer_id    uuid NOT NULL,
    pages         bigint NOT NULL,
    colour_pages  bigint NOT NULL,
    sheets        bigint NOT NULL,
    completed_at  timestamptz NOT NULL
);
CREATE INDEX job_usage_tenant ON job_usage (tenant_id, completed_at);

-- Roll-ups read from counters.usage: the latest totals of each window.
CREATE TABLE usage_windows (
    tenant_id     uuid NOT NULL,
    granularity   text NOT NULL CHECK (granularity IN ('hour', 'day', 'month')),
    dimension     text NOT NULL CHECK (dimension IN ('tenant', 'user', 'printer')),
    subject_id    uuid NOT NULL,
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    pages         bigint NOT NULL,
    colour_pages  bigint NOT NULL,
    jobs          bigint NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, granularity, dimension, subject_id, window_start)
);

CREATE TABLE quotas (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL,
    subject_kind    text NOT NULL CHECK (subject_kind IN ('user', 'group', 'tenant')),
    subject_id      uuid NOT NULL,
    members         uuid[] NOT NULL DEFAULT '{}',
    metric          text NOT NULL CHECK (metric IN ('pages', 'colour_pages')),
    period          text NOT NULL CHECK (period IN ('day', 'week', 'month', 'year')),
    "limit"         bigint NOT NULL CHECK ("limit" >= 0),
    policy          text NOT NULL CHECK (policy IN ('hold', 'warn')),
    period_start    timestamptz NOT NULL,
    used            bigint NOT NULL DEFAULT 0 CHECK (used >= 0),
    override_until  timestamptz,
    override_reason text NOT NULL DEFAULT '',
    revision        integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quotas_tenant ON quotas (tenant_id, id);

CREATE TABLE quota_overrides (
    id          bigserial PRIMARY KEY,
    quota_id    uuid NOT NULL REFERENCES quotas (id) ON DELETE CASCADE,
    until       timestamptz NOT NULL,
    reason      text NOT NULL,
    by_subject  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
