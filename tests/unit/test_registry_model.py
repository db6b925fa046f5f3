import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.registry.domain.commands import RegisterPrinter, UpdatePrinter
from services.registry.domain.model import Printer
from shared.errors import ValidationFailed

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _printer() -> Printer:
    return Printer(
        id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        name="Lobby",
        model="M1",
        region="eu-west",
        location="Floor 1",
        connection_state="unknown",
        revision=1,
        created_at=T0,
        updated_at=T0,
    )


def test_update_bumps_revision_and_names_changed_fields() -> None:
    later = T0 + timedelta(minutes=1)
    cmd = UpdatePrinter.model_validate({"name": "Hall", "location": None, "model": "M1"})
    printer, changed = _printer().updated(cmd.changes(), later)
    assert changed == ["location", "name"]
    assert (printer.revision, printer.name, printer.location, printer.updated_at) == (
        2,
        "Hall",
        None,
        later,
    )


def test_update_without_change_changes_nothing() -> None:
    p = _printer()
    printer, changed = p.updated({"name": "Lobby"}, T0 + timedelta(minutes=1))
    assert (printer, changed) == (p, [])


def test_only_location_may_be_cleared() -> None:
    with pytest.raises(ValidationFailed) as err:
        _printer().updated({"name": None}, T0)
    assert [e.field for e in err.value.errors] == ["name"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": " padded ", "model": "m", "region": "eu-west"}, "name"),
        ({"name": "ok", "model": "m", "region": "EU West"}, "region"),
        ({"name": "ok", "model": "", "region": "eu-west"}, "model"),
        ({"name": "ok", "model": "m", "region": "eu-west", "colour": 1}, "colour"),
        ({"name": "ok", "model": "m", "region": "eu-west", "tenant_id": "x"}, "tenant_id"),
    ],
)
def test_register_printer_validation_names_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        RegisterPrinter.model_validate(body)
    assert {e["loc"][0] for e in err.value.errors()} == {field}


def test_presence_ignores_stale_events_and_old_sessions() -> None:
    from services.registry.domain.model import presence_after

    a, b = uuid.uuid4(), uuid.uuid4()
    p = presence_after(_printer(), connected=True, session=a, at=T0)
    assert p is not None and (p.connection_state, p.presence_session) == ("online", a)
    moved = presence_after(p, connected=True, session=b, at=T0 + timedelta(seconds=1))
    assert moved is not None and moved.presence_session == b
    assert presence_after(moved, connected=False, session=a, at=T0 + timedelta(seconds=2)) is None
    assert presence_after(moved, connected=True, session=a, at=T0) is None  # older than seen
    gone = presence_after(moved, connected=False, session=b, at=T0 + timedelta(seconds=3))
    assert gone is not None and (gone.connection_state, gone.presence_session) == ("offline", None)
