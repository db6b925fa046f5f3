"""Fuzz the device websocket of a real gateway process with hypothesis.

Every service of ``SERVICES`` runs as its own process on real Kafka and Postgres;
one printer is created in the registry and its credential issued, so fuzzing goes
past the login. Each example is one connection doing one of:

- before login: garbage instead of ``auth`` (invalid JSON, wrong types, unknown
  types, binary, empty, another frame type) -> a fatal ``error`` frame with a code,
  then close 1008;
- after login: a run of frames (invalid JSON, JSON that is not an object, unknown
  types, known types with wrong fields, ``auth`` again, binary, tiny frames, valid
  heartbeats, reports about another device) -> every refused frame answered by an
  ``error`` frame with a code, in order, and the connection stays open;
- a frame larger than the gateway's limit -> close 1009;
- a client that sends but never reads.

After every batch the gateway answers ``/healthz`` 200; at the end its log has no
traceback and its resident memory grew by less than ``--rss-bound-mb``.

Quick: ``python -m bench.fuzz_gateway``             (100 examples)
Long:  ``python -m bench.fuzz_gateway --examples 5000``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.protocols.device import DEVICE_FRAMES, MAX_FRAME_BYTES, Auth
from tests.support.device import TestDevice
from tests.support.platform import Platform, new_tenant, running_platform

POLICY, TOO_BIG = 1008, 1009
ERROR_CODES = {"invalid-frame", "unknown-frame", "text-only", "already-authenticated",
               "not-your-device"}  # fmt: skip
FATAL_CODES = {"auth-required", "invalid-frame", "unknown-device", "device-mismatch",
               "bad-signature", "auth-timeout"}  # fmt: skip
FRAME_TYPES = ["auth", "heartbeat", "capabilities", "status", "command_ack", "job_status"]


# ---------------------------------------------------------------- strategies

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def wrong_fields(draw: Any) -> str:
    """A known frame type with fields of the wrong type, missing or extra."""
    kind = draw(st.sampled_from(FRAME_TYPES[1:]))
    body: dict[str, Any] = {"type": kind}
    body.update(draw(st.dictionaries(
        st.sampled_from(["seq", "state", "capabilities", "command_id", "outcome", "job_id",
                         "reasons", "detail", "device_id", "message", "extra"]),
        json_values, max_size=4,
    )))  # fmt: skip
    return json.dumps(body)


text_frames = st.one_of(
    st.text(max_size=60),  # mostly not JSON
    st.sampled_from(["", " ", "{", "}", "[]", "null", "1", '"x"', "{}", '{"type":null}']),
    json_values.map(json.dumps),
    st.builds(lambda t: json.dumps({"type": t}), st.text(min_size=1, max_size=20)),
    wrong_fields(),
    st.just(json.dumps({"type": "heartbeat", "seq": 1})),
    st.just(json.dumps({"type": "status", "state": "idle", "device_id": str(uuid.uuid4())})),
)
frames = st.one_of(
    text_frames.map(lambda t: ("text", t)),
    st.binary(max_size=64).map(lambda b: ("binary", b)),
    st.just(("auth-again", "")),
)
scenarios = st.one_of(
    st.tuples(st.just("before-login"), frames),
    st.tuples(st.just("after-login"), st.lists(frames, min_size=1, max_size=12)),
    st.tuples(st.just("too-big"), st.sampled_from(["text", "binary"])),
    st.tuples(st.just("no-reader"), st.integers(min_value=200, max_value=2000)),
)


# ---------------------------------------------------------------- what the gateway should do


def expected_refusal(kind: str, data: Any, own: uuid.UUID) -> bool:
    """Whether the gateway must answer this frame (after login) with an error frame."""
    if kind in ("binary", "auth-again"):
        return True
    try:
        frame = DEVICE_FRAMES.validate_json(data)
    except ValidationError:
        return True
    if isinstance(frame, Auth):
        return True
    other = getattr(frame, "device_id", None)
    return other is not None and other != own


@dataclass
class GatewayFuzz:
    """Counts and findings of one run."""

    examples: int = 0
    connections: int = 0
    frames_sent: int = 0
    errors_received: Counter[str] = field(default_factory=Counter)
    closes: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    rss_before_mb: float = 0.0
    rss_after_mb: float = 0.0
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "connections": self.connections,
            "frames_sent": self.frames_sent,
            "errors_received": dict(self.errors_received),
            "closes": dict(self.closes),
            "failures": len(self.failures),
            "rss_before_mb": round(self.rss_before_mb, 1),
            "rss_after_mb": round(self.rss_after_mb, 1),
            "rss_growth_mb": round(self.rss_after_mb - self.rss_before_mb, 1),
            "seconds": round(self.seconds, 1),
        }


def rss_mb(pid: int) -> float:
    """Resident memory of a process (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


class Fuzzer:
    """One gateway, one device, and the checks of each scenario."""

    def __init__(
        self, platform: Platform, device: TestDevice, http: aiohttp.ClientSession, url: str
    ) -> None:
        self.platform = platform
        self.url = url  # the gateway's own websocket, or the edge's in front of it
        self.device = device
        self.http = http
        self.result = GatewayFuzz()

    def fail(self, message: str) -> None:
        if len(self.result.failures) < 50:
            self.result.failures.append(message)

    async def _hello(self, ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        hello = json.loads(msg.data)
        assert hello["type"] == "hello", hello
        return hello  # type: ignore[no-any-return]

    async def _login(self) -> aiohttp.ClientWebSocketResponse:
        ws = await self.http.ws_connect(self.url, max_msg_size=0)
        self.result.connections += 1
        hello = await self._hello(ws)
        await ws.send_json(self.device.auth_frame(hello["nonce"]))
        welcome = json.loads((await ws.receive(timeout=10)).data)
        if welcome.get("type") != "welcome":
            raise AssertionError(f"login refused: {welcome}")
        return ws

    async def _send(self, ws: aiohttp.ClientWebSocketResponse, kind: str, data: Any) -> None:
        self.result.frames_sent += 1
        if kind == "binary":
            await ws.send_bytes(data)
        elif kind == "auth-again":
            await ws.send_json(self.device.auth_frame("x" * 43))
        else:
            await ws.send_str(data)

    async def _next_error(self, ws: aiohttp.ClientWebSocketResponse, what: str) -> dict[str, Any]:
        while True:
            msg = await ws.receive(timeout=10)
            if msg.type != aiohttp.WSMsgType.TEXT:
                self.fail(f"{what}: connection ended instead of an error frame: {msg.type} "
                          f"{msg.data} {msg.extra}")  # fmt: skip
                return {}
            frame = json.loads(msg.data)
            if frame.get("type") in ("command", "notify"):
                continue  # a live frame for the device, not an answer
            if frame.get("type") != "error" or not frame.get("code"):
                self.fail(f"{what}: answer is not an error with a code: {frame}")
            self.result.errors_received[str(frame.get("code"))] += 1
            return frame  # type: ignore[no-any-return]

    async def before_login(self, frame: tuple[str, Any]) -> None:
        async with self.http.ws_connect(self.url) as ws:
            self.result.connections += 1
            await self._hello(ws)
            await self._send(ws, *frame)
            error = await self._next_error(ws, f"before login {frame!r}")
            if error and (not error.get("fatal") or error.get("code") not in FATAL_CODES):
                self.fail(f"before login {frame!r}: not a fatal login error: {error}")
            closed = await ws.receive(timeout=10)
            self.result.closes[str(ws.close_code)] += 1
            if closed.type not in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED) or (
                ws.close_code != POLICY
            ):
                self.fail(f"before login {frame!r}: closed with {ws.close_code}, not {POLICY}")

    async def after_login(self, run: list[tuple[str, Any]]) -> None:
        ws = await self._login()
        try:
            for kind, data in run:
                await self._send(ws, kind, data)
                if expected_refusal(kind, data, self.device.device_id):
                    error = await self._next_error(ws, f"after login {kind} {data!r}")
                    if error and (error.get("fatal") or error.get("code") not in ERROR_CODES):
                        self.fail(f"after login {kind} {data!r}: unexpected error {error}")
            # Still open and in step: a probe is answered.
            await self._send(ws, "text", "{not json")
            probe = await self._next_error(ws, "probe after the run")
            if probe and probe.get("code") != "invalid-frame":
                self.fail(f"probe answered with {probe}")
        finally:
            await ws.close()
            self.result.closes["client"] += 1

    async def too_big(self, kind: str) -> None:
        ws = await self._login()
        try:
            size = MAX_FRAME_BYTES + 1024
            if kind == "text":
                await self._send(ws, "text", json.dumps({"type": "status", "message": "x" * size}))
            else:
                await self._send(ws, "binary", b"\0" * size)
            while True:
                msg = await ws.receive(timeout=10)
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                aiohttp.WSMsgType.CLOSING):  # fmt: skip
                    break
            self.result.closes[str(ws.close_code)] += 1
            if ws.close_code != TOO_BIG:
                self.fail(f"too big {kind}: closed with {ws.close_code}, not {TOO_BIG}")
        finally:
            await ws.close()

    async def no_reader(self, count: int) -> None:
        """Send ``count`` refused frames and never read the answers."""
        ws = await self._login()
        try:
            for _ in range(count):
                if ws.closed:
                    break
                try:
                    await self._send(ws, "text", "[]")
                except ConnectionError:
                    break
        finally:
            await ws.close()
            self.result.closes["no-reader"] += 1

    async def scenario(self, case: tuple[str, Any]) -> None:
        name, arg = case
        self.result.examples += 1
        await getattr(self, name.replace("-", "_"))(arg)

    async def healthy(self) -> None:
        urls = [self.platform.url("gateway")]
        if self.platform.edge is not None:
            urls.append(self.platform.base_url)
        for base in urls:
            async with self.http.get(base + "/healthz") as resp:
                if resp.status != 200:
                    self.fail(f"{base}/healthz answered {resp.status}")


