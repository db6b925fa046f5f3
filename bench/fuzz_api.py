"""Fuzz every operation of ``docs/openapi.yaml`` against the real services.

Every service of ``SERVICES`` runs as its own process on real Kafka and Postgres
(``tests/support/platform.py``), with the edge router in front (operations only the
edge serves, such as the document itself, are sent to it). Each operation of the
document is sent to every service that serves it (the routes are read from the
services' own apps), with schemathesis-generated requests: valid ones, valid ones
naming real resources (so authenticated paths reach the database, not only
401/404), and invalid ones.
Each request carries one of: the operator token, a tenant administrator's access
token, a tenant user's access token, or none. Every answer is checked with
``not_a_server_error``, ``status_code_conformance``, ``content_type_conformance``
and ``response_schema_conformance``.

Quick: ``python -m bench.fuzz_api``             (25 examples per operation)
Long:  ``python -m bench.fuzz_api --examples 500``

Prints operations fuzzed, requests sent and every distinct failure with a curl
command that reproduces it; exits 1 when there is a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.platform import (
    Platform,
    admin_scopes,
    new_caller,
    new_tenant,
    running_platform,
)

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "openapi.yaml"
# IPP requests (POST /ipp/print/{id}) are binary bodies: fuzzed as raw octets, which the
# endpoint must answer with an IPP status (or 401), never a server error.
schemathesis.serializer.alias("application/ipp", "application/octet-stream")
# Protected documents (docs/e2e.md) are binary too: fuzzed octets must be refused as a
# malformed protected document, never a server error.
schemathesis.serializer.alias("application/vnd.printcloud.e2e", "application/octet-stream")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class FuzzResult:
    """What one run did and found."""

    operations: int = 0
    requests: int = 0
    unserved: list[str] = field(default_factory=list)
    failures: dict[str, dict[str, str]] = field(default_factory=dict)
    by_status: Counter[int] = field(default_factory=Counter)
    by_principal: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "operations": self.operations,
            "requests": self.requests,
            "failures": len(self.failures),
            "unserved": self.unserved,
            "by_status": dict(sorted(self.by_status.items())),
            "by_principal": dict(self.by_principal),
            "seconds": round(self.seconds, 1),
        }


async def _real_ids(platform: Platform) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Principals (name -> headers) and ids of real resources of the admin's tenant,
    by path parameter name. Resources that fuzzing may delete or revoke belong to a
    separate user, so the principals keep working."""
    async with aiohttp.ClientSession() as http:
        tenant = await new_tenant(http, platform)
        admin = await new_caller(http, platform, tenant, ["admin"], admin_scopes())
        user = await new_caller(http, platform, tenant, ["user"], ["printers:read"])
        victim = await new_caller(http, platform, tenant, ["user"], ["printers:read"])
        reg = platform.url("registry")
        body = {"tenant_id": tenant, "name": "Fuzz", "model": "M", "region": "eu-west"}
        printer = await (await http.post(reg + "/v1/printers", json=body,
                                         headers=platform.operator)).json()  # fmt: skip
        vp_body = {"tenant_id": tenant, "name": "VP", "members": [printer["id"]]}
        vp = await (await http.post(reg + "/v1/virtual-printers", json=vp_body,
                                    headers=platform.operator)).json()  # fmt: skip
    principals = {
        "operator": platform.operator,
        "admin": admin.headers,
        "user": user.headers,
        "anonymous": {},
    }
    ids = {
        "tenant_id": tenant,
        "printer_id": printer["id"],
        "virtual_printer_id": vp["id"],
        "device_id": printer["id"],
        "connector_id": printer["id"],
        "user_id": victim.user_id,
        "token_id": victim.api_token_id,
    }
    return principals, ids


def _route_key(method: str, path: str) -> tuple[str, str]:
    return method.upper(), path


