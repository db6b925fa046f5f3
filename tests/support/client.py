"""What the client's tests share: a stand-in for queues, an aiohttp app that answers
queues' routes as designed, records what the commands sent and checks they carry an
access token auth issued."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Queues:
    """The stand-in for queues: what it received."""

    documents: dict[str, bytes] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    reservations: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)


def queues_app(q: Queues) -> web.Application:
    """Queues' routes as designed, answering from and recording into ``q``."""

    def who(request: web.Request) -> None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ey"):  # a JWT from auth, not the API token
            raise web.HTTPUnauthorized(
                text=json.dumps({"title": "Authentication required", "status": 401}),
                content_type="application/problem+json",
            )
        q.tokens.add(auth)

    async def upload(request: web.Request) -> web.Response:
        who(request)
        data = b"".join([c async for c in request.content.iter_chunked(65536)])
        doc_id = str(uuid.uuid4())
        q.documents[doc_id] = data
        q.requests.append(("POST", request.path_qs, request.content_type))
        return web.json_response({"document_id": doc_id, "size": len(data)}, status=201)

    async def submit(request: web.Request) -> web.Response:
        who(request)
        body = await request.json()
        q.requests.append(("POST", "/v1/jobs", body))
        if body.get("settings", {}).get("copies") == 999:
            return web.json_response(
                {"type": "https://printcloud.dev/problems/settings-not-supported",
                 "title": "Settings not supported", "status": 422,
                 "detail": "the printer cannot print these settings",
                 "code": "settings-not-supported",
                 "errors": [{"field": "settings.copies", "reason": "at most 99 copies"}]},
                status=422, content_type="application/problem+json",
            )  # fmt: skip
        job = {"id": str(uuid.uuid4()), "state": "pending", "title": body.get("title"),
               "printer_id": body.get("printer_id"), "submitted_at": "2030-01-01",
               "virtual_printer_id": body.get("virtual_printer_id"),
               "release": body.get("release", "direct")}  # fmt: skip
        q.jobs[job["id"]] = job
        return web.json_response(job, status=201)

    async def list_jobs(request: web.Request) -> web.Response:
        who(request)
        return web.json_response({"items": list(q.jobs.values()), "next_after": None})

    async def get_job(request: web.Request) -> web.Response:
        who(request)
        job = q.jobs.get(request.match_info["job_id"])
        if job is None:
            return web.json_response(
                {"title": "Not found", "status": 404, "detail": "no such job",
                 "code": "job-not-found"},
                status=404, content_type="application/problem+json",
            )  # fmt: skip
        return web.json_response(job)

    async def cancel(request: web.Request) -> web.Response:
        who(request)
        job = q.jobs[request.match_info["job_id"]]
        job["state"] = "canceled"
        return web.json_response(job)

    async def events(request: web.Request) -> web.StreamResponse:
        who(request)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for i, state in enumerate(("queued", "printing", "completed"), 1):
            data = json.dumps({"job_id": request.match_info["job_id"], "state": state,
                               "at": f"2030-01-01T12:00:0{i}+00:00",
                               "detail": {"hold_reason": None, "printer_state": "idle"}
                               if state == "printing" else None})  # fmt: skip
            await response.write(f"id: {i}\nevent: job.{state}\ndata: {data}\n\n".encode())
            await asyncio.sleep(0.05)
        await response.write_eof()
        return response

    async def release(request: web.Request) -> web.Response:
        who(request)
        body = await request.json()
        q.requests.append(("POST", request.path, body))
        return web.json_response({"released": [{"id": j} for j in body.get("job_ids", [])]})

    async def reserve(request: web.Request) -> web.Response:
        who(request)
        body = await request.json()
        q.requests.append(("POST", "/v1/reservations", body))
        jobs = [{"id": str(uuid.uuid4()), "title": t, "pages": p, "state": "pending"}
                for t, p in (("b", 3), ("a", 1))]  # fmt: skip
        answer = {"reservation_id": str(uuid.uuid4()), "printer_id": body["printer_id"],
                  "deadline": body["deadline"], "jobs": jobs}  # fmt: skip
        q.reservations[answer["reservation_id"]] = {**answer, "canceled_at": None}
        return web.json_response(answer, status=201)

    async def reservations(request: web.Request) -> web.Response:
        who(request)
        q.requests.append(("GET", "/v1/reservations", dict(request.query)))
        return web.json_response({"items": list(q.reservations.values()), "next_after": None})

    async def cancel_reservation(request: web.Request) -> web.Response:
        who(request)
        found = q.reservations.get(request.match_info["reservation_id"])
        if found is None:
            return web.json_response(
                {"title": "Not found", "status": 404, "detail": "no such reservation",
                 "code": "reservation-not-found"},
                status=404, content_type="application/problem+json",
            )  # fmt: skip
        found["canceled_at"] = "2030-01-01T12:00:00+00:00"
        for job in found["jobs"]:
            job["state"] = "canceled"
        return web.json_response(found)

    app = web.Application()
    app.router.add_post("/v1/documents", upload)
    app.router.add_post("/v1/jobs", submit)
    app.router.add_get("/v1/jobs", list_jobs)
    app.router.add_get("/v1/jobs/{job_id}", get_job)
    app.router.add_post("/v1/jobs/{job_id}/cancel", cancel)
    app.router.add_get("/v1/jobs/{job_id}/events", events)
    app.router.add_post("/v1/printers/{printer_id}/release", release)
    app.router.add_post("/v1/reservations", reserve)
    app.router.add_get("/v1/reservations", reservations)
    app.router.add_delete("/v1/reservations/{reservation_id}", cancel_reservation)
    return app
