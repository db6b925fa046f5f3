"""The benchmark: Printcloud and its peers, on this machine, in one bounded run.

    python -m bench.run [--quick] [--only PEERS,P1,P2,P3,P4,P5,P6]

Everything runs here, on loopback: Kafka and Postgres (adopted when
``PRINTCLOUD_TEST_KAFKA_BOOTSTRAP``/``PRINTCLOUD_TEST_ADMIN_DSN`` are set, else
started for the run), every service as its own process behind the edge, simulated
printers holding real websockets, real agents bridging real IPP printers
(``ippeveprinter``), and the peers (``ipptool`` and a private CUPS server).

PEERS  jobs/s and submit -> printed latency, closed loop at 1 and 8 concurrent
       submitters, the same small PDF, for: ipptool -> ippeveprinter; CUPS ->
       ippeveprinter; Printcloud: submit -> edge -> queues -> routing -> queues ->
       gateway -> the real agent -> the same kind of ippeveprinter; CUPS -> Printcloud
       IPP -> agent -> ippeveprinter (a CUPS queue on the printer's Printcloud IPP URI;
       quick: one submitter, 4 jobs).
P1     end-to-end jobs/s (submit -> the printer reports completed), small
       documents, sustained (60 s; quick: 8 s) over simulated printers.
P2     submit -> printer notified latency at fixed offered rates (10, 100, 500
       jobs/s; quick: 10, 50).
P3     websocket connections held by one gateway process (bench.gateway_connections).
P4     one large document (1 GiB; quick: 32 MiB) uploaded through the edge and
       downloaded by a real agent: throughput and peak RSS of every process.
P5     ``printcloud platform --check`` (the README's command) with a warm cache:
       time to the first job printed, on fresh state and again on kept state.
P6     one 1 GiB PDF (quick: 32 MiB; generated as it is sent) in one IPP Print-Job
       to a printer's Printcloud IPP URI through the edge, held so nothing prints:
       MiB/s and the peak RSS growth of the ipp and edge processes.

Results: ``bench/results/run-<timestamp>.json`` and the marked section of
``docs/benchmarks.md``. Every phase is bounded in time; the run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform as pyplatform
import re
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.devices import onboard_fleet
from bench.peers import latency_ms, run_peers
from bench.platform_harness import (
    BenchPlatform,
    Infra,
    adopted_infra,
    cpu_seconds,
    new_tenant_admin,
    own_infra,
    wait_printer_ready,
)
from bench.scenarios import (
    big_document,
    fixed_rate,
    ipp_stream,
    platform_command,
    printcloud_vs_peers,
    submittable,
    sustained,
)
from bench.submit import JobWatch
from shared.testing.ipp import minimal_pdf, system_bus

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench.run:start -->", "<!-- bench.run:end -->"
PHASES = ["PEERS", "P1", "P2", "P3", "P4", "P5", "P6"]


def say(text: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {text}", flush=True)


def machine() -> dict[str, Any]:
    mem = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu": model, "memory_mib": mem,
            "kernel": pyplatform.release(), "python": pyplatform.python_version()}  # fmt: skip


# ---------------------------------------------------------------------- the run


async def run(cfg: argparse.Namespace, workdir: Path, given: Infra | None = None) -> dict[str, Any]:
    """Every selected phase, in an order that keeps them from disturbing each other
    (on ``given`` Kafka and Postgres, else the configured or the run's own)."""
    out: dict[str, Any] = {"machine": machine(), "quick": cfg.quick, "phases": cfg.only}
    only = set(cfg.only)
    with system_bus() as bus:
        if "PEERS" in only:
            say("peers: ipptool and CUPS -> ippeveprinter")
            out["peers"] = await asyncio.wait_for(
                run_peers(
                    bus, workdir / "peers", minimal_pdf("bench"),
                    concurrencies=cfg.concurrencies, jobs=cfg.peer_jobs,
                    budget_s=cfg.peer_budget_s,
                ),
                cfg.peer_budget_s * len(cfg.concurrencies) * 2 + 120,
            )  # fmt: skip
        infra: Infra | None = None
        needs_platform = only & {"PEERS", "P1", "P2", "P3", "P4", "P6"}
        if needs_platform and given is not None:
            infra, out["infra"] = given, "given"
        elif needs_platform:
            configured = os.environ.get("PRINTCLOUD_TEST_KAFKA_BOOTSTRAP")
            say("Kafka and Postgres: " + ("adopted" if configured else "starting"))
            infra = adopted_infra() if configured else own_infra(workdir / "infra")
            out["infra"] = "adopted" if configured else "started for the run"
        try:
            if "P3" in only:
                assert infra is not None
                say("P3: gateway connections")
                from bench import gateway_connections as gc

                args = gc.parse(cfg.p3_args)
                out["p3"] = await gc.run(infra, args, workdir / "p3")  # type: ignore[arg-type]
            if only & {"PEERS", "P1", "P2", "P4", "P6"}:
                assert infra is not None
                await platform_phases(cfg, infra, workdir, bus, out)
        finally:
            if infra is not None and infra is not given:
                infra.stop()
    if "P5" in only:
        say("P5: printcloud platform --check (fresh state, then kept state)")
        home = workdir / "p5-home"
        out["p5"] = {
            "fresh_state": await asyncio.to_thread(platform_command, home, cfg.p5_timeout),
            "kept_state": await asyncio.to_thread(platform_command, home, cfg.p5_timeout),
        }
    return out


async def platform_phases(
    cfg: argparse.Namespace, infra: Infra, workdir: Path, bus: dict[str, str],
    out: dict[str, Any],
) -> None:  # fmt: skip
    only = set(cfg.only)
    say("starting every service and the edge")
    platform = BenchPlatform(infra, workdir / "platform")
    started = time.monotonic()
    await platform.prepare()
    try:
        await platform.start()
        out["platform_start_s"] = round(time.monotonic() - started, 2)
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=120)
        ) as http:
            admin = await new_tenant_admin(http, platform)
            watch = JobWatch(admin)
            watch.start(http)
            await asyncio.wait_for(watch.connected.wait(), 30)
            try:
                if "PEERS" in only:
                    say("Printcloud -> real agent -> ippeveprinter")
                    out.setdefault("peers", {}).update(
                        await printcloud_vs_peers(http, platform, admin, watch, workdir, bus, cfg)
                    )
                if only & {"P1", "P2"}:
                    fleet = await onboard_fleet(
                        http, platform, admin.tenant_id, cfg.printers, workdir / "journal.jsonl"
                    )
                    try:
                        for device in fleet.ids:
                            await wait_printer_ready(http, platform, device)
                        await submittable(http, admin, watch, fleet.ids)
                        if "P1" in only:
                            say(f"P1: sustained for {cfg.p1_seconds} s")
                            pids = {**platform.pids(), "bench (client + printers)": os.getpid()}
                            cpu0 = {k: cpu_seconds(v) for k, v in pids.items()}
                            out["p1"] = await sustained(
                                http, admin, watch, fleet.ids, concurrency=cfg.p1_concurrency,
                                seconds=cfg.p1_seconds,
                            )  # fmt: skip
                            wall = out["p1"]["wall_s"]
                            out["p1"]["cpu_pct_of_one_core"] = {
                                k: round(100 * (cpu_seconds(v) - cpu0.get(k, 0)) / wall, 1)
                                for k, v in pids.items()
                            }
                        if "P2" in only:
                            out["p2"] = []
                            for rate in cfg.rates:
                                say(f"P2: {rate} jobs/s for {cfg.p2_seconds} s")
                                out["p2"].append(
                                    await fixed_rate(
                                        http, admin, fleet, rate=rate, seconds=cfg.p2_seconds
                                    )
                                )
                        out["simulated_printers"] = {
                            "count": len(fleet.devices), "connects": fleet.stats.connects,
                            "prints": len(fleet.prints()),
                        }  # fmt: skip
                    finally:
                        await fleet.close()
                if "P4" in only:
                    say(f"P4: one {cfg.big_bytes / 2**20:.0f} MiB document")
                    out["p4"] = await big_document(
                        http, platform, admin, watch, workdir, cfg.big_bytes
                    )
                if "P6" in only:
                    say(f"P6: one {cfg.ipp_stream_bytes / 2**20:.0f} MiB IPP Print-Job")
                    out["p6"] = await ipp_stream(
                        http, platform, admin, workdir, cfg.ipp_stream_bytes
                    )
            finally:
                out["stages_ms"] = stages(watch)
                out["job_states_read_after_stream_silence"] = watch.missed
                await watch.stop()
    finally:
        await platform.stop()


