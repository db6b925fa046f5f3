"""Device websockets held by ONE gateway process: memory, idle CPU, command latency.

Real processes on this machine, all on loopback: a Kafka broker, a Postgres
server, a registry process, one gateway process and ``--client-procs`` client
processes (this module with ``--client``) that together hold ``--connections``
authenticated device websockets.

1. Every device gets an Ed25519 key; its ``DeviceCredentialIssued`` event is
   published in bulk before the gateway starts, so the gateway is ready only
   once it has loaded them all. Every device is also a printer row in the
   registry, because the gateway reads the device's pending commands from the
   registry when it connects (and drops the socket if that read fails): the
   ``--command-devices`` printers that receive commands are created through the
   registry's HTTP API, the others are bulk-inserted with COPY (a bench shortcut).
2. Clients connect at ``--rate`` connections/s in total (hello, signed auth,
   welcome), each process from its own source address (127.0.0.2, .3, ...), then
   send a ``heartbeat`` frame every ``--heartbeat-s`` and hold.
3. Measured: connections held (clients, and the gateway's
   ``printcloud_gateway_connections``), gateway RSS before/after and per
   connection, gateway CPU over ``--idle-seconds`` of heartbeats, then the
   latency of ``--commands`` commands issued through the registry's HTTP API,
   from the POST's response to the command frame arriving at the device.

The gateway's open-file limit (RLIMIT_NOFILE, 20,000 on the bench machine) caps
one process below the 50,000-connection target; the run says so.

Quick: ``python -m bench.gateway_connections``  (2,000 connections)
Big:   ``python -m bench.gateway_connections --connections 19000 --client-procs 4``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import math
import os
import random
import resource
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric import ed25519

from bench.results import write_result
from services.registry.app import SPEC as REGISTRY
from shared.crypto.encoding import b64url_encode
from shared.crypto.keys import fingerprint, spki_der
from shared.crypto.signatures import sign
from shared.events.contracts.auth import DeviceCredentialIssued
from shared.events.envelope import new_envelope
from shared.http.identities import new_service_token, token_digest
from shared.infra.database import create_database, prepare_service, with_database
from shared.infra.kafka import free_port
from shared.infra.processes import ServiceProcess
from shared.kafka.access import KafkaAccess
from shared.kafka.admin import ensure_topics
from shared.kafka.topics import TOPICS
from shared.protocols.device import auth_message

TARGET_CONNECTIONS = 50_000
TARGET_KIB_PER_CONNECTION = 20
TARGET_P99_MS = 20
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ====================================================================== client role


@dataclass(eq=False)
class _Conn:
    device_id: str
    ws: aiohttp.ClientWebSocketResponse
    closed: bool = False


@dataclass
class _ClientState:
    conns: list[_Conn] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    closes: Counter[str] = field(default_factory=Counter)
    arrivals: list[tuple[str, str, float, float | None]] = field(default_factory=list)
    heartbeats_sent: int = 0
    heartbeat_errors: int = 0


def _emit(msg: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def _failure_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"http-{exc.status}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connect-{errno.errorcode.get(exc.os_error.errno or 0, exc.os_error.errno)}"
    if isinstance(exc, OSError):
        return f"os-{errno.errorcode.get(exc.errno or 0, exc.errno)}"
    return type(exc).__name__


async def _read_loop(conn: _Conn, state: _ClientState) -> None:
    ws = conn.ws
    try:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            if frame.get("type") == "command":
                sent_at = frame.get("payload", {}).get("sent_at")
                state.arrivals.append((frame["command_id"], conn.device_id, time.time(), sent_at))
    except Exception as exc:
        state.closes[f"reader-{type(exc).__name__}"] += 1
    else:
        state.closes[f"close-{ws.close_code}"] += 1
    conn.closed = True


async def _connect_one(
    http: aiohttp.ClientSession,
    url: str,
    device: list[str],
    state: _ClientState,
    readers: set[asyncio.Task[None]],
) -> None:
    device_id, _tenant, private_hex = device
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(private_hex))
    ws: aiohttp.ClientWebSocketResponse | None = None
    try:
        ws = await http.ws_connect(url, autoping=True, max_msg_size=0)
        hello = await ws.receive(timeout=30)
        if hello.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"no hello: {hello.type.name}")
        nonce = json.loads(hello.data)["nonce"]
        der = spki_der(key.public_key())
        auth = {
            "type": "auth", "protocol": 1, "fingerprint": fingerprint(der),
            "signature": b64url_encode(sign(key, auth_message(nonce))), "device_id": device_id,
            "agent": "bench",
        }  # fmt: skip
        await ws.send_str(json.dumps(auth))
        answer = await ws.receive(timeout=30)
        if answer.type != aiohttp.WSMsgType.TEXT:
            state.failures[f"closed-before-welcome-{ws.close_code}"] += 1
            await ws.close()
            return
        frame = json.loads(answer.data)
        if frame.get("type") != "welcome":
            state.failures[f"refused-{frame.get('code', frame.get('type'))}"] += 1
            await ws.close()
            return
    except Exception as exc:
        state.failures[_failure_reason(exc)] += 1
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        return
    conn = _Conn(device_id, ws)
    state.conns.append(conn)
    task = asyncio.create_task(_read_loop(conn, state))
    readers.add(task)
    task.add_done_callback(readers.discard)


async def _heartbeats(state: _ClientState, interval: float, stop: asyncio.Event) -> None:
    """Each held connection sends one heartbeat per ``interval``, spread evenly."""
    tick, i, seq = 0.1, 0, 0
    while not stop.is_set():
        conns = state.conns
        per_tick = math.ceil(len(conns) * tick / interval) if conns else 0
        for _ in range(min(per_tick, len(conns))):
            conn = conns[i % len(conns)]
            i += 1
            if conn.closed:
                continue
            try:
                await conn.ws.send_str(f'{{"type":"heartbeat","seq":{seq}}}')
                state.heartbeats_sent += 1
            except Exception:
                state.heartbeat_errors += 1
        seq += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), tick)


async def client_main(cfg: dict[str, Any]) -> None:
    """One client process: connect its devices, hold them, answer the driver's requests."""
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit[1], limit[1]))
    state = _ClientState()
    stop = asyncio.Event()
    readers: set[asyncio.Task[None]] = set()
    connector = aiohttp.TCPConnector(limit=0, local_addr=(cfg["source_ip"], 0))
    async with aiohttp.ClientSession(connector=connector) as http:
        beat = asyncio.create_task(_heartbeats(state, cfg["heartbeat_s"], stop))
        started = time.monotonic()
        gate = asyncio.Semaphore(cfg["in_flight"])
        pending: set[asyncio.Task[None]] = set()

        async def one(device: list[str]) -> None:
            async with gate:
                await _connect_one(http, cfg["url"], device, state, readers)

        for n, device in enumerate(cfg["devices"]):
            delay = started + n / cfg["rate"] - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(device))
            pending.add(task)
            task.add_done_callback(pending.discard)
        while pending:
            await asyncio.gather(*list(pending))
        commanded = set(cfg["command_devices"])
        _emit(
            {
                "event": "ramped",
                "connected": len(state.conns),
                "failures": dict(state.failures),
                "ramp_s": round(time.monotonic() - started, 3),
                "command_devices": [c.device_id for c in state.conns if c.device_id in commanded],
            }
        )
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            request = line.strip()
            if request == "report":
                _emit(
                    {
                        "event": "report",
                        "held": sum(not c.closed for c in state.conns),
                        "connected": len(state.conns),
                        "failures": dict(state.failures),
                        "closes": dict(state.closes),
                        "heartbeats_sent": state.heartbeats_sent,
                        "heartbeat_errors": state.heartbeat_errors,
                        "arrivals": state.arrivals,
                    }
                )
            elif request in ("stop", ""):
                break
        stop.set()
        await beat
    # The sockets go with the process: the gateway sees them all end at once.
    os._exit(0)


