"""Crashes under load, every part a real process: while people submit a steady stream of
jobs through the edge, the queues and routing processes are SIGKILLed and started again,
twice each. Every job that was acknowledged (201) completes and is printed exactly once
by the agents; no job is left stuck and nothing is printed twice."""

from __future__ import annotations

import asyncio
import collections
import itertools
from typing import Any

import aiohttp
import pytest

from shared.testing.ipp import minimal_pdf
from tests.support.jobs import FINAL, POLL_S, JobsWorld
from tests.support.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]
JOBS = 120
SUBMITTERS = 4
# (acknowledged jobs before the crash, the service crashed)
CRASHES = [(15, "queues"), (40, "routing"), (65, "queues"), (90, "routing")]
UNAVAILABLE = {502, 503, 504}


async def test_killing_queues_and_routing_mid_stream_loses_and_doubles_nothing(
    jobs_world: JobsWorld,
) -> None:
    w = jobs_world
    printers = ["a", "b", "ipp"]
    targets = itertools.cycle(printers)
    people = itertools.cycle([w.ada, w.bob])
    acked: dict[str, tuple[str, Any]] = {}  # job id -> (printer name, owner)
    refused: collections.Counter[str] = collections.Counter()
    sequence = itertools.count()
    crashed = asyncio.Event()

    async def submitter() -> None:
        while len(acked) < JOBS:
            n = next(sequence)
            name, who = next(targets), next(people)
            try:
                status, body = await w.submit(
                    who, minimal_pdf(f"stream {n}"), printer=w.printer_id(name),
                    title=f"stream {n}", expect=None,
                )  # fmt: skip
            except (aiohttp.ClientError, TimeoutError) as exc:
                refused[type(exc).__name__] += 1
                await asyncio.sleep(0.3)
                continue
            if status == 201:
                acked[body["id"]] = (name, who)
            else:
                assert status in UNAVAILABLE, (status, body)
                refused[str(status)] += 1
                await asyncio.sleep(0.3)

    async def chaos() -> None:
        for after, service in CRASHES:

            async def reached(count: int = after) -> bool:
                return len(acked) >= count

            await eventually(reached, 300, f"{after} jobs acknowledged", interval=POLL_S)
            w.platform.kill(service)
            await asyncio.sleep(1.5)  # submissions go on meanwhile (and fail or wait)
            await w.platform.restart(service)
        crashed.set()

    await asyncio.gather(chaos(), *(submitter() for _ in range(SUBMITTERS)))
    assert crashed.is_set()
    print(f"{len(acked)} jobs acknowledged; submissions refused meanwhile: {dict(refused)}")

    # Every acknowledged job completes, at the printer it was sent to.
    async def all_done() -> bool:
        left = [j for j, (_, who) in acked.items() if (await w.job(who, j))["state"] not in FINAL]
        return not left

    await eventually(all_done, 600, "every acknowledged job finished", interval=POLL_S)
    for job_id, (name, who) in acked.items():
        job = await w.job(who, job_id)
        assert job["state"] == "completed", job
        assert job["printer_id"] == w.printer_id(name), job
    await asyncio.sleep(12)  # two more job listings of every agent

    # Printed exactly once: by its printer, and by no other.
    for job_id, (name, _) in acked.items():
        assert w.prints(job_id) == {name: 1}, (job_id, name, w.prints(job_id))
    # Nothing at all was printed twice, acknowledged or not.
    everything = collections.Counter(job_id for p in w.printers.values() for job_id in p.printed())
    assert not [j for j, n in everything.items() if n > 1]
    for job_id in everything:
        assert sum(w.prints(job_id).values()) == 1, (job_id, w.prints(job_id))

    # No job of either person is left in a state before its end.
    for who in (w.ada, w.bob):
        after = ""
        while True:
            status, page = await w.call("GET", f"/v1/jobs?limit=100{after}", who)
            assert status == 200, page
            stuck = [j for j in page["items"] if j["state"] not in FINAL]
            assert not stuck, stuck
            if not page.get("next_after"):
                break
            after = f"&after={page['next_after']}"
    for proc in w.platform.processes.values():
        assert proc.is_running(), f"{proc.name}:\n{proc.log_tail()}"
