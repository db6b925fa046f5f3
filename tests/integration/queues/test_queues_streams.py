"""The job event streams deliver every state change exactly once, in the order a job's
changes committed, however the writers' transactions interleave.

A history row's id is taken when it is inserted, not when its transaction commits, so
a change with a smaller id can become visible after one with a larger id was streamed.
These tests hold the writers' transactions open to make that happen on purpose: the
changes are written as the queues' handlers write them (``record``: the job saved, its
history row, the NOTIFY at commit), in transactions the test commits when it chooses.
Against a stream that resumes after the largest id it sent, the change committed late
is never delivered and these tests fail (``<job> <state> never came``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from services.queues.domain.model import Job, transition
from services.queues.handlers.common import now, record
from services.queues.repository import QueuesRepository
from shared.db.outbox import Emitter
from shared.db.pool import connect
from shared.db.uow import PostgresTransactions
from shared.events.contracts.jobs import JobState
from shared.events.contracts.users import ApiTokenRevoked
from shared.printing.settings import JobSettings
from shared.testing.fixtures import ServiceDbFactory
from tests.support.kafka import publish
from tests.support.queues import (
    Queues,
    User,
    queues_app,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Frame:
    """One ``job.state`` event of a stream."""

    id: str
    job_id: str
    state: str


class Events:
    """A server-sent event stream read frame by frame."""

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        assert resp.status == 200, resp.status
        assert resp.content_type == "text/event-stream"
        self.resp = resp

    async def _next(self) -> Frame | None:
        """The next frame; None at a keep-alive comment (the stream had nothing to send)."""
        event_id, data = None, None
        while True:
            raw = await self.resp.content.readline()
            if not raw:
                raise EOFError("the stream ended")
            line = raw.decode().rstrip("\n")
            if line.startswith(": keep-alive"):
                return None
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif line == "" and data is not None:
                assert event_id is not None
                return Frame(event_id, data["job_id"], data["state"])

    async def take(self, count: int, timeout: float = 30) -> list[Frame]:
        """The next ``count`` frames."""
        frames: list[Frame] = []
        async with asyncio.timeout(timeout):
            while len(frames) < count:
                frame = await self._next()
                if frame is not None:
                    frames.append(frame)
        return frames

    async def until(self, job_id: uuid.UUID, state: str, timeout: float = 30) -> list[Frame]:
        """Frames up to and including the one of ``job_id`` entering ``state``."""
        frames: list[Frame] = []
        try:
            async with asyncio.timeout(timeout):
                while True:
                    frame = await self._next()
                    if frame is None:
                        continue
                    frames.append(frame)
                    if (frame.job_id, frame.state) == (str(job_id), state):
                        return frames
        except TimeoutError:
            seen = [(f.job_id, f.state) for f in frames]
            raise AssertionError(
                f"the late change {job_id} {state} never came; got {seen}"
            ) from None

    async def rest(self, timeout: float = 30) -> list[Frame]:
        """Frames until the stream is idle (a keep-alive comes instead)."""
        frames: list[Frame] = []
        async with asyncio.timeout(timeout):
            while (frame := await self._next()) is not None:
                frames.append(frame)
        return frames

    async def to_end(self, timeout: float = 30) -> list[Frame]:
        """Frames until the server ends the stream."""
        frames: list[Frame] = []
        async with asyncio.timeout(timeout):
            with contextlib.suppress(EOFError):
                while True:
                    if (frame := await self._next()) is not None:
                        frames.append(frame)
        return frames


async def events(q: Queues, who: User, path: str, last: str | None = None) -> Events:
    """Open an event stream (after the event id ``last``, when given)."""
    headers = {**who.headers, **({"Last-Event-ID": last} if last is not None else {})}
    return Events(await q.client.get(path, headers=headers))


class Tx:
    """A transaction held open until the test commits it."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._tr = conn.transaction()

    async def commit(self) -> None:
        await self._tr.commit()

    async def close(self) -> None:
        await self.conn.close()


