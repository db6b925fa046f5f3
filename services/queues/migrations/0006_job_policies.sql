-- What the print policies did to a job (routing's first decision): the tenant's policy
-- version it was decided with, the settings they changed, or the refusal.
ALTER TABLE jobs
    ADD COLUMN policy_version      integer,
    ADD COLUMN policy_adjustments  jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN policy_refusal      jsonb;
