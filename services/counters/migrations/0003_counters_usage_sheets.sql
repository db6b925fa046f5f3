-- Sheets of paper in the usage roll-ups (and how many of them were printed on both
-- sides), for accounting exports. Windows rolled up before this change count 0.
ALTER TABLE usage_windows
    ADD COLUMN sheets        bigint NOT NULL DEFAULT 0 CHECK (sheets >= 0),
    ADD COLUMN duplex_sheets bigint NOT NULL DEFAULT 0 CHECK (duplex_sheets >= 0);
