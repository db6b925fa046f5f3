"""The roll-up worker's faust web server: off by default, on loopback and a
configurable port when asked for, never faust's own ``0.0.0.0:6066``.

faust's ``worker`` command decides this from its command line, so the test parses
the command line the worker runs with as faust parses it and applies it to the
worker's app the way faust's command does."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from faust.cli.worker import worker

from services.counters.settings import RollupSettings
from services.counters.streams import Rollups, worker_argv

ARGV = ["rollups", "worker", "-l", "info"]
pytestmark = pytest.mark.filterwarnings(
    "ignore:The parameter:UserWarning"
)  # faust re-declares options


def conf_after(settings: RollupSettings, argv: list[str]) -> Any:
    app = Rollups(settings).app
    options = worker.parse(worker_argv(settings, argv)[2:])
    worker._init_worker_options(SimpleNamespace(app=app), **options)  # what `worker` does
    return app.conf


def test_without_a_port_the_web_server_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRINTCLOUD_COUNTERS_ROLLUP_WEB_PORT", raising=False)
    settings = RollupSettings(kafka_bootstrap="127.0.0.1:1")
    assert settings.rollup_web_port == 0
    conf = conf_after(settings, ARGV)
    assert conf.web_enabled is False
    # what faust does with nothing said: every interface, a fixed port
    plain = worker.parse(ARGV[2:])
    assert plain["with_web"] is True


def test_a_configured_port_binds_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRINTCLOUD_COUNTERS_ROLLUP_WEB_PORT", "16066")
    settings = RollupSettings(kafka_bootstrap="127.0.0.1:1")
    conf = conf_after(settings, ARGV)
    assert conf.web_enabled is True
    assert (conf.web_bind, conf.web_port) == ("127.0.0.1", 16066)
    assert str(conf.canonical_url) == "http://127.0.0.1:16066"


def test_the_command_line_wins_and_other_commands_are_left_alone() -> None:
    settings = RollupSettings(kafka_bootstrap="127.0.0.1:1", rollup_web_port=16066)
    explicit = [*ARGV, "--web-port", "7000"]
    assert worker_argv(settings, explicit) == explicit
    assert worker_argv(settings, ["rollups", "tables"]) == ["rollups", "tables"]
    assert worker_argv(settings, ["rollups"]) == ["rollups"]
