-- Each counted attempt has an id, so a claim that succeeds can give back the attempt
-- it reserved (the limit is checked and recorded in one locked step).
ALTER TABLE onboarding_attempts ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
