import json
from pathlib import Path

from services import event_models
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
