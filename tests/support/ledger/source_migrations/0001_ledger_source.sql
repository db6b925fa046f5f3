CREATE TABLE keys (key text PRIMARY KEY, seq integer NOT NULL);
CREATE TABLE progress (id integer PRIMARY KEY CHECK (id = 1), emitted integer NOT NULL);
INSERT INTO progress VALUES (1, 0);
-- What was emitted, kept so a test can compare ids with what the sink applied.
CREATE TABLE emitted (event_id uuid PRIMARY KEY, key text NOT NULL, seq integer NOT NULL);
