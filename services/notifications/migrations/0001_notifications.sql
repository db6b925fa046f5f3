-- Tenants' webhook endpoints and what they subscribe to (empty filters: everything).
CREATE TABLE endpoints (
    id                    uuid PRIMARY KEY,
    tenant_id             uuid NOT NULL,
    url                   text NOT NULL,
    description           text NOT NULL DEFAULT '',
    event_types           text[] NOT NULL,
    printer_ids           uuid[] NOT NULL DEFAULT '{}',
    user_ids              uuid[] NOT NULL DEFAULT '{}',
    token_ids             uuid[] NOT NULL DEFAULT '{}',
    enabled               boolean NOT NULL DEFAULT true,
    disabled_reason       text,
    consecutive_failures  integer NOT NULL DEFAULT 0,
    failing_since         timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoints_tenant ON endpoints (tenant_id, id);

-- Signing secrets, sealed under the service's key-encryption key; during a rotation's
-- overlap the old ones (expires_at in the future) sign as well.
CREATE TABLE endpoint_secrets (
    id           uuid PRIMARY KEY,
    endpoint_id  uuid NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    sealed       bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz
);
CREATE INDEX endpoint_secrets_endpoint ON endpoint_secrets (endpoint_id);

-- What notifications remembers of each job: who, with which token, where, and its
-- submitter's callback URL.
CREATE TABLE jobs (
    job_id        uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL,
    owner_id      uuid NOT NULL,
    token_id      uuid,
    printer_id    uuid,
    callback_url  text,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Whether each quota was already exceeded (quota.exceeded is told once per period).
CREATE TABLE quota_states (
    quota_id      uuid PRIMARY KEY,
    period_start  timestamptz NOT NULL,
    exceeded      boolean NOT NULL
);

-- The durable queue of webhooks: one row per notice and URL, attempted until it
-- succeeds or is given up. Rows of one (endpoint, order_key) go out in id order.
CREATE TABLE deliveries (
    id                bigserial PRIMARY KEY,
    endpoint_id       uuid NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    url               text NOT NULL,
    message_id        uuid NOT NULL,            -- the webhook-id: the event's id
    event_type        text NOT NULL,
    order_key         text NOT NULL,
    body              text NOT NULL,
    manual            boolean NOT NULL DEFAULT false,
    state             text NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts          integer NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    event_at          timestamptz NOT NULL,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    leased_until      timestamptz,
    delivered_at      timestamptz,
    last_status       integer,
    last_latency_ms   integer,
    last_error        text
);
-- The same notice is queued once per URL (a redelivered event changes nothing).
CREATE UNIQUE INDEX deliveries_once ON deliveries (endpoint_id, message_id, url) WHERE NOT manual;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_order ON deliveries (endpoint_id, order_key, id) WHERE state = 'pending';
CREATE INDEX deliveries_log ON deliveries (endpoint_id, id);
CREATE INDEX deliveries_finished ON deliveries (created_at) WHERE state <> 'pending';
CREATE INDEX deliveries_in_flight ON deliveries (endpoint_id)
    WHERE state = 'pending' AND leased_until IS NOT NULL;

CREATE TABLE delivery_attempts (
    delivery_id  bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt      integer NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    status       integer,
    latency_ms   integer NOT NULL,
    error        text,
    response     text NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, attempt)
);
