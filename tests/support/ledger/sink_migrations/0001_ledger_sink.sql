-- No unique constraint on event_id on purpose: a double application must be visible.
CREATE TABLE applied (
    event_id   uuid NOT NULL,
    key        text NOT NULL,
    seq        integer NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE heads (key text PRIMARY KEY, seq integer NOT NULL);
CREATE TABLE violations (event_id uuid NOT NULL, key text NOT NULL, expected integer, got integer);
