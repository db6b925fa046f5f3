"""A real single-node Apache Kafka broker (KRaft, combined broker+controller) for dev and tests.

The broker's jars are resolved once per machine from Maven Central with
``deploy/kafka/pom.xml`` into :func:`cache_dir`, then the broker runs as a plain
``java -cp "<libs>/*" kafka.Kafka server.properties`` child process. No Docker,
no Kafka distribution tarball.

Typical use::

    broker = KafkaBroker(data_dir=tmp / "kafka", port=free_port(),
                         controller_port=free_port(), log_file=tmp / "kafka.log")
    broker.start()          # blocks until a Metadata request succeeds
    ...                     # use broker.bootstrap
    broker.stop()

``start``/``stop``/``kill`` are blocking; from async code call them through
``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from shared.infra.tls import ServerTls, ensure_server_tls
from shared.kafka.access import SASL_MECHANISM, KafkaAccess
from shared.kafka.acls import ADMIN_USER, KAFKA_USERS

KAFKA_VERSION = "4.1.1"

_REPO_ROOT = Path(__file__).resolve().parents[2]
_POM = _REPO_ROOT / "deploy" / "kafka" / "pom.xml"
_LOG4J_CONFIG = _REPO_ROOT / "deploy" / "kafka" / "log4j2.properties"
_MARKER = ".printcloud-complete"
_BROKER_MAIN = "kafka.Kafka"
_STORAGE_TOOL = "kafka.tools.StorageTool"
_CONFIG_TOOL = "kafka.admin.ConfigCommand"
_BROKER_CN = "printcloud-broker"
_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"

_T = TypeVar("_T")


class InfraError(RuntimeError):
    """Local infrastructure could not be prepared, started or stopped.

    The message says what failed and what to do about it, and includes the tail of
    the relevant log when there is one.
    """


# --------------------------------------------------------------------------- helpers


def cache_dir() -> Path:
    """Machine-wide cache for downloaded artifacts: ``$PRINTCLOUD_CACHE_DIR`` or
    ``~/.cache/printcloud``."""
    env = os.environ.get("PRINTCLOUD_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "printcloud"


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_port_range(count: int = 1) -> int:
    """The first of ``count`` consecutive loopback ports free right now, chosen below
    the ephemeral range (32768+) where client sockets take their ports, so that a
    server started on it a moment later does not find it taken by a connection."""
    for _ in range(50):
        base = secrets.randbelow(10000) + 21000
        try:
            with contextlib.ExitStack() as stack:
                for port in range(base, base + count):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError(f"no {count} consecutive free ports")


def run_blocking(factory: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run the coroutine made by ``factory`` to completion from synchronous code.

    Uses ``asyncio.run`` directly, or a short-lived worker thread when the calling
    thread already runs an event loop (e.g. a sync call made from an async test).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="infra") as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a (possibly large or missing) text log file."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode("utf-8", "replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(data.splitlines()[-lines:])


def pid_alive(pid: int) -> bool:
    """True if process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs (macOS) or raced with exit; kill(0) said it exists
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _cmdline_contains(pid: int, needle: str) -> bool:
    """Whether the command line of ``pid`` mentions ``needle`` (True when unknowable)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    except OSError:
        return True
    return needle in raw.decode("utf-8", "replace")


def _wait_gone(pid: int, proc: subprocess.Popen[bytes] | None, timeout: float) -> bool:
    """Wait until ``pid`` exited (reaping it if it is our child). True if it did."""
    if proc is not None:
        try:
            proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``fcntl.flock`` on ``path`` (created if missing), held in the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _write_owner_only(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (it holds a password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def _java() -> str:
    """Path of the ``java`` executable ($JAVA_HOME/bin/java, else PATH)."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise InfraError(
            "Java is not installed or not on PATH. Kafka 4.x needs Java 17 or newer: "
            "install it (e.g. `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME."
        )
    return found


# --------------------------------------------------------------------------- jars


