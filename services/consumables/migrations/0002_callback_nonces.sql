-- Nonces of suppliers' signed callbacks, each accepted once. A row is kept while a
-- callback with its timestamp could still be accepted (the tolerance window), and
-- deleted after; a nonce older than the window is refused by its timestamp anyway.
CREATE TABLE callback_nonces (
    supplier_id  uuid NOT NULL,
    nonce        text NOT NULL,
    seen_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (supplier_id, nonce)
);
CREATE INDEX callback_nonces_seen_at ON callback_nonces (seen_at);
