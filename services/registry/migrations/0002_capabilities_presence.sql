-- Capabilities as reported by devices, one row per version; presence from the gateway.

CREATE TABLE printer_capabilities (
    printer_id   uuid        NOT NULL REFERENCES printers (id),
    version      integer     NOT NULL,
    fingerprint  text        NOT NULL,
    document     jsonb       NOT NULL,
    reported_at  timestamptz NOT NULL,
    PRIMARY KEY (printer_id, version)
);

ALTER TABLE printers
    ADD COLUMN capabilities_version integer NOT NULL DEFAULT 0,
    ADD COLUMN last_seen_at timestamptz,
    ADD COLUMN presence_session uuid;