def ensure_kafka_jars(version: str = KAFKA_VERSION) -> Path:
    """Resolve the broker's runtime jars into ``<cache>/kafka-<version>/libs`` once.

    Runs ``mvn dependency:copy-dependencies`` on ``deploy/kafka/pom.xml`` unless the
    libs directory holds a completion marker written for the same version and pom
    contents (so editing the pom re-resolves). Concurrent callers, in this or other
    processes, serialise on a file lock; only the first one downloads. Returns the
    libs directory.
    """
    if not _POM.is_file():
        raise InfraError(
            f"{_POM} is missing; ensure_kafka_jars() must run from a Printcloud checkout."
        )
    base = cache_dir() / f"kafka-{version}"
    libs = base / "libs"
    marker = libs / _MARKER
    expected = f"kafka={version}\npom-sha256={hashlib.sha256(_POM.read_bytes()).hexdigest()}\n"

    def complete() -> bool:
        try:
            return marker.read_text() == expected
        except OSError:
            return False

    if complete():
        return libs
    with _file_lock(base.parent / f"kafka-{version}.lock"):
        if complete():  # another process finished while we waited for the lock
            return libs
        mvn = shutil.which("mvn")
        if not mvn:
            raise InfraError(
                "Maven (`mvn`) is not on PATH; it is needed once to download the Kafka "
                f"{version} jars into {libs}. Install Maven 3.8+ (e.g. `apt-get install "
                "maven`) and make sure Maven Central is reachable, then retry."
            )
        if libs.exists():  # partial or stale (older pom) download: start clean
            shutil.rmtree(libs)
        libs.mkdir(parents=True)
        cmd = [
            mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(_POM),
            "dependency:copy-dependencies", "-DincludeScope=runtime",
            f"-DoutputDirectory={libs}", f"-Dkafka.version={version}",
        ]  # fmt: skip
        try:
            result = subprocess.run(
                cmd, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired as exc:
            raise InfraError(
                f"`{' '.join(cmd)}` did not finish within 15 minutes. Check network access "
                "to Maven Central (or your mirror in ~/.m2/settings.xml) and retry."
            ) from exc
        output = (result.stdout + result.stderr).strip()
        tail = "\n".join(output.splitlines()[-30:])
        if result.returncode != 0:
            raise InfraError(
                f"Resolving the Kafka {version} jars with Maven failed (exit "
                f"{result.returncode}). Check network access to Maven Central (or the "
                "mirror in ~/.m2/settings.xml) and that the version exists, then retry.\n"
                f"Command: {' '.join(cmd)}\n--- mvn output (tail) ---\n{tail}"
            )
        if not (libs / f"kafka_2.13-{version}.jar").is_file():
            raise InfraError(
                f"Maven succeeded but {libs} has no kafka_2.13-{version}.jar; check "
                f"{_POM}.\n--- mvn output (tail) ---\n{tail}"
            )
        marker.write_text(expected)
    return libs


# --------------------------------------------------------------------------- broker


def _random_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, url-safe base64 without padding."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):  # Kafka's Uuid.randomUuid() avoids these too
            return cid


async def _broker_ready(access: KafkaAccess) -> bool:
    """One readiness probe: a real Metadata request that lists at least one broker."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    admin = AIOKafkaAdminClient(
        **access.client_options(), client_id="printcloud-infra-probe", request_timeout_ms=5000
    )
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        return bool(cluster.get("brokers"))
    except (TimeoutError, KafkaError, OSError):
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


def _port_open(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _startup_report(log_file: Path) -> str:
    """The errors of the latest start attempt in ``log_file`` plus its last lines, with a
    hint for well-known failure signatures."""
    text = log_tail(log_file, lines=5000)
    text = text.rsplit("=== printcloud: starting", 1)[-1]
    lines = text.splitlines()
    errors = [ln for ln in lines if any(k in ln for k in ("ERROR", "FATAL", "Caused by:"))]
    report = ""
    if errors:
        report += "--- errors ---\n" + "\n".join(errors[:15]) + "\n"
    report += "--- last lines ---\n" + "\n".join(lines[-12:])
    return f"{_hint(text)}\nLog {log_file}:\n{report}"


def _hint(tail: str) -> str:
    """A suggestion for well-known failure signatures in a Kafka log tail."""
    if "UnsupportedClassVersionError" in tail:
        return " Kafka 4.x needs Java 17+: point JAVA_HOME at a newer JDK."
    if "Address already in use" in tail or "BindException" in tail:
        return " A port is already in use: pick other ports (see free_port())."
    if "Failed to acquire lock" in tail:
        return " Another Kafka process uses this data_dir: stop it or use another data_dir."
    return ""


@dataclass
class KafkaBroker:
    """A single-node KRaft Kafka broker+controller running as a local ``java`` process.

    ``data_dir`` holds ``server.properties``, ``broker.pid``, the log dirs
    (``<data_dir>/logs``), the broker's TLS material (``<data_dir>/tls``) and the
    passwords of its users (``credentials.json``, owner-only), and survives restarts,
    including after :meth:`kill`. ``log_file`` receives the broker's log4j output and
    its stdout/stderr.

    Clients connect with ``SASL_SSL`` only (``SCRAM-SHA-512``; ``PLAIN`` too, for tools
    whose SCRAM predates Kafka 4), as one user per entry of
    :data:`shared.kafka.acls.KAFKA_USERS` plus the super user ``admin``; the
    authorizer refuses whatever no ACL allows. The controller listener is TLS with
    client certificates, reachable by the broker's own certificate only.
    :meth:`access` gives a user's connection options.
    """

    data_dir: Path
    port: int
    controller_port: int
    heap_mb: int = 512
    log_file: Path = field(kw_only=True)
    _proc: subprocess.Popen[bytes] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        self.log_file = Path(self.log_file).resolve()

    # ---- paths and state

    @property
    def bootstrap(self) -> str:
        """The ``bootstrap_servers`` string for clients: ``127.0.0.1:<port>``."""
        return f"127.0.0.1:{self.port}"

    @property
    def _props_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def _pid_file(self) -> Path:
        return self.data_dir / "broker.pid"

    @property
    def _log_dirs(self) -> Path:
        return self.data_dir / "logs"

    @property
    def credentials_file(self) -> Path:
        """The users' passwords (JSON, readable by its owner only)."""
        return self.data_dir / "credentials.json"

    @property
    def tls(self) -> ServerTls:
        """The broker's CA and certificate, made on first use."""
        return ensure_server_tls(self.data_dir / "tls", _BROKER_CN, ["127.0.0.1", "localhost"])

    def _load_credentials(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.credentials_file.read_text())
        except FileNotFoundError:
            data = {"users": {}, "registered": []}
        return data

    def _save_credentials(self, data: dict[str, Any]) -> None:
        _write_owner_only(self.credentials_file, json.dumps(data, indent=2))

    def credentials(self) -> dict[str, str]:
        """Every user's password (``admin`` and the declared users), made on first use."""
        data = self._load_credentials()
        wanted = [ADMIN_USER, *(u.name for u in KAFKA_USERS)]
        missing = [name for name in wanted if name not in data["users"]]
        if missing:
            data["users"].update({name: secrets.token_urlsafe(24) for name in missing})
            self._save_credentials(data)
        users: dict[str, str] = data["users"]
        return users

    def access(self, user: str = ADMIN_USER) -> KafkaAccess:
        """How ``user`` connects to this broker (``admin``, the super user, by default)."""
        return KafkaAccess(self.bootstrap, user, self.credentials()[user], str(self.tls.ca_file))

    @property
    def pid(self) -> int | None:
        """PID of the running broker on ``data_dir`` (ours or one started by another
        process that recorded ``broker.pid``), or None."""
        if self._proc is not None:
            if self._proc.poll() is None:
                return self._proc.pid
            self._proc = None
        try:
            pid = int(self._pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if pid_alive(pid) and _cmdline_contains(pid, str(self._props_file)):
            return pid
        return None

    def is_running(self) -> bool:
        """Whether a broker process for this ``data_dir`` is alive (not necessarily ready)."""
        return self.pid is not None

    # ---- lifecycle

    def server_properties(self) -> str:
        """The ``server.properties`` text this broker runs with."""
        return "\n".join(
            [
                "# Written by shared/infra/kafka.py on every start; edits are overwritten.",
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                f"listeners=SASL_SSL://127.0.0.1:{self.port},"
                f"CONTROLLER://127.0.0.1:{self.controller_port}",
                f"advertised.listeners=SASL_SSL://127.0.0.1:{self.port}",
                "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SSL",
                "inter.broker.listener.name=SASL_SSL",
                "controller.listener.names=CONTROLLER",
                *self._security_properties(),
                f"log.dirs={self._log_dirs}",
                "num.partitions=3",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                # After a SIGKILL the restarted controller keeps the dead incarnation's
                # registration until its session expires (DUPLICATE_BROKER_REGISTRATION);
                # the 9 s default would make every crash-restart take ~12 s.
                "broker.heartbeat.interval.ms=500",
                "broker.session.timeout.ms=3000",
                "",
            ]
        )

    def _security_properties(self) -> list[str]:
        """TLS everywhere, SCRAM for clients, mutual TLS for the controller, ACLs on.

        ``PLAIN`` (over TLS, with the same users and passwords) is enabled besides, for
        clients whose SCRAM does not work with Kafka 4 (librdkafka before 2.6.1, which
        Debian's kcat is built on)."""
        tls = self.tls
        users = self.credentials()
        admin_password = users[ADMIN_USER]
        plain_users = " ".join(f'user_{name}="{password}"' for name, password in users.items())
        return [
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={tls.keystore_file}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={tls.ca_file}",
            "listener.name.controller.ssl.client.auth=required",
            f"sasl.enabled.mechanisms={SASL_MECHANISM},PLAIN",
            f"sasl.mechanism.inter.broker.protocol={SASL_MECHANISM}",
            f"listener.name.sasl_ssl.{SASL_MECHANISM.lower()}.sasl.jaas.config="
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{ADMIN_USER}" password="{admin_password}";',
            "listener.name.sasl_ssl.plain.sasl.jaas.config="
            f"org.apache.kafka.common.security.plain.PlainLoginModule required {plain_users};",
            f"authorizer.class.name={_AUTHORIZER}",
            "allow.everyone.if.no.acl.found=false",
            f"super.users=User:{ADMIN_USER};{tls.principal}",
        ]

    def _jvm(self, libs: Path, *, heap_mb: int, quick: bool = False) -> list[str]:
        """The ``java`` command prefix (JVM options and classpath)."""
        cmd = [
            _java(),
            f"-Xms{heap_mb}m",
            f"-Xmx{heap_mb}m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={_LOG4J_CONFIG}",
            f"-Dprintcloud.kafka.log.file={self.log_file}",
        ]
        if quick:  # short-lived tool: C1 only starts faster
            cmd.append("-XX:TieredStopAtLevel=1")
        return [*cmd, "-cp", f"{libs}/*"]

    def _format_storage(self, libs: Path, deadline: float) -> None:
        """``kafka-storage format`` with a random cluster id and every user's SCRAM
        credential (first start only)."""
        users = self.credentials()
        scram = [
            arg
            for name, password in users.items()
            for arg in ("--add-scram", f"{SASL_MECHANISM}=[name={name},password={password}]")
        ]
        cmd = [
            *self._jvm(libs, heap_mb=256, quick=True),
            _STORAGE_TOOL, "format", "-t", _random_cluster_id(), "-c", str(self._props_file),
            *scram,
        ]  # fmt: skip
        with self.log_file.open("ab") as log:
            try:
                rc = subprocess.run(
                    cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    timeout=max(5.0, deadline - time.monotonic()), check=False,
                ).returncode  # fmt: skip
            except subprocess.TimeoutExpired as exc:
                raise InfraError(
                    f"Formatting Kafka storage in {self._log_dirs} timed out."
                    f"{_startup_report(self.log_file)}"
                ) from exc
        if rc != 0 or not (self._log_dirs / "meta.properties").is_file():
            raise InfraError(
                f"Formatting Kafka storage in {self._log_dirs} failed (exit {rc}). If the "
                f"directory holds a broken earlier attempt, delete {self.data_dir} and retry."
                f"{_startup_report(self.log_file)}"
            )
        data = self._load_credentials()
        data["registered"] = sorted(users)
        self._save_credentials(data)

    def _ensure_acls(self) -> None:
        """Give every declared user its ACLs, when the table changed since the last time
        (ACLs live in the cluster metadata and survive restarts)."""
        from shared.kafka.admin import ensure_acls

        digest = hashlib.sha256(repr([(u.name, u.acls()) for u in KAFKA_USERS]).encode())
        data = self._load_credentials()
        if data.get("acls") == digest.hexdigest():
            return
        run_blocking(lambda: ensure_acls(self.access(), KAFKA_USERS))
        data["acls"] = digest.hexdigest()
        self._save_credentials(data)

    def _register_new_users(self, libs: Path, deadline: float) -> None:
        """Add the SCRAM credentials of users declared after the storage was formatted
        (``kafka-configs --alter --add-config``), once each."""
        data = self._load_credentials()
        new = [name for name in self.credentials() if name not in data["registered"]]
        if not new:
            return
        admin = self.access()
        client_config = self.data_dir / "admin-client.properties"
        _write_owner_only(
            client_config,
            "security.protocol=SASL_SSL\n"
            f"sasl.mechanism={SASL_MECHANISM}\n"
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule "
            f'required username="{admin.username}" password="{admin.password}";\n'
            "ssl.truststore.type=PEM\n"
            f"ssl.truststore.location={admin.ca_file}\n",
        )
        passwords = self.credentials()
        for name in new:
            cmd = [
                *self._jvm(libs, heap_mb=256, quick=True), _CONFIG_TOOL,
                "--bootstrap-server", self.bootstrap, "--command-config", str(client_config),
                "--alter", "--entity-type", "users", "--entity-name", name,
                "--add-config", f"{SASL_MECHANISM}=[password={passwords[name]}]",
            ]  # fmt: skip
            with self.log_file.open("ab") as log:
                rc = subprocess.run(
                    cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    timeout=max(10.0, deadline - time.monotonic()), check=False,
                ).returncode  # fmt: skip
            if rc != 0:
                raise InfraError(
                    f"Adding the Kafka user {name} failed (exit {rc})."
                    f"{_startup_report(self.log_file)}"
                )
            data["registered"] = sorted({*data["registered"], name})
            self._save_credentials(data)

    def start(self, timeout: float = 90) -> None:
        """Start the broker and block until it answers a Metadata request.

        Formats the storage on the first start (no ``meta.properties``), otherwise
        reuses ``data_dir`` as is (Kafka recovers its logs after a crash/SIGKILL).
        No-op if this object's broker is already running. Raises :class:`InfraError`
        if the process exits, or is not ready within ``timeout`` seconds (it is then
        killed), or if another process already runs a broker on ``data_dir``.
        """
        if self._proc is not None and self._proc.poll() is None:
            return
        deadline = time.monotonic() + timeout
        other = self.pid
        if other is not None:
            raise InfraError(
                f"A Kafka broker (pid {other}) started elsewhere is already running on "
                f"{self.data_dir}. Stop it first (`kill {other}`), or use another data_dir."
            )
        libs = ensure_kafka_jars()
        if not _LOG4J_CONFIG.is_file():
            raise InfraError(f"{_LOG4J_CONFIG} is missing; restore it from git.")
        self._log_dirs.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        _write_owner_only(self._props_file, self.server_properties())
        with self.log_file.open("ab") as log:
            log.write(f"\n=== printcloud: starting Kafka on {self.bootstrap} ===\n".encode())
        if not (self._log_dirs / "meta.properties").is_file():
            self._format_storage(libs, deadline)
        elif ADMIN_USER not in self._load_credentials()["registered"]:
            raise InfraError(
                f"The Kafka storage in {self._log_dirs} was formatted without users (by an "
                f"older Printcloud, before the broker required authentication). Delete "
                f"{self.data_dir} to start over with a fresh broker, then retry."
            )

        cmd = [*self._jvm(libs, heap_mb=self.heap_mb), _BROKER_MAIN, str(self._props_file)]
        with self.log_file.open("ab") as log:
            try:
                self._proc = subprocess.Popen(
                    cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    cwd=self.data_dir,
                )  # fmt: skip
            except OSError as exc:
                raise InfraError(f"Could not run {cmd[0]}: {exc}") from exc
        self._pid_file.write_text(f"{self._proc.pid}\n")
        self._wait_ready(self._proc, deadline, timeout)
        self._register_new_users(libs, deadline)
        self._ensure_acls()

    def _wait_ready(self, proc: subprocess.Popen[bytes], deadline: float, timeout: float) -> None:
        while True:
            rc = proc.poll()
            if rc is not None:
                self._proc = None
                raise InfraError(
                    f"The Kafka broker exited during startup (exit {rc})."
                    f"{_startup_report(self.log_file)}"
                )
            if _port_open(self.port) and run_blocking(lambda: _broker_ready(self.access())):
                return
            if time.monotonic() > deadline:
                self.kill()
                raise InfraError(
                    f"The Kafka broker was not ready within {timeout:.0f}s and was killed; on a "
                    f"slow machine retry with a larger timeout.{_startup_report(self.log_file)}"
                )
            time.sleep(0.2)

    def _signal(self, sig: signal.Signals, wait: float) -> bool:
        """Send ``sig`` to the broker and wait up to ``wait`` s. True once it is gone."""
        pid = self.pid
        if pid is None:
            return True
        proc = self._proc if self._proc is not None and self._proc.pid == pid else None
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        return _wait_gone(pid, proc, wait)

    def _forget(self) -> None:
        self._proc = None
        with contextlib.suppress(OSError):
            self._pid_file.unlink()

    def stop(self, timeout: float = 30) -> None:
        """Stop the broker gracefully (SIGTERM, controlled shutdown), falling back to
        SIGKILL after ``timeout`` seconds. Idempotent."""
        if not self._signal(signal.SIGTERM, timeout) and not self._signal(signal.SIGKILL, 10):
            raise InfraError(
                f"Kafka broker pid {self.pid} survived SIGKILL; check the process table."
            )
        self._forget()

    def kill(self) -> None:
        """SIGKILL the broker (a crash, for chaos tests). ``start()`` works again after."""
        if not self._signal(signal.SIGKILL, 10):
            raise InfraError(
                f"Kafka broker pid {self.pid} survived SIGKILL; check the process table."
            )
        self._forget()
