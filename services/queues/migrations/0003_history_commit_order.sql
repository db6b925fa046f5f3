-- The event streams read job_history in commit order, not id order: an id is taken
-- when a row is inserted, so a row with a smaller id can commit after a larger one
-- was already streamed. `tx` is the writing transaction's id (or, for a job changed
-- by two transactions in turn, the previous writer's when that is larger, so one
-- job's changes stay in order); a stream reads only rows with `tx` below the oldest
-- transaction still running, in (tx, id) order, and resumes after a `<tx>-<id>`
-- Last-Event-ID. Rows written before this column existed get tx 0 (they come first;
-- adding a column with a constant default does not rewrite the table).
ALTER TABLE job_history ADD COLUMN tx xid8 NOT NULL DEFAULT '0';
ALTER TABLE job_history ALTER COLUMN tx SET DEFAULT pg_current_xact_id();

CREATE INDEX job_history_job_tx ON job_history (job_id, tx, id);
CREATE INDEX job_history_owner_tx ON job_history (tenant_id, owner_id, tx, id);
DROP INDEX job_history_job;
DROP INDEX job_history_owner;
