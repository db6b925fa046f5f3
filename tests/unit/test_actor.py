"""The envelope's ``actor``: who caused a change, taken from the request's principal; an
event written before actors existed still parses, and one with an actor round-trips."""

from __future__ import annotations

import json
import uuid

import pytest
from pydantic import ValidationError

from shared.events.contracts.registry import TenantCreated
from shared.events.envelope import Actor, Envelope, new_envelope
from shared.http.auth import Principal

TENANT = uuid.uuid4()


def test_an_event_without_an_actor_is_written_and_read_as_before() -> None:
    env = new_envelope(TenantCreated(tenant_id=TENANT, name="Acme"), source="registry",
                       tenant_id=TENANT)  # fmt: skip
    written = json.loads(env.to_bytes())
    assert "actor" not in written  # what a consumer of an earlier release accepts
    assert written["causation_id"] is None and written["tenant_id"] == str(TENANT)
    assert Envelope.model_validate(written).actor is None


def test_an_actor_round_trips_and_a_bad_one_is_refused() -> None:
    actor = Actor(kind="user", id="u-1", token_id=uuid.uuid4())
    env = new_envelope(TenantCreated(tenant_id=TENANT, name="Acme"), source="registry",
                       tenant_id=TENANT, actor=actor)  # fmt: skip
    assert Envelope.model_validate_json(env.to_bytes()).actor == actor
    with pytest.raises(ValidationError):
        robot = {"kind": "robot", "id": "x"}
        Envelope.model_validate({**json.loads(env.to_bytes()), "actor": robot})


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        (Principal("u-1", TENANT, frozenset({"admin"}), token_id=uuid.UUID(int=7)),
         Actor(kind="user", id="u-1", token_id=uuid.UUID(int=7))),
        (Principal("operator", None, frozenset({"operator"})),
         Actor(kind="operator", id="operator")),
        (Principal("service:gateway", None, frozenset({"service"}), service="gateway"),
         Actor(kind="service", id="gateway")),
        (Principal(str(uuid.UUID(int=9)), TENANT, frozenset({"device"}), device_id=uuid.UUID(int=9),
                   device_kind="printer"), Actor(kind="device", id=str(uuid.UUID(int=9)))),
    ],
)  # fmt: skip
def test_a_principal_is_the_actor_of_what_its_request_causes(
    principal: Principal, expected: Actor
) -> None:
    assert principal.actor == expected
