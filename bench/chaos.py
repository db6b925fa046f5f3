"""Chaos: the platform keeps every accepted job while its processes are killed.

    python -m bench.chaos [--jobs N] [--kills K] [--drops D] [--printers P] [--rate R]

A private Kafka broker and Postgres server (this run kills them), two replicas of
every service behind a round-robin balancer, the edge in front, ``--printers``
simulated printers holding real websockets (bench/devices.py: the agent's job
loop, each with its own print journal). Jobs are submitted at a steady ``--rate``
through the edge; a submission answered 201 is **accepted**; one answered 5xx or
not at all is retried as a new submission (the API has no idempotency key), and the
unanswered attempt is counted **unknown**.

While jobs flow: ``--kills`` SIGKILLs of random processes (any replica or the edge),
each restarted a moment later; the Kafka broker killed and restarted once, and the
Postgres server once; ``--drops`` websockets closed from the device side.

The check, from the devices' own journals and the API (``GET /v1/jobs``):
every accepted job printed exactly once, none lost, none stuck (not completed)
more than 30 s after the last fault. With ``--webhooks`` a receiver subscribed to
``job.*`` must also have every event of every accepted job, signed, in order per job,
repeated only with the same ``webhook-id`` (bench/webhook_check.py). Counts are
printed; any violation exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench import webhook_check
from bench.devices import Fleet, onboard_fleet
from bench.platform_harness import (
    BenchPlatform,
    Infra,
    User,
    new_tenant_admin,
    own_infra,
    wait_printer_ready,
)
from bench.results import write_result
from bench.submit import SubmitRefused, submit_job, submit_warm_up
from bench.webhook_check import WebhookReceiver, notifications_env
from shared.infra.processes import ServiceProcess
from shared.testing.ipp import minimal_pdf

STUCK_AFTER_S = 30.0
CHAOS_START, CHAOS_END = "<!-- chaos:start -->", "<!-- chaos:end -->"


def say(text: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {text}", flush=True)


@dataclass
class Ledger:
    """What the submitter knows: accepted job ids, unknown attempts, refusals."""

    accepted: dict[str, float] = field(default_factory=dict)  # job id -> accepted at
    unknown: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    retries: int = 0


@dataclass
class Faults:
    """What was done to the platform, and when the last of it ended."""

    kills: Counter[str] = field(default_factory=Counter)
    drops: int = 0
    kafka: int = 0
    postgres: int = 0
    restart_failures: list[str] = field(default_factory=list)
    last_fault_end: float = 0.0

    def ended(self) -> None:
        self.last_fault_end = time.monotonic()


async def submitter(
    http: aiohttp.ClientSession, admin: User, printers: list[str], ledger: Ledger, *,
    jobs: int, rate: float,
) -> None:  # fmt: skip
    """``jobs`` accepted jobs at ``rate`` per second, each retried until accepted."""
    document = minimal_pdf("chaos")
    gate = asyncio.Semaphore(64)

    run_id = uuid.uuid4().hex[:8]

    async def one(n: int) -> None:
        # One logical job: one printer and one Idempotency-Key for all its attempts, so a
        # retry after a lost answer finds the job the lost attempt created (if it did).
        printer, key = random.choice(printers), f"chaos-{run_id}-{n}"
        async with gate:
            for attempt in range(200):
                if attempt:
                    ledger.retries += 1
                    await asyncio.sleep(min(0.2 * attempt, 2.0))
                try:
                    job_id = await submit_job(
                        http, admin, printer, document, f"chaos-{n}", timeout=20, key=key
                    )
                except SubmitRefused as exc:
                    ledger.refused[str(exc.status)] += 1
                    if exc.status >= 500 or exc.status in (401, 409):
                        continue  # not created (problem answer): try again
                    return
                except (aiohttp.ClientError, OSError, TimeoutError, RuntimeError):
                    ledger.unknown += 1  # no answer yet: the same key is tried again
                    continue
                ledger.accepted[job_id] = time.monotonic()
                return

    started = time.monotonic()
    tasks = []
    for n in range(jobs):
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)


async def _restart(proc: ServiceProcess, faults: Faults, label: str) -> None:
    """Start the process again, as a supervisor would: again after each failed start."""
    for attempt in range(10):
        try:
            proc.start()
            await asyncio.to_thread(proc.wait_ready, 90)
            return
        except Exception as exc:
            tail = str(exc).strip().splitlines()[-1:] or [""]
            faults.restart_failures.append(f"{label} (start {attempt + 1}): {tail[0][:200]}")
            await asyncio.to_thread(proc.kill)
            await asyncio.sleep(1 + attempt)


async def chaos_monkey(
    platform: BenchPlatform, infra: Infra, fleet: Fleet, faults: Faults, *, kills: int,
    drops: int, window_s: float, rng: random.Random,
) -> None:  # fmt: skip
    """Kills, the broker and the database once each, and websocket drops over ``window_s``."""
    victims: list[tuple[str, ServiceProcess]] = [(r.label, r.proc) for r in platform.all_replicas()]
    assert platform.edge is not None
    victims.append(("edge", platform.edge))
    events: list[tuple[float, str]] = [(rng.uniform(0.05, 0.95) * window_s, "kill")
                                       for _ in range(kills)]  # fmt: skip
    events += [(rng.uniform(0.05, 0.95) * window_s, "drop") for _ in range(drops)]
    events += [(0.3 * window_s, "kafka"), (0.65 * window_s, "postgres")]
    events.sort()
    started = time.monotonic()
    restarts: set[asyncio.Task[None]] = set()
    for at, kind in events:
        delay = started + at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if kind == "drop":
            connected = [d for d in fleet.devices if d.ws is not None and not d.ws.closed]
            if connected and await rng.choice(connected).drop():
                faults.drops += 1
        elif kind == "kill":
            running = [(label, proc) for label, proc in victims if proc.is_running()]
            if not running:
                continue
            label, proc = rng.choice(running)  # not one still coming back from a kill
            await asyncio.to_thread(proc.kill)
            faults.kills[label.rsplit("-", 1)[0]] += 1
            await asyncio.sleep(rng.uniform(0.2, 1.5))
            task = asyncio.create_task(_restart(proc, faults, label))
            restarts.add(task)
            task.add_done_callback(restarts.discard)
        elif kind in ("kafka", "postgres"):
            server = infra.broker if kind == "kafka" else infra.postgres
            if server is None:
                continue
            say(f"killing the {kind} server")
            await asyncio.to_thread(server.kill)
            setattr(faults, kind, getattr(faults, kind) + 1)
            await asyncio.sleep(2)
            await asyncio.to_thread(server.start, 300)  # a loaded machine reloads slowly
            say(f"{kind} server back")
        faults.ended()
    await asyncio.gather(*restarts)
    faults.ended()


async def all_jobs(http: aiohttp.ClientSession, admin: User) -> dict[str, str]:
    """job id -> state of every job of the tenant (``GET /v1/jobs``, paged)."""
    out: dict[str, str] = {}
    after: str | None = None
    while True:
        params = {"limit": "500", **({"after": after} if after else {})}
        async with http.get(
            admin.base_url + "/v1/jobs", params=params, headers=await admin.headers(http)
        ) as resp:
            resp.raise_for_status()
            page = await resp.json()
        for job in page["items"]:
            out[str(job["id"])] = job["state"]
        after = page.get("next_after")
        if not after:
            return out


async def settle(
    http: aiohttp.ClientSession, admin: User, ledger: Ledger, until: float, extra_s: float
) -> tuple[dict[str, str], dict[str, str]]:
    """Job states at ``until`` (the stuck deadline), and after up to ``extra_s`` more."""
    at_deadline: dict[str, str] = {}
    final: dict[str, str] = {}
    end = until + extra_s
    while time.monotonic() < end:
        with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
            final = await all_jobs(http, admin)
            if not at_deadline and time.monotonic() >= until:
                at_deadline = dict(final)
            done = all(final.get(j) == "completed" for j in ledger.accepted)
            if done and time.monotonic() >= until:
                break
            if done and not at_deadline:
                at_deadline = dict(final)
        await asyncio.sleep(1)
    return at_deadline or final, final


def verdict(
    ledger: Ledger, prints: list[dict[str, Any]], at_deadline: dict[str, str],
    final: dict[str, str],
) -> dict[str, Any]:  # fmt: skip
    """The counts of the check."""
    printed = Counter(p["job_id"] for p in prints)
    accepted = set(ledger.accepted)
    once = sum(1 for j in accepted if printed[j] == 1)
    twice = sorted(j for j in accepted if printed[j] > 1)
    lost = sorted(j for j in accepted if printed[j] == 0)
    stuck = sorted(j for j in accepted if at_deadline.get(j) != "completed")
    never = sorted(j for j in accepted if final.get(j) != "completed")
    unknown_jobs = set(final) - accepted
    return {
        "accepted": len(accepted),
        "printed_once": once,
        "printed_more_than_once": len(twice),
        "lost_not_printed": len(lost),
        "stuck_30s_after_last_fault": len(stuck),
        "not_completed_at_end": len(never),
        "completed_in_api_without_print": sum(
            1 for j in accepted if final.get(j) == "completed" and printed[j] == 0
        ),
        "unknown_attempts": ledger.unknown,
        "jobs_from_unknown_attempts": len(unknown_jobs),
        "jobs_from_unknown_attempts_printed": sum(1 for j in unknown_jobs if printed[j]),
        "prints_of_unknown_jobs_more_than_once": sum(1 for j in unknown_jobs if printed[j] > 1),
        "states_at_deadline": dict(Counter(at_deadline.get(j, "missing") for j in accepted)),
        "samples": {"twice": twice[:5], "lost": lost[:5], "stuck": stuck[:5]},
    }


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    say("starting a private Kafka broker and Postgres server")
    infra = own_infra(workdir / "infra")
    receiver = WebhookReceiver(workdir / "webhooks") if args.webhooks else None
    extra_env = {"notifications": notifications_env()} if receiver else {}
    platform = BenchPlatform(infra, workdir / "platform", replicas=2, extra_env=extra_env)
    faults = Faults()
    ledger = Ledger()
    result: dict[str, Any] = {"args": vars(args)}
    try:
        await platform.prepare()
        say("starting two replicas of every service, the balancer and the edge")
        await platform.start()
        if receiver is not None:
            receiver.start()
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=60)
        ) as http:
            admin = await new_tenant_admin(http, platform)
            if receiver is not None:
                await receiver.subscribe(http, admin)
            fleet = await onboard_fleet(
                http, platform, admin.tenant_id, args.printers, workdir / "journal.jsonl",
                jobs_interval=args.jobs_interval,
            )  # fmt: skip
            try:
                for device in fleet.ids:
                    await wait_printer_ready(http, platform, device)
                warm_up = await _submittable(http, admin, fleet.ids)
                window = args.jobs / args.rate
                say(f"{args.jobs} jobs at {args.rate}/s, {args.kills} kills, {args.drops} drops "
                    f"over {window:.0f} s")  # fmt: skip
                started = time.monotonic()
                await asyncio.gather(
                    submitter(http, admin, fleet.ids, ledger, jobs=args.jobs, rate=args.rate),
                    chaos_monkey(
                        platform, infra, fleet, faults, kills=args.kills, drops=args.drops,
                        window_s=window, rng=rng,
                    ),
                )  # fmt: skip
                last_accept = max(ledger.accepted.values(), default=started)
                deadline = max(faults.last_fault_end, last_accept) + STUCK_AFTER_S
                say(f"faults over; checking (stuck deadline in "
                    f"{deadline - time.monotonic():.0f} s)")  # fmt: skip
                at_deadline, final = await settle(http, admin, ledger, deadline, args.extra_wait_s)
                final = {j: s for j, s in final.items() if j not in warm_up}
                await asyncio.sleep(2)  # a duplicate still in flight lands in a journal
                counts = verdict(ledger, fleet.prints(), at_deadline, final)
                if receiver is not None:
                    say("checking the webhook deliveries")
                    result["webhooks"] = await webhook_check.check(
                        receiver, infra.kafka, set(ledger.accepted), args.extra_wait_s
                    )
            finally:
                await fleet.close()
            result.update(
                counts=counts,
                faults={
                    "kills": sum(faults.kills.values()), "kills_by_service": dict(faults.kills),
                    "kafka_kills": faults.kafka, "postgres_kills": faults.postgres,
                    "websocket_drops": faults.drops, "restart_failures": faults.restart_failures,
                },
                submit={"retries": ledger.retries, "refused": dict(ledger.refused)},
                devices={"connects": fleet.stats.connects, "list_errors": fleet.stats.list_errors,
                         "download_errors": fleet.stats.download_errors},
                wall_s=round(time.monotonic() - started, 1),
            )  # fmt: skip
    finally:
        if receiver is not None:
            receiver.stop()
        await platform.stop()
        infra.stop()
    c = result["counts"]
    result["ok"] = (
        c["printed_more_than_once"] == 0
        and c["lost_not_printed"] == 0
        and c["stuck_30s_after_last_fault"] == 0
        and c["printed_once"] == c["accepted"] == args.jobs
        and result.get("webhooks", {"ok": True})["ok"]
    )
    return result


async def _submittable(http: aiohttp.ClientSession, admin: User, printers: list[str]) -> set[str]:
    """One warm-up job per printer, once the queues know it; the warm-up jobs' ids."""
    return {await submit_warm_up(http, admin, printer, timeout=120) for printer in printers}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--jobs", type=int, default=10_000)
    p.add_argument("--rate", type=float, default=15.0, help="jobs submitted per second")
    p.add_argument("--kills", type=int, default=50)
    p.add_argument("--drops", type=int, default=500)
    p.add_argument("--printers", type=int, default=50)
    p.add_argument("--jobs-interval", type=float, default=10.0, help="devices list this often")
    p.add_argument("--extra-wait-s", type=float, default=120.0, help="after the stuck deadline")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--timeout", type=float, default=3600)
    p.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    p.add_argument(
        "--webhooks", action="store_true",
        help="subscribe a webhook receiver to job.* and check every job event reached it",
    )  # fmt: skip
    return p.parse_args(argv)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="printcloud-chaos-") as tmp:
        result = await asyncio.wait_for(run(args, Path(tmp)), args.timeout)
    out = write_result("chaos", result)
    shown = ("counts", "faults", "submit", "webhooks", "ok")
    print(json.dumps({k: result[k] for k in shown if k in result}, indent=2))
    if not args.no_doc:
        record(result, out)
    say(f"written {out}")
    return result


