"""The accounting export of a month, per user and per printer, from the roll-ups the real
faust worker made of real job.completed events (one- and two-sided): pages, colour,
sheets and duplex sheets agree with the counters' own per-job record of the same jobs
and with ``GET /v1/usage``, as JSON and as CSV; another month is empty."""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.events.contracts.jobs import JobCompleted
from shared.testing.fixtures import ServiceDbFactory
from tests.support.counters import counters_app, rollup_worker
from tests.support.kafka import publish
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def completed(rng: random.Random, tenant: uuid.UUID, users: list[uuid.UUID],
              printers: list[uuid.UUID], at: datetime) -> JobCompleted:  # fmt: skip
    pages = rng.randint(1, 40)
    sides = rng.choice(["one-sided", "two-sided-long-edge", "two-sided-short-edge"])
    return JobCompleted(
        job_id=uuid.uuid4(), tenant_id=tenant, owner_id=rng.choice(users), at=at,
        printer_id=rng.choice(printers), pages=pages, printed_pages=pages,
        colour_pages=rng.randint(0, pages),
        sheets=pages if sides == "one-sided" else (pages + 1) // 2, copies=1, sides=sides,
        media="iso_a4_210x297mm",
    )  # fmt: skip


async def test_a_months_export_agrees_with_the_counters_own_totals(
    service_db: ServiceDbFactory, bootstrap: str, topics: object, tmp_path: Path
) -> None:
    rng = random.Random()
    tenant = uuid.uuid4()
    users = [uuid.uuid4() for _ in range(3)]
    printers = [uuid.uuid4() for _ in range(2)]
    now = datetime.now(UTC).replace(microsecond=0)
    start = now.replace(day=1, hour=0, minute=0, second=0)
    month = f"{start:%Y-%m}"
    # Within this month and the worker's allowed lateness of the newest job.
    spread = min((now - start).total_seconds(), 30 * 3600)
    jobs_of_month = [
        completed(rng, tenant, users, printers, now - timedelta(seconds=rng.uniform(0, spread)))
        for _ in range(30)
    ]
    async with counters_app(service_db, bootstrap) as c, rollup_worker(bootstrap, tmp_path):
        await publish(bootstrap, *jobs_of_month, source="queues")
        headers = c.admin(tenant)
        export: dict[str, Any] = {}

        async def rolled_up() -> bool:
            resp = await c.client.get(f"/v1/usage/export?month={month}", headers=headers)
            assert resp.status == 200, await resp.text()
            export.update(await resp.json())
            tenant_rows = [r for r in export["rows"] if r["dimension"] == "tenant"]
            return bool(tenant_rows) and tenant_rows[0]["jobs"] == len(jobs_of_month)

        await eventually(rolled_up, 240, "the month rolled up")
        async with c.db() as conn:
            jobs = await conn.fetch(
                "SELECT job_id, user_id, printer_id, pages, colour_pages, sheets FROM job_usage "
                "WHERE tenant_id = $1 AND completed_at >= $2 AND completed_at < $3",
                tenant, start, start + timedelta(days=32),
            )  # fmt: skip
        assert len(jobs) == len(jobs_of_month)
        duplex = {j.job_id for j in jobs_of_month if j.sides != "one-sided"}
        own: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
        for j in jobs:
            for key in (("tenant", str(tenant)), ("user", str(j["user_id"])),
                        ("printer", str(j["printer_id"]))):  # fmt: skip
                own[key][0] += 1
                own[key][1] += j["pages"]
                own[key][2] += j["colour_pages"]
                own[key][3] += j["sheets"]
                own[key][4] += j["sheets"] if j["job_id"] in duplex else 0
        got = {(r["dimension"], r["subject_id"]): r for r in export["rows"]}
        assert set(got) == set(own)
        for key, (n, pages, colour, sheets, duplex_sheets) in own.items():
            row = got[key]
            assert (row["jobs"], row["pages"], row["colour_pages"]) == (n, pages, colour), key
            assert row["mono_pages"] == pages - colour
            assert (row["sheets"], row["duplex_sheets"]) == (sheets, duplex_sheets), key
            assert row["simplex_sheets"] == sheets - duplex_sheets

        usage = await c.client.get(
            "/v1/usage", params={"granularity": "month", "from": start.isoformat()},
            headers=headers,
        )  # fmt: skip
        [window] = (await usage.json())["items"]
        total = got[("tenant", str(tenant))]
        assert (window["jobs"], window["pages"], window["colour_pages"], window["sheets"],
                window["duplex_sheets"]) == (
            total["jobs"], total["pages"], total["colour_pages"], total["sheets"],
            total["duplex_sheets"],
        )  # fmt: skip

        resp = await c.client.get(f"/v1/usage/export?month={month}&format=csv", headers=headers)
        assert resp.status == 200 and resp.content_type == "text/csv"
        table = list(csv.DictReader(io.StringIO(await resp.text())))
        assert table == [{k: str(v) for k, v in r.items()} for r in export["rows"]]

        other = await c.client.get("/v1/usage/export?month=2001-01", headers=headers)
        assert (await other.json())["rows"] == []
        bad = await c.client.get("/v1/usage/export?month=2026-13", headers=headers)
        assert bad.status == 422
