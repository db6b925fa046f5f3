import json
import logging

import pytest
from structlog.contextvars import bound_contextvars

from shared.logging import configure_logging, get_logger


def test_log_lines_are_json_with_event_and_correlation_ids(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("registry", "INFO", json=True)
    with bound_contextvars(event_id="e-1", correlation_id="c-1"):
        get_logger("test").info("applied", password="hunter2", topic="t")
        logging.getLogger("aiohttp.access").warning("stdlib line")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["event"] == "applied"
    assert (lines[0]["event_id"], lines[0]["correlation_id"]) == ("e-1", "c-1")
    assert lines[0]["service"] == "registry"
    assert lines[0]["password"] == "***"
    assert lines[1]["event"] == "stdlib line" and lines[1]["correlation_id"] == "c-1"