def record(result: dict[str, Any], out: Path) -> None:
    """The run's counts in the marked section of docs/benchmarks.md."""
    doc = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
    c, f, a = result["counts"], result["faults"], result["args"]
    body = (
        f"{CHAOS_START}\n_Last run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {a['jobs']:,} jobs "
        f"at {a['rate']}/s, {a['printers']} printers; `bench/results/{out.name}`._\n\n"
        "| accepted | printed once | more than once | lost | stuck 30 s after the last fault "
        "| unknown attempts | kills | Kafka / Postgres kills | websocket drops | ok |\n"
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |\n"
        f"| {c['accepted']:,} | {c['printed_once']:,} | {c['printed_more_than_once']} "
        f"| {c['lost_not_printed']} | {c['stuck_30s_after_last_fault']} "
        f"| {c['unknown_attempts']} | {f['kills']} | {f['kafka_kills']} / {f['postgres_kills']} "
        f"| {f['websocket_drops']} | {'yes' if result['ok'] else 'no'} |\n\n"
        f"Kills by service: {json.dumps(f['kills_by_service'])}; failed restarts (started "
        f"again): {len(f['restart_failures'])}; submissions answered with an error and "
        f"retried: {json.dumps(result['submit']['refused'])}.\n{CHAOS_END}"
    )
    text = doc.read_text()
    if CHAOS_START in text and CHAOS_END in text:
        pattern = re.escape(CHAOS_START) + ".*?" + re.escape(CHAOS_END)
        text = re.sub(pattern, lambda _: body, text, flags=re.S)
        doc.write_text(text)


if __name__ == "__main__":
    _result = asyncio.run(main(parse()))
    if not _result["ok"]:
        raise SystemExit(1)