class Writer:
    """Changes jobs as the queues' handlers do, in transactions the test controls."""

    def __init__(self, q: Queues, owner: User) -> None:
        self.q = q
        self.owner = owner
        self.out = Emitter(q.schema, "queues")
        # Units of work on the test's own connections (``on(conn)``): no pool of its own.
        self.units = PostgresTransactions(
            None,  # type: ignore[arg-type]
            self.out,
            QueuesRepository.of_schema(q.schema),
        )
        self.document_id: uuid.UUID | None = None
        self._open: list[Tx] = []

    async def connection(self) -> asyncpg.Connection:
        """A connection to the queues' schema."""
        return await connect(self.q.dsn, self.q.schema, application_name="test-writer")

    async def begin(self) -> Tx:
        """A transaction, open until ``commit()`` (rolled back and closed by ``close``)."""
        tx = Tx(await self.connection())
        await tx._tr.start()
        self._open.append(tx)
        return tx

    async def close(self) -> None:
        for tx in self._open:
            await tx.close()

    @contextlib.asynccontextmanager
    async def transaction(
        self, conn: asyncpg.Connection | None = None
    ) -> AsyncIterator[asyncpg.Connection]:
        """A transaction (on ``conn``, or a connection of its own), committed at the end."""
        own = conn is None
        conn = conn or await self.connection()
        try:
            async with conn.transaction():
                yield conn
        finally:
            if own:
                await conn.close()

    async def upload(self) -> None:
        """The document the jobs print."""
        self.document_id = uuid.UUID((await self.q.upload(self.owner))["document_id"])

    async def create(self, conn: asyncpg.Connection) -> uuid.UUID:
        """A new pending job of the owner (its first state change). Not announced on
        Kafka: no other service changes it behind the test's back."""
        if self.document_id is None:
            await self.upload()
        assert self.document_id is not None
        job = Job(
            id=uuid.uuid4(),
            tenant_id=self.q.tenant,
            owner_id=self.owner.id,
            document_id=self.document_id,
            release="direct",
            title="streams",
            pages=2,
            settings=JobSettings(),
            state="pending",
            printer_id=uuid.uuid4(),
            virtual_printer_id=None,
            submitted_at=now(),
        )
        async with self.units.on(conn) as uow:
            await record(uow, None, job, [])
        return job.id

    async def job(self) -> uuid.UUID:
        """A new pending job, committed."""
        async with self.transaction() as conn:
            return await self.create(conn)

    @staticmethod
    async def lock(conn: asyncpg.Connection, job_id: uuid.UUID) -> Job:
        """The job, locked by this transaction (which takes a transaction id)."""
        job = await QueuesRepository(conn).get_job(job_id, for_update=True)
        assert job is not None
        return job

    async def change(self, conn: asyncpg.Connection, job_id: uuid.UUID, state: JobState) -> None:
        """Move the job to ``state`` in the transaction of ``conn``."""
        job = await self.lock(conn, job_id)
        async with self.units.on(conn) as uow:
            await record(uow, job, transition(job, state, now()), [])


@pytest.fixture(name="w")
async def writer_fixture(q: Queues) -> AsyncIterator[Writer]:
    """A writer of a new user's jobs (``w.owner``)."""
    writer = Writer(q, await q.user())
    try:
        yield writer
    finally:
        await writer.close()


def changes(frames: list[Frame], state: str | None = None) -> list[tuple[str, str]]:
    """(job id, state) of the frames (in ``state`` only, when given)."""
    return [(f.job_id, f.state) for f in frames if state is None or f.state == state]


async def test_a_change_committed_after_a_later_one_was_streamed_is_still_delivered(
    q: Queues, w: Writer
) -> None:
    a, b = await w.job(), await w.job()
    mine = await events(q, w.owner, "/v1/jobs/events")
    t2 = await w.begin()
    await w.lock(t2.conn, b)  # T2 begins first: its transaction id is the smaller one
    t1 = await w.begin()
    await w.change(t1.conn, a, "queued")  # A's history row takes the smaller id...
    await w.change(t2.conn, b, "queued")  # ...B's the larger
    await t2.commit()  # while T1 is still open
    got = await mine.until(b, "queued")
    assert (str(a), "queued") not in changes(got)
    # The stream has sent B, whose id is larger than A's: a stream that resumes after
    # the largest id it sent would skip A forever.
    await t1.commit()
    late = await mine.until(a, "queued")
    assert changes(late, "queued") == [(str(a), "queued")]
    async with q.db() as conn:
        rows = await conn.fetch(
            "SELECT job_id, id FROM job_history WHERE state = 'queued' AND job_id = ANY($1)",
            [a, b],
        )
    ids = {r["job_id"]: r["id"] for r in rows}
    assert ids[a] < ids[b]  # the race really happened: A's row has the smaller id
    assert await mine.rest() == []  # and nothing came twice


