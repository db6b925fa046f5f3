"""Events of other services turned into queued webhooks, in the consumer's inbox
transaction: the deliveries commit with the event's inbox record, so an event is queued
exactly once for each URL that hears it, in the order the topic gave."""

from __future__ import annotations

from typing import Any

from services.notifications.domain import notices
from services.notifications.domain.model import Notice, deliveries_for
from services.notifications.repository import NotificationsRepository
from shared.db.uow import UnitOfWork
from shared.events.contracts.devices import DeviceClaimed
from shared.events.contracts.jobs import JobOriginRecorded
from shared.events.contracts.quotas import QuotaStateChanged
from shared.events.contracts.registry import PrinterConnectionChanged
from shared.events.contracts.supplies import SupplyLevelWarning
from shared.events.registry import DecodedEvent

Work = UnitOfWork[NotificationsRepository]


async def queue(uow: Work, notice: Notice, callback_url: str | None = None) -> int:
    """Queue ``notice`` for every endpoint of its tenant that hears it; how many."""
    endpoints = await uow.repo.enabled_endpoints(notice.tenant_id)
    return await uow.repo.add_deliveries(deliveries_for(notice, endpoints, callback_url))


async def job_changed(uow: Work, event: DecodedEvent[Any]) -> None:
    """A job event on ``queues.jobs``: remember the job's facts, queue the notice (to its
    submitter's callback URL as well, when it gave one)."""
    data = event.data
    before = await uow.repo.job_facts(data.job_id)
    after = notices.job_facts(data, before)
    if after is not None:
        await uow.repo.save_job_facts(after)
    facts = after or before
    if isinstance(data, JobOriginRecorded):
        return  # told to nobody: it only says who to tell about the job
    notice = notices.job_notice(event.envelope, data, facts)
    await queue(uow, notice, facts.callback_url if facts else None)


async def printer_connection_changed(
    uow: Work, event: DecodedEvent[PrinterConnectionChanged]
) -> None:
    """printer.connection_changed: a printer online or offline."""
    await queue(uow, notices.printer_notice(event.envelope, event.data))


async def supply_warned(uow: Work, event: DecodedEvent[SupplyLevelWarning]) -> None:
    """supply.level_warning: a low or empty supply."""
    await queue(uow, notices.supply_notice(event.envelope, event.data))


async def quota_changed(uow: Work, event: DecodedEvent[QuotaStateChanged]) -> None:
    """quota.state_changed: told as quota.exceeded when the quota first passes its limit
    in a period."""
    data = event.data
    was = await uow.repo.swap_quota_state(data.quota_id, data.period_start, data.exceeded)
    notice = notices.quota_notice(event.envelope, data, was)
    if notice is not None:
        await queue(uow, notice)


async def device_claimed(uow: Work, event: DecodedEvent[DeviceClaimed]) -> None:
    """device.claimed: a printer or connector joined the tenant."""
    await queue(uow, notices.claimed_notice(event.envelope, event.data))
