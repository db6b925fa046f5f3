"""The benchmark's short version (``python -m bench.run --quick``): every phase runs to
its end on real processes and reports figures that make sense. Speeds are printed by
the benchmark, never asserted here."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.platform_harness import Infra
from bench.run import parse, run, table
from shared.testing.infra import TestInfra

pytestmark = pytest.mark.e2e


def _sane(row: dict, jobs_at_least: int = 1) -> None:
    assert row["jobs"] >= jobs_at_least, row
    assert row["errors"] == 0, row
    assert row["printed_in_spool"] == row["jobs"], row
    lat = row["latency_ms"]
    assert 0 < lat["p50"] <= lat["p99"] <= lat["max"], row
    assert row["jobs_per_s"] > 0, row


async def test_quick_benchmark_runs_every_phase_and_reports_sane_figures(
    infra: TestInfra, tmp_path: Path
) -> None:
    cfg = parse(["--quick", "--only", "PEERS,P1,P2,P3,P4", "--no-doc"])
    result = await run(cfg, tmp_path, Infra(infra.bootstrap, infra.admin_dsn, adopted=infra))
    print(table(result))

    peers = result["peers"]
    for path in ("printcloud", "ipptool", "cups"):
        rows = {r["concurrency"]: r for r in peers[path]}
        assert set(rows) == {1, 8}, path
        for row in rows.values():
            _sane(row, cfg.peer_jobs)
    assert peers["cups_lp_check_printed"] is True
    # CUPS -> Printcloud IPP -> agent -> ippeveprinter: one submitter in the quick run
    [via_cups] = peers["cups_printcloud"]
    assert via_cups["concurrency"] == 1
    _sane(via_cups, cfg.cups_printcloud_jobs)

    p1 = result["p1"]
    assert p1["errors"] == 0 and p1["jobs"] > 0 and p1["jobs_per_s"] > 0
    assert p1["printers"] == cfg.printers

    for row in result["p2"]:
        assert row["submit_errors"] == 0, row
        assert row["accepted"] > 0 and row["notified"] == row["accepted"], row
        assert row["latency_ms"]["p50"] > 0, row

    p3 = result["p3"]
    assert p3["all_connected"] and p3["commands_exactly_once"], p3
    assert p3["rss_per_connection_kib"] > 0

    p4 = result["p4"]
    assert p4["bytes"] == cfg.big_bytes and p4["printed_same_size"] is True, p4
    assert p4["upload_mib_per_s"] > 0 and p4["download_mib_per_s"] > 0
    assert set(p4["peak_rss_mib"]) == {"edge", "queues-0", "agent", "client (bench)"}
    assert all(v > 0 for v in p4["peak_rss_mib"].values()), p4

    assert "Printcloud → agent → ippeveprinter" in table(result)
    assert "CUPS → Printcloud IPP → agent → ippeveprinter" in table(result)
