"""A pair of minimal services on the shared runtime, used to prove the outbox /
inbox discipline with real processes (tests) and to measure it (bench).

``source`` emits ``ledger.entry.recorded`` events through its outbox: per key a
sequence 1, 2, 3, ... (the key's row lock orders them). ``sink`` consumes them and
records every application, and any sequence gap or reordering per key, so a
test can check exactly-once and per-key order from the sink's own tables.
"""
