-- A reservation its owner (or an administrator) cancelled: its jobs not printed yet
-- were cancelled in the same transaction. Listed by tenant and owner, newest last.
ALTER TABLE reservations ADD COLUMN canceled_at timestamptz;
CREATE INDEX reservations_owner ON reservations (tenant_id, owner_id, id);
