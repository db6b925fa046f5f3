"""The shared middleware chain, on a real aiohttp server over loopback (no DB, no Kafka)."""

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import Conflict, FieldError
from shared.http.auth import OperatorTokenAuthenticator
from shared.http.body import parse_json
from shared.http.middleware import AUTHENTICATOR, CORRELATION_HEADER, MIDDLEWARES, principal
from shared.infra.kafka import free_port

TOKEN = "secret-operator-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    count: int = Field(ge=0)


async def create(request: web.Request) -> web.Response:
    thing = await parse_json(request, Thing)
    return web.json_response({"name": thing.name, "who": principal(request).subject}, status=201)


async def conflict(_: web.Request) -> web.Response:
    raise Conflict("taken", [FieldError("name", "already taken")])


async def boom(_: web.Request) -> web.Response:
    raise RuntimeError("database password is hunter2")


async def health(_: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    app = web.Application(middlewares=MIDDLEWARES)
    app[AUTHENTICATOR] = OperatorTokenAuthenticator(TOKEN)
    app.router.add_post("/things", create)
    app.router.add_get("/conflict", conflict)
    app.router.add_get("/boom", boom)
    app.router.add_get("/healthz", health)
    async with TestClient(TestServer(app)) as c:
        yield c


async def _problem(resp: object) -> dict[str, object]:
    assert resp.content_type == "application/problem+json"  # type: ignore[attr-defined]
    return await resp.json(content_type=None)  # type: ignore[attr-defined,no-any-return]


async def test_valid_request_passes_and_echoes_correlation_id(client: TestClient) -> None:
    cid = "5b0c2b64-93a5-4c8c-9f5e-1e2f3a4b5c6d"
    resp = await client.post(
        "/things", json={"name": "a", "count": 1}, headers={**AUTH, CORRELATION_HEADER: cid}
    )
    assert resp.status == 201
    assert (await resp.json())["who"] == "operator"
    assert resp.headers[CORRELATION_HEADER] == cid


async def test_missing_or_wrong_token_is_401(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        resp = await client.post("/things", json={"name": "a", "count": 1}, headers=headers)
        assert resp.status == 401
        assert (await _problem(resp))["code"] == "unauthenticated"


async def test_health_needs_no_token(client: TestClient) -> None:
    assert (await client.get("/healthz")).status == 200


async def test_invalid_fields_are_each_named(client: TestClient) -> None:
    resp = await client.post("/things", json={"name": "", "count": -1, "x": 1}, headers=AUTH)
    assert resp.status == 422
    body = await _problem(resp)
    assert {e["field"] for e in body["errors"]} == {"name", "count", "x"}  # type: ignore[union-attr]


async def test_malformed_json_and_wrong_media_type(client: TestClient) -> None:
    resp = await client.post(
        "/things", data=b"{oops", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert resp.status == 400
    assert (await _problem(resp))["code"] == "malformed-json"
    resp = await client.post(
        "/things", data=b"name=a", headers={**AUTH, "Content-Type": "text/plain"}
    )
    assert resp.status == 415


async def test_domain_error_becomes_problem(client: TestClient) -> None:
    resp = await client.get("/conflict", headers=AUTH)
    body = await _problem(resp)
    assert resp.status == 409
    assert body["errors"] == [{"field": "name", "reason": "already taken"}]


async def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    assert (await client.get("/nowhere", headers=AUTH)).status == 404
    resp = await client.delete("/things", headers=AUTH)
    assert resp.status == 405
    assert "POST" in resp.headers["Allow"]
    await _problem(resp)


async def test_server_error_leaks_nothing(client: TestClient) -> None:
    resp = await client.get("/boom", headers=AUTH)
    assert resp.status == 500
    text = await resp.text()
    assert "hunter2" not in text and "RuntimeError" not in text


def test_tenant_scoping_rules() -> None:
    import uuid

    from shared.errors import Forbidden
    from shared.http.auth import Principal

    mine, other = uuid.uuid4(), uuid.uuid4()
    operator = Principal("op", None, frozenset({"operator"}))
    member = Principal("u", mine, frozenset({"admin"}))
    unbound = Principal("x", None, frozenset({"admin"}))
    assert operator.can_access(other) and operator.tenant_scope() is None
    assert member.can_access(mine) and not member.can_access(other)
    assert member.tenant_scope() == mine
    assert not unbound.can_access(mine)
    with pytest.raises(Forbidden):
        unbound.tenant_scope()


async def test_unauthenticated_names_the_scheme(client: TestClient) -> None:
    resp = await client.post("/things", json={"name": "a", "count": 1})
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


# ---------------------------------------------------------------- dependency outages


async def _raised(coro: object) -> BaseException:
    try:
        await coro  # type: ignore[misc]
    except BaseException as exc:
        return exc
    raise AssertionError("no exception raised")


async def _silent_server() -> object:
    """A server that accepts connections and never says a word (a hung database)."""
    import asyncio

    return await asyncio.start_server(lambda _r, _w: None, "127.0.0.1", 0)


def test_connection_level_errors_name_their_dependency() -> None:
    import asyncpg
    from aiokafka import errors as kafka_errors

    from shared.dependencies import DATABASE, EVENT_BROKER, unavailable_dependency

    exc = asyncpg.exceptions
    database = [
        exc.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        exc.ConnectionFailureError("x"),
        exc.CannotConnectNowError("the database system is starting up"),
        exc.AdminShutdownError("terminating connection due to administrator command"),
        exc.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.InterfaceError("cannot perform operation: connection is closed"),
    ]
    broker = [
        kafka_errors.KafkaConnectionError("Unable to bootstrap from [('k', 9092)]"),
        kafka_errors.KafkaTimeoutError(),
        kafka_errors.NoBrokersAvailable(),
        kafka_errors.RequestTimedOutError(),
    ]
    bugs: list[BaseException] = [
        RuntimeError("boom"),
        ValueError("bad"),
        exc.UniqueViolationError("duplicate key"),
        exc.UndefinedColumnError("column x does not exist"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        kafka_errors.UnknownTopicOrPartitionError(),
        ConnectionRefusedError(111, "refused"),  # not raised by a database or broker client
        TimeoutError(),
        FileNotFoundError(2, "no such file"),
    ]
    for e in database:
        assert unavailable_dependency(e) == DATABASE, e
    for e in broker:
        assert unavailable_dependency(e) == EVENT_BROKER, e
    for e in bugs:
        assert unavailable_dependency(e) is None, e
    wrapped = RuntimeError("could not load")
    wrapped.__cause__ = database[0]
    assert unavailable_dependency(wrapped) == DATABASE


async def test_real_client_failures_name_their_dependency() -> None:
    import asyncio

    import asyncpg
    from aiokafka.client import AIOKafkaClient

    from shared.dependencies import DATABASE, EVENT_BROKER, unavailable_dependency

    port = free_port()  # nothing listens there
    refused = await _raised(asyncpg.connect(f"postgresql://u:p@127.0.0.1:{port}/db"))
    assert isinstance(refused, OSError)
    assert unavailable_dependency(refused) == DATABASE

    server = await _silent_server()
    silent = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        dsn = f"postgresql://u:p@127.0.0.1:{silent}/db"
        hung = await _raised(asyncpg.connect(dsn, timeout=0.3))
        assert isinstance(hung, TimeoutError)
        assert unavailable_dependency(hung) == DATABASE

        async def bounded() -> None:
            async with asyncio.timeout(0.3):
                await asyncpg.connect(dsn)

        outer = await _raised(bounded())
        assert isinstance(outer, TimeoutError)
        assert unavailable_dependency(outer) == DATABASE
    finally:
        server.close()  # type: ignore[attr-defined]

    client = AIOKafkaClient(bootstrap_servers=f"127.0.0.1:{port}", request_timeout_ms=1000)
    try:
        broker = await _raised(client.bootstrap())
    finally:
        await client.close()
    assert unavailable_dependency(broker) == EVENT_BROKER

    async def local_file() -> None:
        open(f"/nonexistent-{port}/x").close()  # noqa: ASYNC230

    assert unavailable_dependency(await _raised(local_file())) is None


DEAD_PORT = web.AppKey("dead_port", int)


@pytest.fixture
async def outage_client() -> AsyncIterator[TestClient]:
    import asyncpg
    from aiokafka import errors as kafka_errors

    port = free_port()  # nothing listens there

    async def database_gone(_: web.Request) -> web.Response:
        await asyncpg.connect(f"postgresql://app:s3cret@127.0.0.1:{port}/printcloud")
        raise AssertionError("unreachable")

    async def connection_lost(_: web.Request) -> web.Response:
        raise asyncpg.exceptions.ConnectionDoesNotExistError(
            "connection was closed in the middle of operation"
        )

    async def broker_gone(_: web.Request) -> web.Response:
        raise kafka_errors.KafkaConnectionError(f"Unable to bootstrap from 127.0.0.1:{port}")

    async def disk_gone(_: web.Request) -> web.Response:
        raise FileNotFoundError(2, "No such file or directory", "/var/lib/printcloud/blob")

    app = web.Application(middlewares=MIDDLEWARES)
    app[AUTHENTICATOR] = OperatorTokenAuthenticator(TOKEN)
    app.router.add_get("/db", database_gone)
    app.router.add_get("/lost", connection_lost)
    app.router.add_get("/broker", broker_gone)
    app.router.add_get("/disk", disk_gone)
    app[DEAD_PORT] = port
    async with TestClient(TestServer(app)) as c:
        yield c


async def test_unreachable_dependency_is_503_with_retry_after(
    outage_client: TestClient, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    assert outage_client.app is not None
    port = outage_client.app[DEAD_PORT]
    for path, named in (
        ("/db", "the database"),
        ("/lost", "the database"),
        ("/broker", "the event broker"),
    ):
        resp = await outage_client.get(path, headers=AUTH)
        assert resp.status == 503, path
        assert int(resp.headers["Retry-After"]) >= 1
        body = await _problem(resp)
        assert body["code"] == "dependency-unavailable"
        assert named in str(body["detail"])
        text = await resp.text()
        for secret in (str(port), "127.0.0.1", "s3cret", "postgresql", "Error", "bootstrap"):
            assert secret not in text, (path, secret)
    out = capsys.readouterr()
    logged = caplog.text + out.out + out.err
    assert logged.count("dependency unavailable") == 3, logged
    assert "Traceback" not in logged, "an outage is one warning line, not a traceback"


async def test_other_failures_stay_500(outage_client: TestClient) -> None:
    resp = await outage_client.get("/disk", headers=AUTH)
    assert resp.status == 500
    assert (await _problem(resp))["code"] == "internal-error"
    assert "Retry-After" not in resp.headers


async def test_start_up_waits_out_an_outage_and_stops_on_request() -> None:
    import asyncio

    import asyncpg

    from shared.dependencies import (
        DATABASE,
        StoppedWhileWaiting,
        Waiting,
        wait_until_available,
    )

    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
        return "pool"

    waiting = Waiting()
    got = await wait_until_available(
        DATABASE, flaky, waiting=waiting, first_delay_s=0.01, max_delay_s=0.02
    )
    assert (got, calls, waiting.dependency) == ("pool", 3, None)

    async def misconfigured() -> None:
        raise asyncpg.exceptions.InvalidPasswordError("password authentication failed")

    with pytest.raises(asyncpg.exceptions.InvalidPasswordError):
        await wait_until_available(DATABASE, misconfigured, first_delay_s=0.01)

    async def down() -> None:
        raise asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already")

    stop = asyncio.Event()
    waiter = asyncio.create_task(
        wait_until_available(DATABASE, down, waiting=waiting, stop=stop, first_delay_s=0.01)
    )
    await asyncio.sleep(0.1)
    assert not waiter.done()
    assert waiting.dependency == DATABASE and waiting.attempts >= 2
    stop.set()
    with pytest.raises(StoppedWhileWaiting):
        await asyncio.wait_for(waiter, 5)