def _fuzz_operation(
    operation: Any,
    base_url: str,
    principals: dict[str, dict[str, str]],
    ids: dict[str, str],
    examples: int,
    run_seed: int,
    result: FuzzResult,
    service: str,
) -> None:
    params = re.findall(r"\{(\w+)\}", operation.path)
    known = {p: ids[p] for p in params if p in ids}
    variants = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    if params and len(known) == len(params):
        variants.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known))
    session = requests.Session()

    @seed(run_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(*variants), who=st.sampled_from(sorted(principals)))
    def one(case: Any, who: str) -> None:
        # The principal's token replaces whatever the generator put in Authorization.
        if case.headers:
            case.headers.pop("Authorization", None)
            case.headers.pop("authorization", None)
        headers = dict(principals[who])
        try:
            response = case.call(base_url=base_url, session=session, headers=headers,
                                 timeout=30)  # fmt: skip
        except requests.RequestException as exc:
            key = f"{service} {operation.label}: transport error {type(exc).__name__}"
            result.failures.setdefault(key, {"detail": str(exc)[:500], "principal": who})
            return
        result.requests += 1
        result.by_status[response.status_code] += 1
        result.by_principal[who] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (AssertionError, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup
            for failure in getattr(exc, "exceptions", None) or [exc]:
                title = getattr(failure, "title", type(failure).__name__)
                key = f"{service} {operation.label}: {title}"
                if key not in result.failures:
                    result.failures[key] = {
                        "principal": who,
                        "status": str(response.status_code),
                        "message": str(getattr(failure, "message", failure))[:1500],
                        "body": response.text[:800],
                        "curl": case.as_curl_command(headers=headers, base_url=base_url),
                    }

    try:
        one()
    finally:
        session.close()


def fuzz(
    platform: Platform,
    principals: dict[str, dict[str, str]],
    ids: dict[str, str],
    *,
    examples: int,
    served: dict[str, set[tuple[str, str]]],
    run_seed: int = 0,
    document: Path = DOCUMENT,
) -> FuzzResult:
    """Fuzz every operation of ``document`` on every service that serves it."""
    started = time.monotonic()
    schema = schemathesis.openapi.from_path(str(document))
    result = FuzzResult()
    for maybe in schema.get_all_operations():
        operation = maybe.ok()
        route = _route_key(operation.method, operation.path)
        owners = [name for name, routes in served.items() if route in routes]
        if not owners and platform.edge is not None:
            owners = ["edge"]  # served by the edge itself (the document, its health)
        if not owners:
            result.unserved.append(operation.label)
            continue
        for service in owners:
            result.operations += 1
            url = platform.base_url if service == "edge" else platform.url(service)
            _fuzz_operation(
                operation, url, principals, ids, examples, run_seed, result, service,
            )  # fmt: skip
    result.seconds = time.monotonic() - started
    return result


async def run(platform: Platform, examples: int, run_seed: int = 0) -> FuzzResult:
    """Make the principals and resources, then fuzz (in a thread: requests is blocking)."""
    principals, ids = await _real_ids(platform)
    served = {name: platform.served_routes(name) for name in platform.processes}
    return await asyncio.to_thread(
        fuzz, platform, principals, ids, examples=examples, served=served, run_seed=run_seed
    )


DEEP_JSON = b"[" * 100_000
"""A body built to exhaust a recursive JSON parser: it must be refused, never a 500."""


async def deep_bodies(platform: Platform, document: Path = DOCUMENT) -> dict[str, int]:
    """Send :data:`DEEP_JSON` to every operation of ``document`` that takes a JSON body,
    through the edge, anonymously and as the operator; the operations answered with a
    server error (label -> status)."""
    spec = yaml.safe_load(await asyncio.to_thread(document.read_text))
    failures: dict[str, int] = {}
    async with aiohttp.ClientSession() as http:
        for path, item in spec["paths"].items():
            for method, op in item.items():
                content = (op.get("requestBody") or {}).get("content", {})
                if "application/json" not in content:
                    continue
                url = platform.base_url + re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
                for headers in ({}, platform.operator):
                    async with http.request(
                        method.upper(), url, data=DEEP_JSON,
                        headers={**headers, "Content-Type": "application/json"},
                    ) as resp:  # fmt: skip
                        if resp.status >= 500:
                            failures[f"{method.upper()} {path}"] = resp.status
    return failures


def print_result(result: FuzzResult) -> None:
    print(json.dumps(result.summary(), indent=2))
    for key, failure in sorted(result.failures.items()):
        print(f"\nFAILURE {key}")
        for name, value in failure.items():
            print(f"  {name}: {value}")


async def main(args: argparse.Namespace) -> int:
    from shared.testing.infra import start_test_infra

    infra = start_test_infra()
    try:
        with tempfile.TemporaryDirectory(prefix="printcloud-fuzz-") as tmp:
            async with running_platform(
                infra.bootstrap, infra.admin_dsn, Path(tmp), edge=True
            ) as platform:
                result = await run(platform, args.examples, args.seed)
    finally:
        infra.stop()
    print_result(result)
    return 1 if result.failures else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--examples", type=int, default=25, help="examples per operation and service")
    p.add_argument("--seed", type=int, default=uuid.uuid4().int % 2**32, help="hypothesis seed")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
