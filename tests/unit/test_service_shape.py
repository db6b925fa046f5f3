"""Every service has the same file for the same role (docs/architecture.md).

A service that owns a database has its spec and wiring in ``app.py``, a pure
``domain/`` (model, commands, events, errors), ``handlers/``, a ``repository/`` that
returns domain objects, ``api/`` (routes, context, operations, shapes) and
``consumers.py``; views reach the service through its typed ``CONTEXT``, never by
digging in the app. The gateway and the edge (no database) keep the outer shape.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from deploy.catalog import SERVICES, load_spec

ROOT = Path(__file__).resolve().parents[2]
SERVICES_DIR = ROOT / "services"

DATABASE_SHAPE = (
    "__init__.py",
    "__main__.py",
    "app.py",
    "settings.py",
    "domain/__init__.py",
    "domain/model.py",
    "domain/events.py",
    "handlers/__init__.py",
    "repository/__init__.py",
    "api/__init__.py",
    "api/routes.py",
    "api/context.py",
    "api/operations.py",
    "migrations",
)
RECORD = re.compile(r"\bRecord\b")
JSON_API_SHAPE = ("domain/commands.py", "domain/errors.py", "api/shapes.py", "consumers.py")
"""What a service speaking JSON over HTTP and reading topics has besides the rest."""
PROTOCOL_ADAPTERS = {  # services that speak no JSON API of their own and read no topic
    "ipp": "speaks IPP (RFC 8010), not JSON: its requests, answers and statuses are IPP "
    "messages (services/ipp/protocol), its jobs are made through the public API, and it "
    "reads no topic",
    "portal": "serves HTML pages to browsers, not JSON: every read and write is a call of "
    "the public API with the signed-in person's token (services/portal/upstream.py); it "
    "owns only browser sessions, publishes no event and reads no topic",
}
PROCESS_SHAPE = ("__init__.py", "__main__.py", "app.py", "settings.py")

DATABASE_SERVICES = [n for n in SERVICES if load_spec(n).has_database]
OTHER_SERVICES = [n for n in (*SERVICES, "edge") if n not in DATABASE_SERVICES]


def _py_files(service: str) -> list[Path]:
    return sorted((SERVICES_DIR / service).rglob("*.py"))


@pytest.mark.parametrize("service", DATABASE_SERVICES)
def test_a_service_with_a_database_has_the_one_shape(service: str) -> None:
    wanted = DATABASE_SHAPE + (() if service in PROTOCOL_ADAPTERS else JSON_API_SHAPE)
    missing = [p for p in wanted if not (SERVICES_DIR / service / p).exists()]
    assert not missing, f"services/{service} lacks {missing}"


@pytest.mark.parametrize("service", OTHER_SERVICES)
def test_a_service_without_a_database_has_the_outer_shape(service: str) -> None:
    missing = [p for p in PROCESS_SHAPE if not (SERVICES_DIR / service / p).exists()]
    assert not missing, f"services/{service} lacks {missing}"


@pytest.mark.parametrize("service", DATABASE_SERVICES)
def test_events_module_lists_what_the_service_publishes(service: str) -> None:
    tree = ast.parse((SERVICES_DIR / service / "domain" / "events.py").read_text())
    names = {t.id for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
             for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
             if isinstance(t, ast.Name)}  # fmt: skip
    assert "EVENTS" in names, f"services/{service}/domain/events.py has no EVENTS"


@pytest.mark.parametrize("service", [*SERVICES, "edge", "agent"])
def test_no_star_imports_and_no_digging_in_the_app(service: str) -> None:
    offences = []
    for path in _py_files(service):
        text = path.read_text()
        rel = path.relative_to(ROOT)
        if re.search(r"^\s*from\s+\S+\s+import\s+\*", text, re.M):
            offences.append(f"{rel}: star import")
        if "app[RUNTIME]" in text:
            offences.append(f"{rel}: reaches the runtime through app[RUNTIME] (use CONTEXT)")
        if re.search(r"assert isinstance\([^)]*Settings\)", text):
            offences.append(f"{rel}: asserts the settings' class (use Runtime[<Settings>])")
    assert not offences, "\n".join(offences)


@pytest.mark.parametrize("service", DATABASE_SERVICES)
def test_repositories_return_domain_objects(service: str) -> None:
    offences = []
    for path in sorted((SERVICES_DIR / service / "repository").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) or not node.returns:
                continue
            if not node.name.startswith("_") and RECORD.search(ast.unparse(node.returns)):
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not offences, "return domain objects, not asyncpg records:\n" + "\n".join(offences)


@pytest.mark.parametrize("service", DATABASE_SERVICES)
def test_consumers_name_topics_by_their_models_or_the_topic_table(service: str) -> None:
    if service in PROTOCOL_ADAPTERS:
        assert not (SERVICES_DIR / service / "consumers.py").exists()
        return
    text = (SERVICES_DIR / service / "consumers.py").read_text()
    literals = re.findall(r"topics\s*=\s*\[[^\]]*[\"'][a-z-]+\.[a-z.-]+[\"']", text)
    assert not literals, f"services/{service}/consumers.py names topics as literals: {literals}"


@pytest.mark.parametrize("service", DATABASE_SERVICES)
def test_every_service_has_handler_unit_tests(service: str) -> None:
    tests = ROOT / "tests" / "unit" / service / "test_handlers.py"
    assert tests.exists(), f"{tests.relative_to(ROOT)}: handlers tested against a unit of work"
    assert "InMemoryTransactions" in tests.read_text()
