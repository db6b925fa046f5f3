-- Job holds (job-hold-until, Hold-Job, Release-Job): a held IPP job has its document
-- stored (document_id) and no Printcloud job until Release-Job submits it.
ALTER TABLE ipp_jobs ADD COLUMN hold_until text;
ALTER TABLE ipp_jobs ADD COLUMN document_id uuid;
ALTER TABLE ipp_jobs DROP CONSTRAINT ipp_jobs_state_check;
ALTER TABLE ipp_jobs ADD CONSTRAINT ipp_jobs_state_check
    CHECK (state IN ('awaiting-document', 'held', 'submitted', 'canceled'));
