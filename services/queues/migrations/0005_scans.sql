-- Scans sent from a printer to a person's phone, end-to-end protected: the phone asks
-- with its ephemeral public key, the printer uploads the page encrypted to it (kept
-- as a document of the person's, which only the phone can read).
CREATE TABLE scans (
    id            uuid PRIMARY KEY,
    tenant_id     uuid        NOT NULL,
    owner_id      uuid        NOT NULL,
    printer_id    uuid        NOT NULL,
    key_id        uuid        NOT NULL,
    public_key    text        NOT NULL,
    state         text        NOT NULL CHECK (state IN ('requested', 'delivered')),
    document_id   uuid REFERENCES documents (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz
);
CREATE INDEX scans_requested ON scans (printer_id, created_at) WHERE state = 'requested';
