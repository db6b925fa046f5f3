"""What every queues view takes from the app and the request: ``CONTEXT`` (the typed
runtime, settings, pool and emitter) and the queues' caller checks."""

from __future__ import annotations

from aiohttp import web

from services.queues.repository import QueuesRepository
from services.queues.settings import QueuesSettings
from shared.blobstore import FilesystemBlobStore
from shared.db.uow import PostgresTransactions
from shared.errors import Forbidden
from shared.http.auth import Principal
from shared.http.context import ServiceContext
from shared.http.middleware import caller

CONTEXT = ServiceContext(QueuesSettings)


def transactions(request: web.Request) -> PostgresTransactions[QueuesRepository]:
    """Units of work on the queues' schema; their events carry the request's correlation id."""
    schema = CONTEXT.runtime(request).schema
    return CONTEXT.transactions(request, QueuesRepository.of_schema(schema))


def blobs(request: web.Request) -> FilesystemBlobStore:
    """The document store."""
    return FilesystemBlobStore(CONTEXT.settings(request).blob_dir)


def user(request: web.Request, scope: str) -> Principal:
    """A tenant's user (not a device) whose token carries ``scope``."""
    who = caller(request, scope)
    if who.is_device or who.tenant_id is None:
        raise Forbidden("requires a user of a tenant")
    return who


def reader(request: web.Request) -> Principal:
    """A user (or an operator) who may read jobs."""
    who = caller(request, "jobs:read")
    if who.is_device:
        raise Forbidden("requires a user's token")
    return who
