-- Read model of the registry's printers: what rules match on.
CREATE TABLE printers (
    printer_id  uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    name        text NOT NULL,
    model       text NOT NULL,
    region      text NOT NULL,
    location    text,
    revision    integer NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE suppliers (
    id             uuid PRIMARY KEY,
    tenant_id      uuid,                 -- NULL: a platform supplier, usable by every tenant
    name           text NOT NULL,
    webhook_url    text NOT NULL,
    sealed_secret  bytea NOT NULL,       -- AES-256-GCM under the service's key-encryption key
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX suppliers_tenant ON suppliers (tenant_id, id);

CREATE TABLE supply_rules (
    id                 uuid PRIMARY KEY,
    tenant_id          uuid,             -- NULL: a platform default
    region             text NOT NULL,    -- '*' matches every region
    model              text NOT NULL,
    colour             text NOT NULL,
    kind               text NOT NULL,
    action             text NOT NULL CHECK (action IN ('order', 'warn', 'ignore')),
    threshold_percent  integer NOT NULL CHECK (threshold_percent BETWEEN 0 AND 100),
    supplier_id        uuid REFERENCES suppliers (id),
    revision           integer NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
-- Two rules with the same keys in one scope would tie: refused.
CREATE UNIQUE INDEX supply_rules_keys
    ON supply_rules (COALESCE(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid),
                     region, model, colour, kind);

-- The latest level of each supply of a printer, and its current low episode.
CREATE TABLE supply_levels (
    printer_id     uuid NOT NULL,
    kind           text NOT NULL,
    colour         text NOT NULL,
    tenant_id      uuid NOT NULL,
    name           text NOT NULL DEFAULT '',
    level_percent  integer,
    source         text NOT NULL,
    reported_at    timestamptz NOT NULL,
    low_since      timestamptz,          -- set when a rule acted (order/warn) on a low level
    low_threshold  integer,              -- that rule's threshold
    low_lowest     integer,              -- lowest level seen since
    PRIMARY KEY (printer_id, kind, colour)
);
CREATE INDEX supply_levels_tenant ON supply_levels (tenant_id, printer_id);

CREATE TABLE supply_level_history (
    id             bigserial PRIMARY KEY,
    printer_id     uuid NOT NULL,
    kind           text NOT NULL,
    colour         text NOT NULL,
    level_percent  integer,
    reported_at    timestamptz NOT NULL,
    event_id       uuid NOT NULL
);
CREATE INDEX supply_level_history_supply
    ON supply_level_history (printer_id, kind, colour, reported_at);
CREATE INDEX supply_level_history_reported ON supply_level_history (reported_at);

CREATE TABLE supply_orders (
    id                 uuid PRIMARY KEY,
    tenant_id          uuid NOT NULL,
    printer_id         uuid NOT NULL,
    kind               text NOT NULL,
    colour             text NOT NULL,
    supply_name        text NOT NULL DEFAULT '',
    state              text NOT NULL CHECK (state IN ('created', 'sending', 'sent', 'shipped',
                         'delivered', 'installed', 'canceled', 'rejected_by_supplier')),
    rule_id            uuid NOT NULL,
    supplier_id        uuid REFERENCES suppliers (id),
    level_percent      integer,
    threshold_percent  integer NOT NULL,
    carrier            text,
    tracking_number    text,
    detail             text,             -- why it was canceled or rejected
    supplier_response  jsonb,            -- the supplier's answer when it refused the order
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    sent_at            timestamptz,
    shipped_at         timestamptz,
    delivered_at       timestamptz,
    closed_at          timestamptz
);
-- At most one open order per printer and supply, whatever races.
CREATE UNIQUE INDEX supply_orders_one_open
    ON supply_orders (printer_id, kind, colour)
    WHERE state IN ('created', 'sending', 'sent', 'shipped', 'delivered');
CREATE INDEX supply_orders_tenant ON supply_orders (tenant_id, created_at DESC, id);

-- Webhook deliveries still to make: the worker's own durable queue.
CREATE TABLE order_deliveries (
    order_id         uuid PRIMARY KEY REFERENCES supply_orders (id),
    supplier_id      uuid NOT NULL REFERENCES suppliers (id),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status      integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_deliveries_due ON order_deliveries (next_attempt_at);
