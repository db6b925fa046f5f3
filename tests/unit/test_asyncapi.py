"""docs/asyncapi.yaml is generated from the code, is a valid AsyncAPI 3.0 document
(checked against the AsyncAPI Initiative's own JSON Schema) and describes every
topic, every event and every websocket frame."""

from __future__ import annotations

import typing
from typing import Any

import jsonschema
import pytest
import yaml

from deploy.apidocs import asyncapi
from deploy.catalog import event_models
from shared.events.schemas import SCHEMA_DIR, file_name
from shared.kafka.topics import TOPICS
from shared.protocols import device as protocol
from tests.support.specs import asyncapi_schema


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return dict(yaml.safe_load(asyncapi.DOCUMENT.read_text()))


def test_committed_document_matches_the_code() -> None:
    assert not asyncapi.stale(TOPICS, event_models()), "run `printcloud schemas write`"


def test_document_is_valid_asyncapi_3(doc: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(asyncapi_schema("3.0.0"))
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def test_the_validator_refuses_a_broken_document(doc: dict[str, Any]) -> None:
    broken = dict(doc, channels={"x": {"address": 42}})
    assert not jsonschema.Draft7Validator(asyncapi_schema("3.0.0")).is_valid(broken)


def test_every_topic_with_owner_key_partitions_and_retention(doc: dict[str, Any]) -> None:
    channels = {c["address"]: c for c in doc["channels"].values()}
    for topic in TOPICS:
        channel = channels[topic.name]
        assert channel["x-owner"] == topic.owner and channel["x-key"] == topic.key
        binding = channel["bindings"]["kafka"]
        assert binding["partitions"] == topic.partitions
        retention = binding["topicConfiguration"]["retention.ms"]
        assert retention == (-1 if topic.compacted else topic.retention_ms)


def test_every_event_references_its_committed_schema(doc: dict[str, Any]) -> None:
    for model in event_models():
        message = doc["components"]["messages"][asyncapi.message_id(model)]
        data_ref = message["payload"]["allOf"][1]["properties"]["data"]["$ref"]
        assert data_ref.endswith(file_name(model))
        assert (SCHEMA_DIR / file_name(model)).exists()
        channel = next(c for c in doc["channels"].values() if c["address"] == model.topic)
        assert asyncapi.message_id(model) in channel["messages"]


def test_every_websocket_frame_is_described(doc: dict[str, Any]) -> None:
    ws = doc["channels"]["device-websocket"]
    for union in (protocol.DeviceFrame, protocol.GatewayFrame):
        for frame in typing.get_args(typing.get_args(union)[0]):
            kind = frame.model_fields["type"].default
            assert f"ws.{kind}" in ws["messages"]
            assert doc["components"]["schemas"][f"Frame.{kind}"]["properties"]["type"]
