"""How long the portal takes to make its pages for many signed-in people at once.

Starts every service and the edge (real processes, real Kafka and Postgres), makes a
tenant with ``--users`` people (each with an API token) and signs each into the portal
the way a browser does (the sign-in page, its CSRF cookie, the form); then each person
asks, ``--rounds`` times, for the pages a person opens most (printers, my jobs, print)
with their own session cookie, all people at once. Prints p50/p95/p99 of the page
time per page and overall, and the pages per second::

    .venv/bin/python -m bench.portal_pages --users 50 --rounds 20

Every answer must be the page (200 and its heading); anything else is counted and
reported, never timed as a success.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench.platform_harness import BenchPlatform, adopted_infra, new_tenant_admin, own_infra

PAGES = {"/portal/printers": "<h1>Printers</h1>", "/portal/jobs": "<h1>My jobs</h1>",
         "/portal/print": "<h1>Print</h1>"}  # fmt: skip
META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def _cookie(resp: aiohttp.ClientResponse, name: str) -> str:
    morsel = resp.cookies.get(name)
    if morsel is None:
        raise RuntimeError(f"no {name} cookie in the answer ({resp.status})")
    return morsel.value


async def new_person(http: aiohttp.ClientSession, platform: BenchPlatform, tenant: str) -> str:
    """A person of ``tenant`` with an API token; the token."""
    base, op = platform.base_url, platform.operator
    body = {"tenant_id": tenant, "display_name": "Bench person", "roles": ["user"],
            "email": f"p-{uuid.uuid4().hex[:10]}@example.com"}  # fmt: skip
    async with http.post(base + "/v1/users", json=body, headers=op) as resp:
        user = (await resp.json())["id"]
    scopes = {"name": "portal", "scopes": ["printers:read", "jobs:read", "jobs:submit"]}
    async with http.post(f"{base}/v1/users/{user}/api-tokens", json=scopes, headers=op) as resp:
        return str((await resp.json())["token"])


async def sign_in(http: aiohttp.ClientSession, portal: str, api_token: str) -> str:
    """Sign in as a browser does; the session cookie."""
    async with http.get(portal + "/portal/sign-in") as resp:
        csrf_cookie = _cookie(resp, "pc_csrf")
        token = META.search(await resp.text())
    assert token is not None
    async with http.post(
        portal + "/portal/sign-in/token", data={"csrf": token.group(1), "api_token": api_token},
        headers={"Cookie": f"pc_csrf={csrf_cookie}"}, allow_redirects=False,
    ) as resp:  # fmt: skip
        if resp.status != 303:
            raise RuntimeError(f"sign-in: {resp.status} {(await resp.text())[:300]}")
        return _cookie(resp, "pc_session")


async def person(
    http: aiohttp.ClientSession, portal: str, session: str, rounds: int,
    times: dict[str, list[float]], failures: list[str],
) -> None:  # fmt: skip
    headers = {"Cookie": f"pc_session={session}"}
    for _ in range(rounds):
        for path, heading in PAGES.items():
            started = time.perf_counter()
            async with http.get(portal + path, headers=headers, allow_redirects=False) as resp:
                text = await resp.text()
            elapsed = time.perf_counter() - started
            if resp.status != 200 or heading not in text:
                failures.append(f"{path}: {resp.status}")
                continue
            times[path].append(elapsed)


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"count": len(ordered), "p50_ms": round(pick(0.50), 1),
            "p95_ms": round(pick(0.95), 1), "p99_ms": round(pick(0.99), 1),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 1)}  # fmt: skip


async def run(users: int, rounds: int, workdir: Path) -> dict[str, Any]:
    configured = os.environ.get("PRINTCLOUD_TEST_KAFKA_BOOTSTRAP")
    infra = adopted_infra() if configured else own_infra(workdir / "infra")
    platform = BenchPlatform(infra, workdir / "platform")
    await platform.prepare()
    try:
        await platform.start()
        portal = platform.url("portal").replace("127.0.0.1", "localhost")
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=120),
        ) as http:  # fmt: skip
            admin = await new_tenant_admin(http, platform)
            tokens = [await new_person(http, platform, admin.tenant_id) for _ in range(users)]
            sessions = await asyncio.gather(*(sign_in(http, portal, t) for t in tokens))
            times: dict[str, list[float]] = {p: [] for p in PAGES}
            failures: list[str] = []
            started = time.perf_counter()
            await asyncio.gather(*(person(http, portal, s, rounds, times, failures)
                                   for s in sessions))  # fmt: skip
            wall = time.perf_counter() - started
        every = [t for values in times.values() for t in values]
        return {
            "users": users, "rounds": rounds, "wall_s": round(wall, 2),
            "pages_per_s": round(len(every) / wall, 1), "failures": len(failures),
            "failure_examples": failures[:5], "all_pages": _summary(every),
            **{path: _summary(values) for path, values in times.items()},
        }  # fmt: skip
    finally:
        await platform.stop()
        infra.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="printcloud-portal-bench-") as tmp:
        result = asyncio.run(run(args.users, args.rounds, Path(tmp)))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