def stages(watch: JobWatch) -> dict[str, Any]:
    """Where a job's time goes: median ms between the states the caller's event stream
    reported, over every job that went through them all."""
    hops = [("pending", "queued"), ("queued", "sent"), ("sent", "completed")]
    spans: dict[str, list[float]] = {f"{a} -> {b}": [] for a, b in hops}
    for seen in watch.states.values():
        if all(s in seen for s in ("pending", "queued", "sent", "completed")):
            for a, b in hops:
                spans[f"{a} -> {b}"].append(seen[b] - seen[a])
    return {k: latency_ms(v) | {"jobs": len(v)} for k, v in spans.items() if v}


# ---------------------------------------------------------------------- report


def ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "-"
    return f"{a / b:.2f}x"


def table(result: dict[str, Any]) -> str:
    """The markdown table of the peer comparison and the platform figures."""
    lines = []
    peers = result.get("peers", {})
    if peers:
        lines += [
            "| path | submitters | jobs | jobs/s | latency p50 / p99 ms | printed in spool |"
            " jobs/s vs ipptool | jobs/s vs CUPS |",
            "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
        ]
        paths = ("printcloud", "cups_printcloud", "ipptool", "cups")
        by = {k: {r["concurrency"]: r for r in peers.get(k, [])} for k in paths}
        names = {"printcloud": "Printcloud → agent → ippeveprinter",
                 "cups_printcloud": "CUPS → Printcloud IPP → agent → ippeveprinter",
                 "ipptool": "ipptool → ippeveprinter", "cups": "CUPS → ippeveprinter"}  # fmt: skip
        for key in paths:
            for c, r in sorted(by[key].items()):
                lat = r["latency_ms"]
                base_i = by["ipptool"].get(c, {}).get("jobs_per_s")
                base_c = by["cups"].get(c, {}).get("jobs_per_s")
                lines.append(
                    f"| {names[key]} | {c} | {r['jobs']} | {r['jobs_per_s']} | "
                    f"{lat.get('p50')} / {lat.get('p99')} | {r['printed_in_spool']} | "
                    f"{ratio(r['jobs_per_s'], base_i)} | {ratio(r['jobs_per_s'], base_c)} |"
                )
        lines.append("")
        for c in sorted(by["printcloud"]):
            p, i, u = (by[k].get(c, {}).get("latency_ms", {}).get("p50") for k in
                       ("printcloud", "ipptool", "cups"))  # fmt: skip
            lines.append(
                f"- {c} submitter(s): Printcloud's p50 latency is {ratio(p, i)} ipptool's "
                f"and {ratio(p, u)} CUPS's."
            )
        for c in sorted(by["cups_printcloud"]):
            v, u = (by[k].get(c, {}) for k in ("cups_printcloud", "cups"))
            rate = ratio(v.get("jobs_per_s"), u.get("jobs_per_s"))
            p50 = ratio(v.get("latency_ms", {}).get("p50"), u.get("latency_ms", {}).get("p50"))
            lines.append(
                f"- {c} submitter(s), CUPS printing through Printcloud's IPP endpoint against "
                f"CUPS printing to the printer directly: {rate} the jobs/s, {p50} the p50 latency."
            )
        lines.append("")
    if result.get("stages_ms"):
        parts = ", ".join(f"{k} {v['p50']} ms" for k, v in result["stages_ms"].items())
        lines.append(f"- Where a job's time goes (p50 between the states its owner sees): {parts}.")
    if "p1" in result:
        p1 = result["p1"]
        lines.append(
            f"- **P1** sustained: {p1['jobs_per_s']} jobs/s end to end over {p1['wall_s']} s "
            f"({p1['jobs']} jobs, {p1['errors']} errors, {p1['concurrency']} submitters, "
            f"{p1['printers']} simulated printers), latency p50 / p99 "
            f"{p1['latency_ms'].get('p50')} / {p1['latency_ms'].get('p99')} ms; CPU, % of one "
            f"core: {json.dumps(p1.get('cpu_pct_of_one_core', {}))}."
        )
    for row in result.get("p2", []):
        lat = row["latency_ms"]
        lines.append(
            f"- **P2** offered {row['rate_offered']} jobs/s: accepted {row['accepted_per_s']}/s "
            f"({row['accepted']} jobs, {row['not_offered_backpressure']} arrivals held back by "
            f"the 256 in-flight cap, {row['submit_errors']} errors); submit → printer notified "
            f"p50 / p99 {lat.get('p50')} / {lat.get('p99')} ms ({row['notified']} notified)."
        )
    if "p3" in result:
        p3 = result["p3"]
        lat = p3["command_latency_ms_after_post"]
        lines.append(
            f"- **P3** one gateway: {p3['held_at_end']:,} connections held, "
            f"{p3['rss_per_connection_kib']} KiB RSS per connection, command latency p50 / p99 "
            f"{lat.get('p50')} / {lat.get('p99')} ms."
        )
    if "p4" in result:
        p4 = result["p4"]
        peaks = ", ".join(f"{k} {v} MiB" for k, v in p4["peak_rss_mib"].items())
        lines.append(
            f"- **P4** {p4['bytes'] / 2**20:.0f} MiB document: upload "
            f"{p4['upload_mib_per_s']} MiB/s, device download + print "
            f"{p4['download_mib_per_s']} MiB/s; peak RSS: {peaks}."
        )
    if "p6" in result:
        p6 = result["p6"]
        growth = ", ".join(f"{k} {v} MiB" for k, v in p6["peak_rss_growth_mib"].items())
        lines.append(
            f"- **P6** {p6['bytes'] / 2**20:.0f} MiB PDF in one IPP Print-Job through the "
            f"edge: {p6['mib_per_s']} MiB/s ({p6['seconds']} s); peak RSS growth: {growth}."
        )
    if "p5" in result:
        for label, marks in result["p5"].items():
            lines.append(
                f"- **P5** `printcloud platform --check`, {label.replace('_', ' ')}: services up "
                f"in {marks.get('services_up_s')} s, first job (submitted through the API) "
                f"printed at {marks.get('first_job_printed_s')} s."
            )
    return "\n".join(lines)


