"""The table of Kafka users agrees with the code: every service has a user, each user
writes exactly the topics its service owns (and what its service emits), and reads
every topic its consumer groups read, in groups it may join."""

from __future__ import annotations

import importlib

import pytest

from deploy.catalog import SERVICES, load_spec
from deploy.manifests.model import load_services
from shared.kafka.acls import (
    ADMIN_USER,
    ANALYTICS_USER,
    DEAD_LETTERS_USER,
    KAFKA_USERS,
    Acl,
    kafka_user,
)
from shared.kafka.topics import DEAD_LETTER_TOPIC, TOPICS


def _emitted_topics(name: str) -> set[str]:
    """The topics of the events service ``name`` emits (its outbox, or for the gateway,
    which has none, its device events)."""
    try:
        events = importlib.import_module(f"services.{name}.domain.events").EVENTS
    except ModuleNotFoundError:
        events = load_spec(name).registry.models()
    return {e.topic for e in events}


def test_every_service_and_topic_owner_has_a_user() -> None:
    users = {u.name for u in KAFKA_USERS}
    assert set(SERVICES) <= users
    assert {t.owner for t in TOPICS} - {"shared"} <= users
    assert ADMIN_USER not in users  # the super user is the broker's, not in the table


@pytest.mark.parametrize("name", list(SERVICES))
def test_a_service_writes_only_what_it_owns_and_all_it_emits(name: str) -> None:
    user = kafka_user(name)
    owned = {t.name for t in TOPICS if t.owner == name}
    assert set(user.writes) - {DEAD_LETTER_TOPIC} == owned
    assert _emitted_topics(name) <= set(user.writes)


@pytest.mark.parametrize("service", load_services(), ids=lambda s: s.name)
def test_a_service_reads_what_its_groups_consume_in_groups_named_after_it(service) -> None:  # type: ignore[no-untyped-def]
    user = kafka_user(service.name)
    assert set(service.consumed_topics) <= set(user.reads)
    for group in service.consumer_groups:
        assert any(group.name.startswith(prefix) for prefix in user.groups), group.name
    # its consumers park what they cannot apply; and an idempotent producer (its outbox
    # relay) needs the right to write some topic, even in a service that owns none
    if service.has_database:
        assert DEAD_LETTER_TOPIC in user.writes


def test_no_service_may_write_device_credentials_but_auth() -> None:
    writers = {u.name for u in KAFKA_USERS if "auth.device-credentials" in u.writes}
    assert writers == {"auth"}


def test_the_analytics_user_reads_every_topic_and_writes_none() -> None:
    analytics = kafka_user(ANALYTICS_USER)
    assert analytics.writes == ()
    assert not [a for a in analytics.acls() if a.operation not in ("Read",)]
    assert set(analytics.reads) == {t.name for t in TOPICS} - {DEAD_LETTER_TOPIC}


def test_the_dead_letters_user_reads_the_dead_letters_alone() -> None:
    user = kafka_user(DEAD_LETTERS_USER)
    assert user.writes == ()
    assert [(a.resource, a.name, a.operation) for a in user.acls() if a.resource == "topic"] == [
        ("topic", DEAD_LETTER_TOPIC, "Read")
    ]


def test_only_a_stream_processor_creates_topics_and_only_under_its_prefix() -> None:
    broad = [
        (u.name, a) for u in KAFKA_USERS for a in u.acls() if a.operation not in ("Read", "Write")
    ]
    assert broad == [
        ("counters", Acl("topic", "printcloud-counters", "All", prefixed=True)),
    ]
