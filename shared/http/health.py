"""Liveness and metrics endpoints every process serves (readiness is per process kind)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


async def healthz(_: web.Request) -> web.Response:
    """Alive: the process answers HTTP. Checks nothing else, on purpose."""
    return web.json_response({"status": "alive"})


async def metrics(_: web.Request) -> web.Response:
    """Prometheus text format of the process's default registry."""
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def readiness(checks: dict[str, str]) -> web.Response:
    """200 when every check says ``ok``, else 503, with the checks as JSON."""
    ok = all(v == "ok" for v in checks.values())
    return web.json_response(
        {"status": "ready" if ok else "not ready", "checks": checks}, status=200 if ok else 503
    )