async def printer_device(
    platform: Platform, http: aiohttp.ClientSession, bootstrap: str
) -> TestDevice:
    """A printer in the registry whose credential the gateway knows."""
    tenant = await new_tenant(http, platform)
    body = {"tenant_id": tenant, "name": "Fuzz", "model": "M", "region": "eu-west"}
    resp = await http.post(
        platform.url("registry") + "/v1/printers", json=body, headers=platform.operator
    )
    printer = await resp.json()
    device = TestDevice(uuid.UUID(printer["id"]), uuid.UUID(tenant))
    await device.issue_credential(bootstrap)
    async with asyncio.timeout(60):
        while True:
            ws, answer = await device.connect(http, platform.ws_url)
            await ws.close()
            if answer.get("type") == "welcome":
                return device
            await asyncio.sleep(0.2)


def _fuzz_in_thread(
    fuzzer: Fuzzer, loop: asyncio.AbstractEventLoop, examples: int, run_seed: int, batch: int
) -> None:
    def on_loop(coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=120)

    @seed(run_seed)
    @settings(max_examples=examples, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=scenarios)
    def one(case: tuple[str, Any]) -> None:
        try:
            on_loop(fuzzer.scenario(case))
        except (AssertionError, TimeoutError, aiohttp.ClientError) as exc:
            fuzzer.fail(f"{case[0]} {case[1]!r}: {type(exc).__name__}: {exc}"[:1000])
        if fuzzer.result.examples % batch == 0:
            on_loop(fuzzer.healthy())

    one()


