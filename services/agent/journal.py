"""The durable journal: executed commands, printed jobs, commands held for printers
that cannot be reached and the frames still to send.

One SQLite database (``journal.sqlite3``) in WAL mode with ``synchronous=FULL``: a
committed transaction survives a crash or a power cut. Each state change and the
frames that report it (``job_status``, ``command_ack``) commit in one transaction,
like a service's outbox, so the agent never forgets what it printed nor the answer
it owes the cloud. A connector holds a command for a printer it cannot reach in
``held`` (unacknowledged, so the cloud keeps it too) until the printer answers again;
the command's outcome removes it in the transaction that records it. Frames are
sent from the ``outbox`` table and marked sent once written to a websocket; after a
reconnect the unsent ones go first.

A job moves ``printing`` (recorded before the document goes to the printer) ->
``printed`` (right after the printer accepted it) or ``failed`` (the printer
certainly did not get it, or the job was canceled). See docs/agent.md for what a
crash in between means. A finished job keeps the detail of the status that
reported it, so that status can be sent again while the cloud still lists the job
(:meth:`JobRecord.report`).
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from shared.protocols.device import Command, CommandAck

Outcome = Literal["done", "failed", "rejected"]
JobState = Literal["printing", "printed", "failed"]
MAX_DETAIL = 2000
CANCELED = "canceled"
"""The ``printer_job`` of a job that was canceled (journaled ``failed``)."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS commands (
    command_id  TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    target      TEXT,
    outcome     TEXT NOT NULL CHECK (outcome IN ('done', 'failed', 'rejected')),
    detail      TEXT NOT NULL,
    finished_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id      TEXT PRIMARY KEY,
    device_id   TEXT,
    state       TEXT NOT NULL CHECK (state IN ('printing', 'printed', 'failed')),
    printer_job TEXT NOT NULL DEFAULT '',
    command_id  TEXT NOT NULL,
    updated_at  REAL NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    frame      TEXT NOT NULL,
    created_at REAL NOT NULL,
    sent_at    REAL
);
CREATE TABLE IF NOT EXISTS held (
    command_id TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL,
    frame      TEXT NOT NULL,
    held_at    REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
"""


@dataclass(frozen=True)
class CommandRecord:
    """A command the agent finished, and how."""

    command_id: uuid.UUID
    name: str
    outcome: Outcome
    detail: str

    def ack(self) -> CommandAck:
        """The acknowledgement for this command (sent again on every redelivery)."""
        return CommandAck(command_id=self.command_id, outcome=self.outcome, detail=self.detail)


@dataclass(frozen=True)
class JobRecord:
    """What the agent knows about one print job."""

    job_id: uuid.UUID
    state: JobState
    printer_job: str
    detail: str = ""

    def report(self) -> tuple[str, str] | None:
        """The final job status that reported this job (state, detail); None while printing."""
        if self.state == "printed":
            return "completed", ""
        if self.state == "failed":
            return ("canceled" if self.printer_job == CANCELED else "failed"), self.detail
        return None


@dataclass(frozen=True)
class JobChange:
    """A job's new state, written with a command's outcome."""

    job_id: uuid.UUID
    state: JobState
    printer_job: str = ""
    detail: str = ""


class Journal:
    """The journal database; every write is one durable transaction."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
        if "detail" not in columns:  # a journal written before jobs kept their detail
            self._db.execute("ALTER TABLE jobs ADD COLUMN detail TEXT NOT NULL DEFAULT ''")
        path.chmod(0o600)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    # ------------------------------------------------------------------ reads

    def command(self, command_id: uuid.UUID) -> CommandRecord | None:
        """The recorded outcome of a command, if it was executed."""
        row = self._db.execute(
            "SELECT name, outcome, detail FROM commands WHERE command_id = ?", (str(command_id),)
        ).fetchone()
        return None if row is None else CommandRecord(command_id, row[0], row[1], row[2])

    def job(self, job_id: uuid.UUID) -> JobRecord | None:
        """The recorded state of a job, if the agent ever started printing it."""
        row = self._db.execute(
            "SELECT state, printer_job, detail FROM jobs WHERE job_id = ?", (str(job_id),)
        ).fetchone()
        return None if row is None else JobRecord(job_id, row[0], row[1], row[2])

    def unsent(self, limit: int = 100) -> list[tuple[int, str]]:
        """Frames not yet written to a websocket, oldest first."""
        rows = self._db.execute(
            "SELECT seq, frame FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        return [(int(seq), str(frame)) for seq, frame in rows]

    def status_unsent(self, job_id: uuid.UUID, state: str) -> bool:
        """Whether a ``job_status`` frame reporting ``job_id`` in ``state`` waits to be sent."""
        row = self._db.execute(
            "SELECT 1 FROM outbox WHERE sent_at IS NULL"
            " AND json_extract(frame, '$.type') = 'job_status'"
            " AND json_extract(frame, '$.job_id') = ? AND json_extract(frame, '$.state') = ?"
            " LIMIT 1",
            (str(job_id), state),
        ).fetchone()
        return row is not None

    def held(self, device_id: uuid.UUID | None = None) -> list[Command]:
        """Commands held for unreachable printers (of ``device_id``), oldest first."""
        rows = self._db.execute(
            "SELECT frame FROM held WHERE ? IS NULL OR device_id = ? ORDER BY held_at, command_id",
            (_str(device_id), _str(device_id)),
        ).fetchall()
        return [Command.model_validate_json(row[0]) for row in rows]

    # ------------------------------------------------------------------ writes

    def hold(self, cmd: Command, device_id: uuid.UUID) -> bool:
        """Keep a command for a printer that cannot be reached now, unacknowledged, to be
        carried out when it can (kept across restarts); whether it was not held yet."""
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO held (command_id, device_id, frame, held_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (command_id) DO NOTHING",
                (str(cmd.command_id), str(device_id), cmd.model_dump_json(), time.time()),
            )
        return cursor.rowcount > 0

    def begin_job(
        self,
        job_id: uuid.UUID,
        device_id: uuid.UUID | None,
        command_id: uuid.UUID | None,
        frames: Sequence[BaseModel] = (),
    ) -> None:
        """Record ``printing`` before the document goes to the printer (``command_id``
        None: a job the agent fetched from its queue, not one a command carried)."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO jobs (job_id, device_id, state, command_id, updated_at)"
                " VALUES (?, ?, 'printing', ?, ?) ON CONFLICT (job_id) DO UPDATE SET"
                " state = 'printing', command_id = excluded.command_id,"
                " updated_at = excluded.updated_at",
                (str(job_id), _str(device_id), _str(command_id) or "", time.time()),
            )
            self._append(frames)

    def give_up_job(
        self, job_id: uuid.UUID, device_id: uuid.UUID | None, detail: str,
        frames: Sequence[BaseModel] = (),
    ) -> None:  # fmt: skip
        """Record a fetched job ``failed`` for good (it could not be fetched or printed in
        its attempts) with the frames that report it, whether or not it was begun."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO jobs (job_id, device_id, state, command_id, updated_at, detail)"
                " VALUES (?, ?, 'failed', '', ?, ?) ON CONFLICT (job_id) DO UPDATE SET"
                " state = 'failed', detail = excluded.detail, updated_at = excluded.updated_at",
                (str(job_id), _str(device_id), time.time(), detail[:MAX_DETAIL]),
            )
            self._append(frames)

    def finish_job(self, job: JobChange, frames: Sequence[BaseModel] = ()) -> None:
        """Record a fetched job's new state and queue the frames that report it."""
        with self._transaction():
            self._update_job(job)
            self._append(frames)

    def finish(
        self,
        record: CommandRecord,
        *,
        target: uuid.UUID | None = None,
        job: JobChange | None = None,
        frames: Sequence[BaseModel] = (),
    ) -> CommandRecord:
        """Record a command's outcome (and its job's state), queueing ``frames`` and the ack."""
        record = CommandRecord(
            record.command_id, record.name, record.outcome, record.detail[:MAX_DETAIL]
        )
        with self._transaction():
            if job is not None:
                self._update_job(job)
            self._db.execute(
                "INSERT OR REPLACE INTO commands"
                " (command_id, name, target, outcome, detail, finished_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    str(record.command_id), record.name, _str(target),
                    record.outcome, record.detail, time.time(),
                ),
            )  # fmt: skip
            self._db.execute("DELETE FROM held WHERE command_id = ?", (str(record.command_id),))
            self._append([*frames, record.ack()])
        return record

    def enqueue(self, frames: Sequence[BaseModel]) -> None:
        """Queue frames to send (e.g. the ack again, for a redelivered command)."""
        with self._transaction():
            self._append(frames)

    def mark_sent(self, seq: int) -> None:
        """A frame was written to the websocket."""
        self._db.execute("UPDATE outbox SET sent_at = ? WHERE seq = ?", (time.time(), seq))

    def prune(self, keep_days: float = 30.0) -> None:
        """Forget sent frames after a day, and commands and jobs after ``keep_days``."""
        now = time.time()
        with self._transaction():
            self._db.execute("DELETE FROM outbox WHERE sent_at < ?", (now - 86_400,))
            horizon = now - keep_days * 86_400
            self._db.execute("DELETE FROM commands WHERE finished_at < ?", (horizon,))
            self._db.execute(
                "DELETE FROM jobs WHERE updated_at < ? AND state != 'printing'", (horizon,)
            )

    # ------------------------------------------------------------------ helpers

    def _update_job(self, job: JobChange) -> None:
        self._db.execute(
            "UPDATE jobs SET state = ?, printer_job = ?, detail = ?, updated_at = ?"
            " WHERE job_id = ?",
            (job.state, job.printer_job, job.detail[:MAX_DETAIL], time.time(), str(job.job_id)),
        )

    def _append(self, frames: Sequence[BaseModel]) -> None:
        now = time.time()
        self._db.executemany(
            "INSERT INTO outbox (frame, created_at) VALUES (?, ?)",
            [(f.model_dump_json(), now) for f in frames],
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def _str(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)
