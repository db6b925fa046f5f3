-- Where a bridged printer takes files (firmware, templates), if it does.
ALTER TABLE connector_devices ADD COLUMN files_uri text;
