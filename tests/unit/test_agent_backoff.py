"""Reconnect backoff: full jitter under a ceiling that doubles from 0.5 s to 30 s."""

from __future__ import annotations

import random

from services.agent.connection import Backoff


def test_delays_stay_under_a_doubling_ceiling_capped_at_30_s() -> None:
    backoff = Backoff(rng=random.Random(7))
    ceilings = [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30]
    for ceiling in ceilings:
        delay = backoff.next_delay()
        assert 0 <= delay <= ceiling


def test_full_jitter_spreads_the_delays() -> None:
    backoff = Backoff(rng=random.Random(1))
    delays = []
    for _ in range(200):
        backoff.attempt = 10
        delays.append(backoff.next_delay())
    assert min(delays) < 5 and max(delays) > 25  # uniform over [0, 30]


def test_reset_starts_over_after_a_stable_connection() -> None:
    backoff = Backoff(rng=random.Random(3))
    for _ in range(8):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() <= 0.5
    assert backoff.attempt == 1
