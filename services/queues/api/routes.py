"""The queues' URL table."""

from __future__ import annotations

from aiohttp import web

from services.queues.api import devices, documents, jobs, reservations, scans, streams
from services.queues.api.feed import JobFeed
from shared.http.streams import StreamSlots


def add_routes(app: web.Application) -> None:
    """Register the queues' public HTTP API (and the process' job feed)."""
    feed = JobFeed()
    app[streams.FEED] = feed
    app[streams.SLOTS] = StreamSlots("job event streams")
    app.on_shutdown.append(feed.close)
    app.router.add_post("/v1/documents", documents.upload)
    app.router.add_post("/v1/jobs", jobs.submit)
    app.router.add_get("/v1/jobs", jobs.list_jobs)
    app.router.add_get("/v1/jobs/events", streams.my_events)
    app.router.add_get("/v1/jobs/{job_id}", jobs.get_job)
    app.router.add_post("/v1/jobs/{job_id}/cancel", jobs.cancel)
    app.router.add_get("/v1/jobs/{job_id}/events", streams.job_events)
    app.router.add_post("/v1/printers/{printer_id}/release", jobs.release)
    app.router.add_post("/v1/reservations", reservations.create)
    app.router.add_get("/v1/reservations", reservations.list_all)
    app.router.add_delete("/v1/reservations/{reservation_id}", reservations.cancel)
    app.router.add_get("/v1/devices/me/jobs", devices.my_jobs)
    app.router.add_get("/v1/devices/me/jobs/{job_id}/document", devices.document)
    app.router.add_get("/v1/devices/me/sessions", devices.my_sessions)
    app.router.add_get("/v1/devices/me/virtual-printers", devices.my_virtual_printers)
    app.router.add_get("/v1/devices/me/scans", scans.waiting)
    app.router.add_put("/v1/devices/me/scans/{scan_id}/document", scans.deliver)
    app.router.add_post("/v1/scans", scans.create)
    app.router.add_get("/v1/scans/{scan_id}", scans.get)
    app.router.add_get("/v1/scans/{scan_id}/document", scans.document)