async def test_a_change_of_a_running_transaction_waits_and_comes_before_later_ones(
    q: Queues, w: Writer
) -> None:
    c, d = await w.job(), await w.job()
    mine = await events(q, w.owner, "/v1/jobs/events")
    t3 = await w.begin()
    await w.change(t3.conn, c, "queued")  # taken first: the smaller transaction and row ids
    async with w.transaction() as t4:
        await w.change(t4, d, "queued")
    # D is committed; C's transaction is still running.
    await t3.commit()
    got = await mine.until(d, "queued")
    # C's transaction began first: its change streams first, then D's.
    assert changes(got, "queued") == [(str(c), "queued"), (str(d), "queued")]
    assert await mine.rest() == []


async def test_one_jobs_changes_stream_in_the_order_they_committed(q: Queues, w: Writer) -> None:
    """A transaction that took its id before it waited for the job's lock still streams
    after the change it waited for; the job's stream shows every state and ends at the
    final one."""
    e, other = await w.job(), await w.job()
    t5 = await w.begin()
    await w.change(t5.conn, other, "queued")  # T5's transaction id is taken here
    async with w.transaction() as t6:
        await w.change(t6, e, "queued")  # a later transaction changes E first
    await w.change(t5.conn, e, "canceled")  # then T5, the older one, cancels it
    await t5.commit()
    stream = await events(q, w.owner, f"/v1/jobs/{e}/events")
    frames = await stream.to_end()
    assert [f.state for f in frames] == ["pending", "queued", "canceled"]
    # Resuming after the queued event gives what followed, and the stream ends there.
    after = await events(q, w.owner, f"/v1/jobs/{e}/events", last=frames[1].id)
    assert [f.state for f in await after.to_end()] == ["canceled"]


async def test_resuming_with_last_event_id_delivers_exactly_what_followed(
    q: Queues, w: Writer
) -> None:
    jobs = [await w.job() for _ in range(3)]
    mine = await events(q, w.owner, "/v1/jobs/events")
    # Six changes, one committed after later ones.
    slow = await w.begin()
    await w.change(slow.conn, jobs[0], "queued")
    for job_id in jobs[1:]:
        async with w.transaction() as conn:
            await w.change(conn, job_id, "queued")
    await slow.commit()
    for job_id in jobs:
        async with w.transaction() as conn:
            await w.change(conn, job_id, "canceled")
    # (The stream opened as the jobs were created: it may show their pending states too.)
    got = await mine.until(jobs[-1], "canceled")
    expected = [(str(j), s) for j in jobs for s in ("queued", "canceled")]
    assert sorted(c for c in changes(got) if c[1] != "pending") == sorted(expected)
    assert await mine.rest() == []  # nothing more, nothing twice
    for k in range(len(got)):
        resumed = await events(q, w.owner, "/v1/jobs/events", last=got[k].id)
        assert await resumed.take(len(got) - k - 1) == got[k + 1 :], k
        assert await resumed.rest() == [], k
        resumed.resp.close()
    # An id sent before ids carried the transaction ("<id>") resumes after that row,
    # with every change recorded since ids carry it: here, all of this owner's.
    legacy = await events(q, w.owner, "/v1/jobs/events", last=got[-1].id.split("-")[1])
    everything = await legacy.take(9)
    assert sorted(changes(everything)) == sorted(
        (str(j), s) for j in jobs for s in ("pending", "queued", "canceled")
    )
    # A malformed id is refused, naming the header.
    for bad in ("x", "1-", "-1", "1-2-3", "²", f"{2**64}-1"):
        resp = await q.client.get(
            "/v1/jobs/events", headers={**w.owner.headers, "Last-Event-ID": bad}
        )
        assert resp.status == 422, bad
        problem = await resp.json(content_type=None)
        assert [e["field"] for e in problem["errors"]] == ["Last-Event-ID"], problem
    mine.resp.close()
    legacy.resp.close()


