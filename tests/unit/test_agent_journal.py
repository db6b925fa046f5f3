"""The journal: outcomes and job states survive reopening; frames leave in order."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from services.agent.journal import CommandRecord, JobChange, Journal
from services.gateway.protocol import JobStatus


def test_outcomes_jobs_and_frames_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path)
    job_id, command_id = uuid.uuid4(), uuid.uuid4()
    journal.begin_job(job_id, None, command_id, [JobStatus(job_id=job_id, state="printing")])
    journal.finish(
        CommandRecord(command_id, "print_job", "done", "printed (x)"),
        job=JobChange(job_id, "printed", "x"),
        frames=[JobStatus(job_id=job_id, state="completed")],
    )
    journal.close()

    journal = Journal(path)
    record = journal.command(command_id)
    assert record is not None and record.outcome == "done" and record.detail == "printed (x)"
    job = journal.job(job_id)
    assert job is not None and job.state == "printed" and job.printer_job == "x"
    frames = [json.loads(text) for _, text in journal.unsent()]
    assert [f["type"] for f in frames] == ["job_status", "job_status", "command_ack"]
    assert frames[-1] == {"type": "command_ack", "command_id": str(command_id),
                          "outcome": "done", "detail": "printed (x)"}  # fmt: skip
    journal.close()


def test_sent_frames_are_not_sent_again(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    record = CommandRecord(uuid.uuid4(), "identify", "done", "")
    journal.finish(record)
    journal.enqueue([record.ack()])
    (first, _), (second, _) = journal.unsent()
    journal.mark_sent(first)
    assert [seq for seq, _ in journal.unsent()] == [second]
    journal.mark_sent(second)
    assert journal.unsent() == []
    journal.prune()
    assert journal.command(record.command_id) == record


def test_long_details_are_cut_to_what_the_protocol_allows(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    record = journal.finish(CommandRecord(uuid.uuid4(), "print_job", "failed", "x" * 5000))
    assert len(record.detail) == 2000
    assert record.ack().detail == record.detail
