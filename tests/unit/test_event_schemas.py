import json
from pathlib import Path
from typing import Any

import pytest

from deploy.catalog import event_models
from shared.events import schemas


def test_committed_schemas_match_the_models() -> None:
    stale = schemas.stale(event_models())
    assert stale == [], f"run `printcloud schemas write` and commit: {stale}"


def test_a_changed_model_is_detected(tmp_path: Path) -> None:
    schemas.write(event_models(), tmp_path)
    victim = next(tmp_path.glob("printer.registered.v1.json"))
    body = json.loads(victim.read_text())
    body["properties"].pop("region")
    victim.write_text(json.dumps(body))
    (tmp_path / "ghost.v1.json").write_text("{}")
    assert schemas.stale(event_models(), tmp_path) == [victim.name, "ghost.v1.json"]


def test_schemas_name_their_type_version_and_topic() -> None:
    for model in event_models():
        body = json.loads((schemas.SCHEMA_DIR / schemas.file_name(model)).read_text())
        assert body["x-printcloud"] == {
            "type": model.event_type,
            "version": model.event_version,
            "topic": model.topic,
        }
        assert set(body["required"]) <= set(body["properties"])


def test_envelope_schema_requires_every_envelope_field() -> None:
    body = json.loads((schemas.SCHEMA_DIR / "envelope.json").read_text())
    assert {
        "event_id",
        "type",
        "version",
        "occurred_at",
        "tenant_id",
        "source",
        "correlation_id",
        "key",
        "data",
    } <= set(body["required"])
    assert body["additionalProperties"] is False


def test_catalogue_page_matches_the_code() -> None:
    from shared.events import catalogue
    from shared.kafka.topics import TOPICS

    assert not catalogue.stale(TOPICS, event_models()), "run `printcloud schemas write`"
    text = catalogue.render(TOPICS, event_models())
    for model in event_models():
        assert f"### `{model.event_type}` v{model.event_version}" in text
    for topic in TOPICS:
        assert f"| `{topic.name}` |" in text


def _committed(tmp_path: Path) -> Path:
    schemas.write(event_models(), tmp_path)
    return tmp_path


def test_documentation_changes_are_not_breaking(tmp_path: Path) -> None:
    directory = _committed(tmp_path)
    victim = directory / "printer.registered.v1.json"
    body = json.loads(victim.read_text())
    body["description"] = "Reworded."
    body["properties"]["region"]["description"] = "Reworded too."
    victim.write_text(json.dumps(body))
    assert schemas.breaking(event_models(), directory) == {}
    assert schemas.write(event_models(), directory) == [victim.name]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda b: b["properties"].pop("region"), "$.properties.region: field added"),
        (lambda b: b["properties"].update(extra={"type": "string"}), "field removed"),
        (lambda b: b["required"].remove("region"), "$.required: now also lists ['region']"),
        (lambda b: b["properties"]["revision"].update(minimum=5), "$.properties.revision.minimum"),
    ],
    ids=["field-added", "field-removed", "now-required", "constraint-changed"],
)
def test_a_breaking_change_without_a_version_bump_is_refused(
    tmp_path: Path, edit: Any, expected: str
) -> None:
    """The committed file is the released contract: the models must not contradict it."""
    directory = _committed(tmp_path)
    victim = directory / "printer.registered.v1.json"
    body = json.loads(victim.read_text())
    edit(body)
    victim.write_text(json.dumps(body))
    problems = schemas.breaking(event_models(), directory)
    assert list(problems) == [victim.name]
    assert any(expected in line for line in problems[victim.name]), problems
    before = victim.read_text()
    with pytest.raises(schemas.BreakingChange, match="without a new event_version"):
        schemas.write(event_models(), directory)
    assert victim.read_text() == before


def test_a_superseded_version_stays_committed(tmp_path: Path) -> None:
    directory = _committed(tmp_path)
    (directory / "printer.registered.v0.json").write_text("{}")
    (directory / "nobody.v1.json").write_text("{}")
    assert schemas.stale(event_models(), directory) == ["nobody.v1.json"]


def test_committed_schemas_have_no_breaking_change() -> None:
    assert schemas.breaking(event_models()) == {}
