"""The journal: outcomes and job states survive reopening; frames leave in order."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

from services.agent.journal import CANCELED, CommandRecord, JobChange, Journal
from shared.protocols.device import JobStatus


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


def test_a_finished_job_keeps_the_status_that_reported_it(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    printed, failed, canceled, printing = (uuid.uuid4() for _ in range(4))
    for job_id in (printed, failed, canceled, printing):
        journal.begin_job(job_id, None, None)
    journal.finish_job(JobChange(printed, "printed", "spool/1.pdf"))
    journal.finish_job(
        JobChange(failed, "failed", detail="device unreachable: ipp://x"),
        [JobStatus(job_id=failed, state="failed", detail="device unreachable: ipp://x")],
    )
    journal.finish_job(JobChange(canceled, "failed", CANCELED, "canceled at the printer"))
    reports = {j: journal.job(j).report() for j in (printed, failed, canceled, printing)}  # type: ignore[union-attr]
    assert reports == {
        printed: ("completed", ""),
        failed: ("failed", "device unreachable: ipp://x"),
        canceled: ("canceled", "canceled at the printer"),
        printing: None,
    }
    # A report still waiting for a connection is known; once written, it is not.
    assert journal.status_unsent(failed, "failed")
    assert not journal.status_unsent(failed, "completed")
    assert not journal.status_unsent(printed, "completed")
    for seq, _ in journal.unsent():
        journal.mark_sent(seq)
    assert not journal.status_unsent(failed, "failed")


def test_a_journal_written_before_jobs_kept_their_detail_is_read(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    job_id = str(uuid.uuid4())
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE jobs (job_id TEXT PRIMARY KEY, device_id TEXT, state TEXT NOT NULL,"
            " printer_job TEXT NOT NULL DEFAULT '', command_id TEXT NOT NULL,"
            " updated_at REAL NOT NULL)"
        )
        db.execute("INSERT INTO jobs VALUES (?, NULL, 'failed', '', '', 0)", (job_id,))
    db.close()
    journal = Journal(path)
    known = journal.job(uuid.UUID(job_id))
    assert known is not None and known.report() == ("failed", "")
    journal.finish_job(JobChange(uuid.UUID(job_id), "failed", detail="refused"))
    assert journal.job(uuid.UUID(job_id)).report() == ("failed", "refused")  # type: ignore[union-attr]
    journal.close()
