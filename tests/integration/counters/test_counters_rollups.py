"""Usage roll-ups by the real faust worker process: a generated stream of completed
jobs (random tenants, users, printers and times; out of order, late, too late,
repeated, plus an undecodable message) gives exactly the windows a reference
computed here independently gives."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.events.contracts.jobs import JobCompleted, JobPrinting
from shared.kafka.producer import create_producer
from tests.support.counters import (
    parked_by_key,
    rollup_worker,
)
from tests.support.kafka import envelope, envelopes, operator, publish

pytestmark = pytest.mark.integration

LATENESS = timedelta(days=4)
Window = tuple[str, str, str, str]  # granularity, dimension, subject, window start
Totals = tuple[int, int, int, int, int]  # pages, colour pages, jobs, sheets, duplex sheets


def floor(granularity: str, at: datetime) -> datetime:
    """The window start, computed without the code under test."""
    if granularity == "hour":
        return datetime(at.year, at.month, at.day, at.hour, tzinfo=UTC)
    if granularity == "day":
        return datetime(at.year, at.month, at.day, tzinfo=UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def reference(jobs: list[JobCompleted]) -> dict[Window, Totals]:
    totals: dict[Window, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for job in jobs:
        for dimension, subject in (
            ("tenant", job.tenant_id), ("user", job.owner_id), ("printer", job.printer_id)
        ):  # fmt: skip
            for granularity in ("hour", "day", "month"):
                start = floor(granularity, job.at).isoformat()
                t = totals[(granularity, dimension, str(subject), start)]
                t[0] += job.printed_pages
                t[1] += job.colour_pages
                t[2] += 1
                t[3] += job.sheets
                t[4] += job.sheets if job.sides != "one-sided" else 0
    return {k: (v[0], v[1], v[2], v[3], v[4]) for k, v in totals.items()}


def latest(found: list[dict[str, Any]]) -> dict[Window, Totals]:
    """Each window's latest totals (the one with the most jobs)."""
    out: dict[Window, Totals] = {}
    for env in found:
        d = env["data"]
        start = datetime.fromisoformat(d["window_start"]).astimezone(UTC).isoformat()
        key = (d["granularity"], d["dimension"], d["subject_id"], start)
        value = (d["pages"], d["colour_pages"], d["jobs"], d["sheets"], d["duplex_sheets"])
        if key not in out or value[2] > out[key][2]:
            out[key] = value
    return out


def completed(rng: random.Random, tenant: uuid.UUID, users: list[uuid.UUID],
              printers: list[uuid.UUID], at: datetime) -> JobCompleted:  # fmt: skip
    pages = rng.randint(1, 40)
    sides = rng.choice(["one-sided", "two-sided-long-edge"])
    return JobCompleted(
        job_id=uuid.uuid4(), tenant_id=tenant, owner_id=rng.choice(users),
        at=at.replace(microsecond=0), printer_id=rng.choice(printers), pages=pages,
        printed_pages=pages, colour_pages=rng.randint(0, pages),
        sheets=pages if sides == "one-sided" else (pages + 1) // 2, copies=1, sides=sides,
        media="iso_a4_210x297mm",
    )  # fmt: skip


async def test_rollups_match_an_independent_reference(
    bootstrap: str, topics: object, tmp_path: Path
) -> None:
    rng = random.Random()
    now = datetime.now(UTC)
    tenants = {uuid.uuid4(): ([uuid.uuid4() for _ in range(4)], [uuid.uuid4() for _ in range(3)])
               for _ in range(3)}  # fmt: skip

    def job(at: datetime) -> JobCompleted:
        tenant = rng.choice(list(tenants))
        return completed(rng, tenant, *tenants[tenant], at)

    main = [job(now - timedelta(seconds=rng.uniform(0, 30 * 3600))) for _ in range(300)]
    rng.shuffle(main)  # out of order
    late = [job(now - timedelta(hours=rng.uniform(50, 90))) for _ in range(25)]
    too_late = [job(now - timedelta(days=10, hours=rng.uniform(0, 24))) for _ in range(5)]
    # Each too-late job's tenant must have had recent events before it (the watermark).
    main_envs = [envelope(j) for j in main]
    repeats = rng.sample(main_envs, 10)
    other = envelope(JobPrinting(
        job_id=main[0].job_id, tenant_id=main[0].tenant_id, owner_id=main[0].owner_id,
        at=now, printer_id=main[0].printer_id,
    ))  # fmt: skip
    garbage_key = f"garbage-{uuid.uuid4()}".encode()

    async with rollup_worker(
        bootstrap,
        tmp_path,
        PRINTCLOUD_COUNTERS_ROLLUP_ALLOWED_LATENESS_S=str(LATENESS.total_seconds()),
    ) as app_id:
        await publish(bootstrap, *main_envs[:150], other)
        await publish(bootstrap, *main_envs[150:], *repeats)
        producer = create_producer(operator(bootstrap), client_id="test-counters-garbage")
        await producer.start()
        try:
            await producer.send_and_wait("queues.jobs", b"{not json", key=garbage_key)
        finally:
            await producer.stop()
        await publish(bootstrap, *late)
        await publish(bootstrap, *too_late)

        expected = reference(main + late)
        mine = {str(t) for t in tenants}
        found = await envelopes(
            bootstrap, "counters.usage",
            match=lambda e: e.get("type") == "usage.rolled_up"
            and isinstance(e.get("data"), dict)
            and e["data"].get("tenant_id") in mine,  # others' (and fuzzed) records ignored
            done=lambda f: latest(f) == expected, timeout=240,
        )  # fmt: skip
        got = latest(found)
        assert got == expected
        assert {e["key"] for e in found} <= mine  # keyed by tenant
        # A late job republished its windows: some window was published more than once.
        assert len(found) > len(expected)

        dead = await parked_by_key(
            bootstrap, app_id, [str(j.job_id).encode() for j in too_late] + [garbage_key], 6
        )
        for j in too_late:
            headers = dead[str(j.job_id).encode()]
            assert headers["dlq.reason"].startswith(b"too late for its windows")
            assert headers["dlq.topic"] == b"queues.jobs"
        assert dead[garbage_key]["dlq.reason"].startswith(b"value is not UTF-8 JSON")
