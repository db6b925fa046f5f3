"""POST /v1/reservations: the caller's kept documents, queued at a printer in order."""

from __future__ import annotations

from aiohttp import web

from services.queues.api.context import transactions, user
from services.queues.api.shapes import ReservationOut, dump, job_out
from services.queues.domain.commands import CreateReservation
from services.queues.handlers.reservations import create_reservation
from shared.http.body import parse_json


async def create(request: web.Request) -> web.Response:
    """Queue kept documents within the counts; jobs not printed by the deadline expire."""
    who = user(request, "jobs:submit")
    cmd = await parse_json(request, CreateReservation)
    reservation_id, jobs = await create_reservation(transactions(request), cmd, who)
    answer = ReservationOut(
        reservation_id=reservation_id,
        printer_id=cmd.printer_id,
        deadline=cmd.deadline,
        jobs=[job_out(j) for j in jobs],
    )
    return web.json_response(dump(answer), status=201)