async def test_every_change_of_eight_concurrent_writers_is_delivered_exactly_once(
    q: Queues, w: Writer
) -> None:
    """200 state changes (100 jobs created, then canceled) by 8 writers whose
    transactions stay open for a random while after they write, so that commits come
    in another order than ids."""
    await w.upload()
    mine = await events(q, w.owner, "/v1/jobs/events")
    rng = random.Random(7)
    created: list[uuid.UUID] = []

    async def writer(n: int) -> None:
        conn = await w.connection()
        try:
            jobs: list[uuid.UUID] = []
            for _ in range(100 // 8 + (1 if n < 100 % 8 else 0)):
                async with w.transaction(conn):
                    jobs.append(await w.create(conn))
                    await asyncio.sleep(rng.random() / 50)
            for job_id in jobs:
                async with w.transaction(conn):
                    await w.change(conn, job_id, "canceled")
                    await asyncio.sleep(rng.random() / 50)
            created.extend(jobs)
        finally:
            await conn.close()

    streamed = asyncio.create_task(mine.take(200, timeout=120))
    await asyncio.gather(*(writer(n) for n in range(8)))
    assert len(created) == 100
    frames = await streamed
    assert len({f.id for f in frames}) == 200
    assert sorted(changes(frames)) == sorted(
        (str(j), s) for j in created for s in ("pending", "canceled")
    )
    for job_id in created:  # each job's changes in the order they happened
        assert [f.state for f in frames if f.job_id == str(job_id)] == ["pending", "canceled"]
    assert await mine.rest() == []  # and nothing twice
    mine.resp.close()


async def test_a_stream_ends_when_the_token_it_was_opened_with_is_revoked(q: Queues) -> None:
    """Revoking the API token an access token came from ends that token's open streams
    within seconds (the service follows api_token.revoked on auth.tokens)."""
    token_id, user_id = uuid.uuid4(), uuid.uuid4()
    headers = q.token(
        sub=str(user_id), tenant_id=str(q.tenant), roles=["user"], scope="jobs:read",
        client_id=str(token_id),
    )  # fmt: skip
    other = q.token(
        sub=str(user_id), tenant_id=str(q.tenant), roles=["user"], scope="jobs:read",
        client_id=str(uuid.uuid4()),
    )  # fmt: skip
    mine = await q.client.get("/v1/jobs/events", headers=headers)
    theirs = await q.client.get("/v1/jobs/events", headers=other)
    assert mine.status == 200 and theirs.status == 200
    revoked = ApiTokenRevoked(
        token_id=token_id, user_id=user_id, tenant_id=q.tenant,
        revoked_at=datetime.now(UTC), reason="revoked",
    )  # fmt: skip
    await publish(q.bootstrap, revoked, source="auth", tenant_id=q.tenant)
    body = await asyncio.wait_for(mine.content.read(), 30)  # the stream ends by itself
    assert b"event: revoked" in body
    # a stream opened with another token of the same user goes on
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(theirs.content.read(), 2)
    theirs.close()
    again = await q.client.get("/v1/jobs/events", headers=headers)
    assert again.status == 401


async def test_one_credential_holds_only_so_many_streams(
    service_db: ServiceDbFactory, bootstrap: str, topics: object, tmp_path: Path
) -> None:
    """One more stream than a credential may hold is a clear 429; other credentials are
    not affected, and a slot is given back when a stream ends."""
    async with queues_app(
        service_db, bootstrap, tmp_path / "blobs", max_streams_per_credential=2
    ) as q:
        user_id = uuid.uuid4()

        def token() -> dict[str, str]:  # an access token of a new API token of the user
            return q.token(
                sub=str(user_id), tenant_id=str(q.tenant), roles=["user"], scope="jobs:read",
                client_id=str(uuid.uuid4()),
            )  # fmt: skip

        mine, another = token(), token()
        first = await q.client.get("/v1/jobs/events", headers=mine)
        second = await q.client.get("/v1/jobs/events", headers=mine)
        assert first.status == second.status == 200
        refused = await q.client.get("/v1/jobs/events", headers=mine)
        assert refused.status == 429
        assert refused.content_type == "application/problem+json"
        problem = await refused.json()
        assert (problem["code"], problem["limit"]) == ("too-many-streams", 2), problem
        assert refused.headers["Retry-After"].isdigit()
        other = await q.client.get("/v1/jobs/events", headers=another)
        assert other.status == 200  # another token of the same user has its own slots
        first.close()

        async def slot_given_back() -> bool:
            again = await q.client.get("/v1/jobs/events", headers=mine)
            if again.status == 200:
                again.close()
                return True
            return False

        await eventually(slot_given_back)
        for resp in (second, other):
            resp.close()
