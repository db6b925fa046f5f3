-- Why a job is in its state, in words for its owner: the routing decision that held
-- or queued it ("over the monthly quota of 500 pages: 512 used"), or the printer's
-- reason for a failure. Empty when there is nothing to say.
ALTER TABLE jobs ADD COLUMN state_detail text NOT NULL DEFAULT '';
