"""Reservations: the caller's kept documents queued at a printer in order; listed and
cancelled by their owner (and their tenant's administrators)."""

from __future__ import annotations

from aiohttp import web

from services.queues.api.context import transactions, user
from services.queues.api.shapes import (
    ReservationOut,
    ReservationPage,
    dump,
    job_out,
    reservation_item,
)
from services.queues.domain.commands import CreateReservation, ReservationFilter
from services.queues.handlers.reservations import (
    cancel_reservation,
    create_reservation,
    list_reservations,
)
from shared.http.body import parse_json, path_uuid, query_model


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


async def list_all(request: web.Request) -> web.Response:
    """GET /v1/reservations: the caller's (a tenant admin's: the tenant's, unless
    owner=me), in id order."""
    who = user(request, "jobs:read")
    query = query_model(request, ReservationFilter)
    found = await list_reservations(
        transactions(request), who, mine=query.owner == "me", printer_id=query.printer_id,
        after=query.after, limit=query.limit,
    )  # fmt: skip
    page = ReservationPage(
        items=[reservation_item(r, jobs) for r, jobs in found],
        next_after=found[-1][0].id if len(found) == query.limit else None,
    )
    return web.json_response(dump(page))


async def cancel(request: web.Request) -> web.Response:
    """DELETE /v1/reservations/{reservation_id}: cancel it and its jobs not printed yet."""
    who = user(request, "jobs:submit")
    reservation_id = path_uuid(request, "reservation_id")
    reservation, jobs = await cancel_reservation(transactions(request), reservation_id, who)
    return web.json_response(dump(reservation_item(reservation, jobs)))