def update_doc(result: dict[str, Any], command: str, out_file: Path) -> None:
    """Replace the marked section of docs/benchmarks.md with this run's figures."""
    m = result["machine"]
    body = (
        f"{START}\n_Last run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{command}`, "
        f"{m['cpus']} cores ({m['cpu']}), {m['memory_mib']:,} MiB; results in "
        f"`bench/results/{out_file.name}`._\n\n{table(result)}\n{END}"
    )
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if START in text and END in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: body, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + body + "\n"
    DOC.write_text(text)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a short run (the test suite's)")
    p.add_argument("--only", default=",".join(PHASES), help="phases, comma-separated")
    p.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    p.add_argument("--timeout", type=float, default=3600, help="the whole run, seconds")
    cfg = p.parse_args(argv)
    cfg.only = [x.strip().upper() for x in cfg.only.split(",") if x.strip()]
    unknown = set(cfg.only) - set(PHASES)
    if unknown:
        p.error(f"unknown phases {sorted(unknown)}; known: {PHASES}")
    q = cfg.quick
    cfg.concurrencies = [1, 8]
    cfg.peer_jobs = 12 if q else 400
    cfg.peer_budget_s = 20 if q else 60
    # CUPS -> Printcloud IPP: in the quick run one submitter and 4 jobs (under 30 s)
    cfg.cups_printcloud_concurrencies = [1] if q else cfg.concurrencies
    cfg.cups_printcloud_jobs = 4 if q else cfg.peer_jobs
    cfg.printers = 4 if q else 20
    cfg.p1_concurrency = 8 if q else 16
    cfg.p1_seconds = 8 if q else 60
    cfg.rates = [10, 50] if q else [10, 100, 500]
    cfg.p2_seconds = 3 if q else 20
    cfg.big_bytes = (32 if q else 1024) * 2**20
    cfg.ipp_stream_bytes = (32 if q else 1024) * 2**20
    cfg.p3_args = (
        ["--connections", "300", "--commands", "50", "--command-devices", "10",
         "--idle-seconds", "3", "--settle-s", "0.5", "--command-rate", "50"]
        if q else ["--connections", "5000", "--commands", "300", "--idle-seconds", "10"]
    )  # fmt: skip
    cfg.p5_timeout = 240
    return cfg


async def main(cfg: argparse.Namespace, command: str) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="printcloud-bench-"))
    started = time.monotonic()
    try:
        result = await asyncio.wait_for(run(cfg, workdir), cfg.timeout)
    finally:
        if not os.environ.get("PRINTCLOUD_BENCH_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)
    result["wall_s"] = round(time.monotonic() - started, 1)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"run-{datetime.now(UTC):%Y%m%dT%H%M%SZ}{'-quick' if cfg.quick else ''}.json"
    out.write_text(json.dumps(result, indent=2))
    if not cfg.no_doc:
        update_doc(result, command, out)
    print(table(result))
    say(f"written {out}")
    return result


if __name__ == "__main__":
    _cfg = parse()
    asyncio.run(main(_cfg, " ".join(["python -m bench.run", *sys.argv[1:]])))