# ====================================================================== driver role


@dataclass
class _Device:
    device_id: uuid.UUID
    tenant_id: uuid.UUID
    key: ed25519.Ed25519PrivateKey

    def private_hex(self) -> str:
        return self.key.private_bytes_raw().hex()


class _Client:
    """A client process and its stdout of JSON lines."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def next(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"client {self.proc.pid} exited ({self.proc.returncode})")
        return dict(json.loads(line))

    async def ask(self, request: str, timeout: float = 60) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{request}\n".encode())
        await self.proc.stdin.drain()
        return await self.next(timeout)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                assert self.proc.stdin is not None
                self.proc.stdin.write(b"stop\n")
                await self.proc.stdin.drain()
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


def _proc_stat(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kib = next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmRSS:"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return {"rss_kib": rss_kib, "cpu_s": cpu_s, "fds": fds, "at": time.monotonic()}


def _nofile_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def _gateway_metrics(http: aiohttp.ClientSession, port: int) -> dict[str, float]:
    async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
        text = await resp.text()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("printcloud_gateway_connections "):
            out["connections"] = float(line.split()[1])
        elif line.startswith('printcloud_gateway_frames_in_total{type="heartbeat"}'):
            out["heartbeats_in"] = float(line.split()[1])
        elif line.startswith("printcloud_gateway_commands_sent_total "):
            out["commands_sent"] = float(line.split()[1])
        elif line.startswith("printcloud_gateway_refused_total{"):
            out["refused"] = out.get("refused", 0.0) + float(line.split()[1])
    return out


async def _publish_credentials(kafka: KafkaAccess, devices: list[_Device]) -> float:
    started = time.monotonic()
    producer = AIOKafkaProducer(
        **kafka.client_options(), linger_ms=20, max_batch_size=256 * 1024, acks="all"
    )
    await producer.start()
    try:
        now = datetime.now(UTC)
        for dev in devices:
            der = spki_der(dev.key.public_key())
            data = DeviceCredentialIssued(
                device_id=dev.device_id, tenant_id=dev.tenant_id, fingerprint=fingerprint(der),
                subject_type="printer", subject_id=dev.device_id, public_key=b64url_encode(der),
                key_algorithm="ed25519", issued_at=now,
            )  # fmt: skip
            env = new_envelope(data, source="auth", tenant_id=dev.tenant_id)
            await producer.send(data.topic, env.to_bytes(), key=env.key.encode())
        await producer.flush()
    finally:
        await producer.stop()
    return time.monotonic() - started


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _summary_ms(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ms = [v * 1000 for v in values]
    return {
        "p50": round(statistics.median(ms), 2),
        "p99": round(_percentile(ms, 0.99), 2),
        "max": round(max(ms), 2),
        "mean": round(statistics.fmean(ms), 2),
    }


async def _sum_reports(clients: list[_Client]) -> dict[str, Any]:
    reports = [await c.ask("report") for c in clients]
    total: dict[str, Any] = {"held": 0, "connected": 0, "heartbeats_sent": 0, "arrivals": []}
    failures: Counter[str] = Counter()
    closes: Counter[str] = Counter()
    for r in reports:
        for k in ("held", "connected", "heartbeats_sent"):
            total[k] += r[k]
        total["arrivals"].extend(r["arrivals"])
        failures.update(r["failures"])
        closes.update(r["closes"])
    total["failures"], total["closes"] = dict(failures), dict(closes)
    return total


async def run(infra: Any, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """One benchmark run on existing infra (Kafka + Postgres); returns the results."""
    t0 = time.monotonic()
    phases: dict[str, float] = {}
    token = "op-" + secrets.token_hex(16)
    auth = {"Authorization": f"Bearer {token}"}
    gateway_token = new_service_token("gateway")  # the gateway calls the registry as itself
    n, procs_n = args.connections, args.client_procs
    if math.ceil(n / procs_n) >= 19_000:
        raise SystemExit("each client process must hold fewer than 19,000 sockets")

    await ensure_topics(infra.kafka, TOPICS)
    database = f"bench_gw_{secrets.token_hex(3)}"
    await create_database(infra.admin_dsn, database)
    schema = f"registry_{secrets.token_hex(3)}"
    reg_dsn = await prepare_service(
        with_database(infra.admin_dsn, database), schema, REGISTRY.migrations_dir
    )
    reg_port, gw_port = free_port(), free_port()
    registry = ServiceProcess(
        "registry",
        "services.registry",
        {
            "PRINTCLOUD_REGISTRY_DATABASE_URL": reg_dsn,
            "PRINTCLOUD_REGISTRY_DB_SCHEMA": schema,
            **infra.access("registry").environment("PRINTCLOUD_REGISTRY_"),
            "PRINTCLOUD_REGISTRY_HTTP_PORT": str(reg_port),
            "PRINTCLOUD_REGISTRY_OPERATOR_TOKEN": token,
            "PRINTCLOUD_REGISTRY_SERVICE_IDENTITIES": json.dumps(
                {"gateway": token_digest(gateway_token)}
            ),
            "PRINTCLOUD_REGISTRY_SHUTDOWN_GRACE_S": "0",
            "PRINTCLOUD_REGISTRY_LOG_LEVEL": "WARNING",
        },
        workdir / "registry.log",
        reg_port,
    )
    gateway = ServiceProcess(
        "gateway",
        "services.gateway",
        {
            **infra.access("gateway").environment("PRINTCLOUD_GATEWAY_"),
            "PRINTCLOUD_GATEWAY_HTTP_PORT": str(gw_port),
            "PRINTCLOUD_GATEWAY_SERVICE_TOKEN": gateway_token,
            "PRINTCLOUD_GATEWAY_REGISTRY_URL": f"http://127.0.0.1:{reg_port}",
            "PRINTCLOUD_GATEWAY_INSTANCE": "gw-bench",
            "PRINTCLOUD_GATEWAY_SHUTDOWN_GRACE_S": "0",
            "PRINTCLOUD_GATEWAY_LOG_LEVEL": "WARNING",
            "PRINTCLOUD_GATEWAY_HEARTBEAT_INTERVAL_S": str(args.gateway_heartbeat_s),
            "PRINTCLOUD_GATEWAY_IDLE_TIMEOUT_S": str(args.idle_timeout_s),
        },
        workdir / "gateway.log",
        gw_port,
    )
    clients: list[_Client] = []
    try:
        registry.start()
        await asyncio.to_thread(registry.wait_ready)
        phases["registry_ready_s"] = time.monotonic() - t0

        # ------------------------------------------------ devices: printers + keys
        started = time.monotonic()
        m = min(args.command_devices, n)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{reg_port}", headers=auth) as api:
            resp = await api.post("/v1/tenants", json={"name": f"bench-{secrets.token_hex(3)}"})
            resp.raise_for_status()
            tenant_id = uuid.UUID((await resp.json())["id"])
            devices: list[_Device] = []
            for i in range(m):
                body = {"tenant_id": str(tenant_id), "name": f"cmd-{i}", "model": "M",
                        "region": "eu-west"}  # fmt: skip
                resp = await api.post("/v1/printers", json=body)
                resp.raise_for_status()
                printer_id = uuid.UUID((await resp.json())["id"])
                devices.append(_Device(printer_id, tenant_id, ed25519.Ed25519PrivateKey.generate()))
        rest = [
            _Device(uuid.uuid4(), tenant_id, ed25519.Ed25519PrivateKey.generate())
            for _ in range(n - m)
        ]
        conn = await asyncpg.connect(reg_dsn)
        try:
            await conn.copy_records_to_table(
                "printers",
                schema_name=schema,
                columns=["id", "tenant_id", "name", "model", "region"],
                records=[(d.device_id, tenant_id, f"p-{i}", "M", "eu-west") for i, d in
                         enumerate(rest)],
            )  # fmt: skip
        finally:
            await conn.close()
        devices.extend(rest)
        command_ids = [str(d.device_id) for d in devices[:m]]
        phases["printers_s"] = time.monotonic() - started
        phases["credentials_publish_s"] = await _publish_credentials(infra.kafka, devices)

        # ------------------------------------------------ the gateway, ready = keys loaded
        started = time.monotonic()
        gateway.start()
        await asyncio.to_thread(gateway.wait_ready, 120)
        phases["gateway_ready_s"] = time.monotonic() - started
        assert gateway.proc is not None
        gw_pid = gateway.proc.pid
        nofile = _nofile_limit(gw_pid)
        await asyncio.sleep(1)
        before = _proc_stat(gw_pid)

        # ------------------------------------------------ clients ramp up
        shares = [devices[j::procs_n] for j in range(procs_n)]
        started = time.monotonic()
        for j, share in enumerate(shares):
            cfg = {
                "url": f"ws://127.0.0.1:{gw_port}/v1/devices/ws",
                "source_ip": f"127.0.0.{2 + j}",
                "rate": args.rate / procs_n,
                "in_flight": args.in_flight,
                "heartbeat_s": args.heartbeat_s,
                "devices": [[str(d.device_id), str(d.tenant_id), d.private_hex()] for d in share],
                "command_devices": command_ids,
            }
            path = workdir / f"client-{j}.json"
            path.write_text(json.dumps(cfg))
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.gateway_connections", "--client", str(path),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=(workdir / f"client-{j}.log").open("ab"),
                limit=64 * 1024 * 1024,
            )  # fmt: skip
            clients.append(_Client(proc))
        ramp_budget = n / args.rate + 120
        ramped = [await c.next(ramp_budget) for c in clients]
        ramp_s = time.monotonic() - started
        phases["ramp_s"] = ramp_s
        connect_failures: Counter[str] = Counter()
        for r in ramped:
            connect_failures.update(r["failures"])
        connected = sum(r["connected"] for r in ramped)
        connected_commanded = [d for r in ramped for d in r["command_devices"]]

        async with aiohttp.ClientSession(headers=auth) as http:
            # settle: the gateway's per-connect work (registry read, Kafka publish) drains
            deadline = time.monotonic() + args.settle_timeout
            gauge = (await _gateway_metrics(http, gw_port)).get("connections", 0)
            while gauge < connected and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                gauge = (await _gateway_metrics(http, gw_port)).get("connections", 0)
            await asyncio.sleep(args.settle_s)
            held_stat = _proc_stat(gw_pid)

            # ------------------------------------------------ idle window with heartbeats
            m0, c0 = await _gateway_metrics(http, gw_port), _proc_stat(gw_pid)
            await asyncio.sleep(args.idle_seconds)
            m1, c1 = await _gateway_metrics(http, gw_port), _proc_stat(gw_pid)
            window = c1["at"] - c0["at"]
            cpu_pct = 100 * (c1["cpu_s"] - c0["cpu_s"]) / window
            hb_rate = (m1.get("heartbeats_in", 0) - m0.get("heartbeats_in", 0)) / window

            # ------------------------------------------------ commands
            issued: dict[str, tuple[str, float, float]] = {}
            post_ms: list[float] = []
            if args.commands and not connected_commanded:
                raise RuntimeError("no command device connected; cannot issue commands")
            rng = random.Random(args.seed)
            pace = 1 / args.command_rate
            cmd_started = time.monotonic()
            for k in range(args.commands):
                target = rng.choice(connected_commanded)
                sent_at = time.time()
                async with http.post(
                    f"http://127.0.0.1:{reg_port}/v1/devices/{target}/commands",
                    json={"name": "bench", "payload": {"sent_at": sent_at, "seq": k}},
                ) as resp:
                    resp.raise_for_status()
                    command_id = (await resp.json())["command_id"]
                returned = time.time()
                post_ms.append((returned - sent_at) * 1000)
                issued[command_id] = (target, sent_at, returned)
                delay = cmd_started + (k + 1) * pace - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            deadline = time.monotonic() + args.command_timeout
            while True:
                totals = await _sum_reports(clients)
                got = {a[0] for a in totals["arrivals"]}
                if issued.keys() <= got or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            final_metrics = await _gateway_metrics(http, gw_port)
        after = _proc_stat(gw_pid)

        arrivals = totals["arrivals"]
        counts = Counter(a[0] for a in arrivals)
        wrong_device = sum(1 for a in arrivals if a[0] in issued and issued[a[0]][0] != a[1])
        after_post = [a[2] - issued[a[0]][2] for a in arrivals if a[0] in issued]
        after_sent = [a[2] - a[3] for a in arrivals if a[0] in issued and a[3] is not None]
        held = totals["held"]
        grown_kib = held_stat["rss_kib"] - before["rss_kib"]
        result: dict[str, Any] = {
            "connections_requested": n,
            "client_procs": procs_n,
            "rate_per_s": args.rate,
            "connected": connected,
            "connect_failures": dict(connect_failures),
            "held_at_end": held,
            "closed_after_welcome": totals["closes"],
            "gateway_connections_metric": final_metrics.get("connections"),
            "gateway_connections_metric_before_idle": gauge,
            "ramp_s": round(ramp_s, 2),
            "connections_per_s": round(connected / ramp_s, 1) if ramp_s else None,
            "gateway_rss_kib": {
                "before": before["rss_kib"],
                "held": held_stat["rss_kib"],
                "after_commands": after["rss_kib"],
            },
            "rss_per_connection_kib": round(grown_kib / held, 2) if held else None,
            "gateway_fds": {"before": before["fds"], "held": held_stat["fds"]},
            "gateway_nofile_limit": nofile,
            "idle_window_s": round(window, 1),
            "idle_cpu_pct_of_one_core": round(cpu_pct, 2),
            "heartbeats_per_s": round(hb_rate, 1),
            "cpu_us_per_heartbeat": round(1e6 * (c1["cpu_s"] - c0["cpu_s"]) / (hb_rate * window), 1)
            if hb_rate
            else None,
            "commands_issued": len(issued),
            "commands_received": len([c for c in counts if c in issued]),
            "commands_duplicated": sum(1 for c in issued if counts.get(c, 0) > 1),
            "commands_missing": sum(1 for c in issued if counts.get(c, 0) == 0),
            "commands_wrong_device": wrong_device,
            "command_latency_ms_after_post": _summary_ms(after_post),
            "command_latency_ms_from_sent_at": _summary_ms(after_sent),
            "post_ms": _summary_ms([v / 1000 for v in post_ms]),
            "phases_s": {k: round(v, 2) for k, v in phases.items()},
            "wall_s": round(time.monotonic() - t0, 1),
        }
        result["all_connected"] = connected == n and held == n
        result["commands_exactly_once"] = (
            len(issued) == args.commands
            and result["commands_missing"] == 0
            and result["commands_duplicated"] == 0
            and wrong_device == 0
        )
        result["note"] = (
            f"gateway RLIMIT_NOFILE = {nofile}: one process holds at most ~{nofile - 50} "
            f"device sockets, below the {TARGET_CONNECTIONS:,} target"
        )
        return result
    finally:
        for c in clients:
            await c.stop()
        gateway.terminate(timeout=30)
        registry.terminate(timeout=30)


# ====================================================================== CLI


def print_summary(r: dict[str, Any]) -> None:
    """A human-readable table of one run."""
    lat, lat2 = r["command_latency_ms_after_post"], r["command_latency_ms_from_sent_at"]
    rows = [
        ("connections requested", f"{r['connections_requested']:,}"),
        ("connected / held at end", f"{r['connected']:,} / {r['held_at_end']:,}"),
        ("gateway metric connections", f"{r['gateway_connections_metric']}"),
        ("connect failures", json.dumps(r["connect_failures"]) or "{}"),
        ("ramp", f"{r['ramp_s']} s ({r['connections_per_s']} conn/s)"),
        ("gateway RSS before -> held", "{before:,} -> {held:,} KiB".format(**r["gateway_rss_kib"])),
        ("RSS per connection", f"{r['rss_per_connection_kib']} KiB"),
        ("idle CPU (heartbeats)", f"{r['idle_cpu_pct_of_one_core']} % of one core over "
         f"{r['idle_window_s']} s, {r['heartbeats_per_s']} heartbeats/s, "
         f"{r['cpu_us_per_heartbeat']} us/heartbeat"),
        ("commands issued / received", f"{r['commands_issued']} / {r['commands_received']} "
         f"(dup {r['commands_duplicated']}, missing {r['commands_missing']})"),
        ("latency after POST p50/p99/max", "{} / {} / {} ms".format(
            lat.get("p50"), lat.get("p99"), lat.get("max"))),
        ("latency from sent_at p50/p99/max", "{} / {} / {} ms".format(
            lat2.get("p50"), lat2.get("p99"), lat2.get("max"))),
        ("gateway open-file limit", f"{r['gateway_nofile_limit']:,}"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print(r["note"])


async def main(args: argparse.Namespace) -> dict[str, Any]:
    """Start infra, run once, stop infra, write the JSON and print the table."""
    from shared.testing.infra import start_test_infra

    infra = start_test_infra()
    try:
        with tempfile.TemporaryDirectory(prefix="printcloud-bench-gw-") as tmp:
            result = await asyncio.wait_for(run(infra, args, Path(tmp)), args.timeout)
    finally:
        infra.stop()
    out = write_result("gateway", {"args": vars(args), **result})
    print_summary(result)
    print(f"written {out}")
    return result


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The benchmark's options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--connections", type=int, default=2000)
    p.add_argument("--client-procs", type=int, default=2)
    p.add_argument("--commands", type=int, default=200)
    p.add_argument("--command-devices", type=int, default=50, help="printers created via API")
    p.add_argument("--command-rate", type=float, default=50, help="commands/s issued")
    p.add_argument("--rate", type=float, default=500, help="connections/s (all clients)")
    p.add_argument("--in-flight", type=int, default=100, help="handshakes per client process")
    p.add_argument("--heartbeat-s", type=float, default=10, help="device heartbeat interval")
    p.add_argument("--gateway-heartbeat-s", type=float, default=30, help="websocket pings")
    p.add_argument("--idle-timeout-s", type=float, default=120)
    p.add_argument("--idle-seconds", type=float, default=20, help="CPU measurement window")
    p.add_argument("--settle-s", type=float, default=3)
    p.add_argument("--settle-timeout", type=float, default=60)
    p.add_argument("--command-timeout", type=float, default=30)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=900, help="whole run")
    p.add_argument("--client", metavar="CONFIG", help=argparse.SUPPRESS)
    return p.parse_args(argv)


if __name__ == "__main__":
    _args = parse()
    if _args.client:
        asyncio.run(client_main(json.loads(Path(_args.client).read_text())))
    else:
        _result = asyncio.run(main(_args))
        if not (_result["all_connected"] and _result["commands_exactly_once"]):
            raise SystemExit("not every device connected or not every command arrived once")
