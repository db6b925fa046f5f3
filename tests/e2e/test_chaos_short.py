"""The chaos run's short version (``python -m bench.chaos`` with a few hundred jobs):
two replicas of every service, simulated printers, processes SIGKILLed and restarted,
the Kafka broker and the Postgres server each killed once, websockets dropped; every
accepted job is printed exactly once, none is lost or stuck, and a webhook receiver
subscribed to the jobs' events gets every one of them, signed and in order per job.

The run starts its own broker and database server (it kills them), never the shared
ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chaos import parse, run

pytestmark = pytest.mark.e2e


async def test_short_chaos_run_prints_every_accepted_job_exactly_once(tmp_path: Path) -> None:
    args = parse(
        ["--jobs", "300", "--rate", "4", "--kills", "8", "--drops", "30", "--printers", "6",
         "--extra-wait-s", "60", "--timeout", "600", "--webhooks"]
    )  # fmt: skip
    result = await run(args, tmp_path)
    print(result)
    counts, faults = result["counts"], result["faults"]
    assert faults["kafka_kills"] == 1 and faults["postgres_kills"] == 1
    assert faults["kills"] >= 6, faults  # a victim still restarting is not killed again
    assert faults["websocket_drops"] > 0
    assert counts["accepted"] == 300
    assert counts["printed_more_than_once"] == 0, counts["samples"]
    assert counts["lost_not_printed"] == 0, counts["samples"]
    assert counts["stuck_30s_after_last_fault"] == 0, counts["samples"]
    assert counts["printed_once"] == 300
    assert counts["prints_of_unknown_jobs_more_than_once"] == 0
    hooks = result["webhooks"]  # every job event reached the receiver, whatever was killed
    assert hooks["job_events"] >= 4 * 300, hooks  # submitted, queued, sent, (printing,) completed
    assert hooks["missing"] == 0 and hooks["not_published_but_delivered"] == 0, hooks
    assert hooks["bad_signatures"] == 0 and hooks["jobs_out_of_order"] == 0, hooks
    assert result["ok"] is True
