"""Who may do what on the broker: the one declared table of Kafka users and their ACLs.

Each service connects as its own user. It may write only the topics it owns (the
``owner`` column of :data:`shared.kafka.topics.TOPICS`) and the dead-letter topic, and
read only the topics it consumes, with consumer groups named after it. The
``analytics`` user reads every declared topic and writes nothing; the
``dead-letters`` user reads the dead-letter topic alone, for operators. The local broker
gets these ACLs from :func:`shared.kafka.admin.ensure_acls`; Kubernetes gets the same
list as Strimzi ``KafkaUser`` resources (``deploy/manifests/kafka.py``), so the two
never disagree.

An operator (``printcloud topics create``, the test harness) connects as the broker's
super user, which no service holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.kafka.topics import AUDITED_TOPICS, DEAD_LETTER_TOPIC, TOPICS

ADMIN_USER = "admin"
"""The broker's super user: creates topics, ACLs; used by operators, never services."""

ANALYTICS_USER = "analytics"
DEAD_LETTERS_USER = "dead-letters"
"""Operators reading the dead-letter topic (what a consumer parked and why)."""
READERS = (ANALYTICS_USER, DEAD_LETTERS_USER)
"""Users of people and tools, not of services: they read and never write."""

TOKENS_TOPIC = "auth.tokens"
"""Every service with an HTTP API follows revoked API tokens (shared/http/revocations)."""


@dataclass(frozen=True)
class Acl:
    """One allowed operation on one resource (a topic, group or cluster)."""

    resource: str  # "topic" | "group" | "cluster"
    name: str
    operation: str  # "Read" | "Write" | "Describe" | "Create" | "DescribeConfigs" | "All"
    prefixed: bool = False


@dataclass(frozen=True)
class KafkaUser:
    """A Kafka identity: what it reads, and whether it writes what its owner name owns.

    ``groups`` are the consumer-group name prefixes it may join; ``internal_prefix``
    names the topics (and the group) a stream processor creates for itself.
    """

    name: str
    reads: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    writes_owned: bool = True
    dead_letters: bool = True
    internal_prefix: str = ""

    @property
    def writes(self) -> tuple[str, ...]:
        """The declared topics this user may write: those it owns, and the dead letters.

        A service's producers are idempotent, which Kafka allows a user that may write
        some topic: a service that owns none (ipp) still writes the dead letters."""
        if not self.writes_owned:
            return ()
        owned = tuple(t.name for t in TOPICS if t.owner == self.name)
        return (*owned, DEAD_LETTER_TOPIC) if self.dead_letters else owned

    def acls(self) -> list[Acl]:
        """Every ACL of this user (Write and Read imply Describe on the same topic)."""
        out = [Acl("topic", t, "Write") for t in self.writes]
        out += [Acl("topic", t, "Read") for t in self.reads]
        out += [Acl("group", g, "Read", prefixed=True) for g in self.groups]
        if self.internal_prefix:
            out += [
                Acl("topic", self.internal_prefix, "All", prefixed=True),
                Acl("group", self.internal_prefix, "Read", prefixed=True),
            ]
        return out


def _service(name: str, *reads: str, **options: object) -> KafkaUser:
    """A service's user: reads ``reads`` and revoked tokens, joins groups named after it."""
    return KafkaUser(name, (*reads, TOKENS_TOPIC), groups=(name,), **options)  # type: ignore[arg-type]


KAFKA_USERS: tuple[KafkaUser, ...] = (
    _service(
        "registry",
        "devices.command-acks",
        "devices.telemetry",
        "devices.presence",
        "auth.groups",
    ),
    _service("auth", "registry.devices"),
    KafkaUser(
        "gateway",
        reads=(
            "devices.commands",
            "devices.notifications",
            "auth.device-credentials",
            "registry.devices",
        ),
        dead_letters=False,
    ),
    _service(
        "queues",
        "registry.printers",
        "registry.virtual-printers",
        "registry.devices",
        "auth.users",
        "auth.groups",
        "routing.decisions",
        "devices.telemetry",
        "auth.device-logins",
    ),
    _service(
        "routing",
        "registry.printers",
        "registry.virtual-printers",
        "counters.quotas",
        "queues.jobs",
        "auth.groups",
    ),
    _service(
        "counters",
        "devices.telemetry",
        "queues.jobs",
        "counters.usage",
        "auth.groups",
        internal_prefix="printcloud-counters",
    ),
    _service("consumables", "registry.printers", "devices.telemetry"),
    _service("ipp"),
    _service("portal"),
    _service(
        "notifications",
        "queues.jobs",
        "registry.printers",
        "registry.devices",
        "consumables.orders",
        "counters.quotas",
    ),
    _service("audit", *(t for t in AUDITED_TOPICS if t != TOKENS_TOPIC)),
    KafkaUser(
        ANALYTICS_USER,
        reads=tuple(t.name for t in TOPICS if t.name != DEAD_LETTER_TOPIC),
        groups=(ANALYTICS_USER,),
        writes_owned=False,
    ),
    KafkaUser(
        DEAD_LETTERS_USER,
        reads=(DEAD_LETTER_TOPIC,),
        groups=(DEAD_LETTERS_USER,),
        writes_owned=False,
    ),
)


def kafka_user(name: str) -> KafkaUser:
    """A user of the table by name; a typo is a KeyError naming the known users."""
    for user in KAFKA_USERS:
        if user.name == name:
            return user
    raise KeyError(f"unknown Kafka user {name!r}; declared: {[u.name for u in KAFKA_USERS]}")