async def run(
    platform: Platform,
    bootstrap: str,
    examples: int,
    run_seed: int = 0,
    batch: int = 20,
    *,
    via_edge: bool = False,
) -> GatewayFuzz:
    """Fuzz the platform's gateway (``via_edge``: through the edge in front of it, which
    must pass every answer on and hold no more memory than the gateway may); returns
    counts and failures. The RSS figures are of the process the fuzzer connects to."""
    started = time.monotonic()
    watched = ["gateway", *(["edge"] if via_edge else [])]
    procs = {n: platform.edge if n == "edge" else platform.processes[n] for n in watched}
    pid = _pid(procs[watched[-1]])
    async with aiohttp.ClientSession() as http:
        device = await printer_device(platform, http, bootstrap)
        url = platform.edge_ws_url if via_edge else platform.ws_url
        fuzzer = Fuzzer(platform, device, http, url)
        fuzzer.result.rss_before_mb = rss_mb(pid)
        loop = asyncio.get_running_loop()
        await asyncio.to_thread(_fuzz_in_thread, fuzzer, loop, examples, run_seed, batch)
        await fuzzer.healthy()
        await asyncio.sleep(1)  # sockets the gateway dropped are released
        fuzzer.result.rss_after_mb = rss_mb(pid)
    for name, proc in procs.items():
        assert proc is not None
        log = proc.log_file.read_text(errors="replace")
        if "Traceback" in log:
            at = log.index("Traceback")
            fuzzer.fail(f"traceback in the {name} log: {log[max(0, at - 300) : at + 1500]}")
        if not proc.is_running():
            fuzzer.fail(f"the {name} process exited")
    fuzzer.result.seconds = time.monotonic() - started
    return fuzzer.result


def _pid(proc: Any) -> int:
    assert proc is not None and proc.proc is not None
    return int(proc.proc.pid)


def print_result(result: GatewayFuzz) -> None:
    print(json.dumps(result.summary(), indent=2))
    for failure in result.failures:
        print(f"FAILURE {failure}")


async def main(args: argparse.Namespace) -> int:
    from shared.testing.infra import start_test_infra

    infra = start_test_infra()
    try:
        with tempfile.TemporaryDirectory(prefix="printcloud-fuzz-") as tmp:
            async with running_platform(
                infra.bootstrap, infra.admin_dsn, Path(tmp), edge=args.via_edge
            ) as platform:
                result = await run(
                    platform, infra.bootstrap, args.examples, args.seed, via_edge=args.via_edge
                )
    finally:
        infra.stop()
    print_result(result)
    growth = result.rss_after_mb - result.rss_before_mb
    return 1 if result.failures or growth > args.rss_bound_mb else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--examples", type=int, default=100, help="connections fuzzed")
    p.add_argument("--seed", type=int, default=uuid.uuid4().int % 2**32, help="hypothesis seed")
    p.add_argument("--rss-bound-mb", type=float, default=50.0, help="allowed RSS growth")
    p.add_argument("--via-edge", action="store_true", help="connect through the public edge")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
