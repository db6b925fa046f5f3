"""What every queues view takes from the app and the request."""

from __future__ import annotations

from aiohttp import web

from services.queues.settings import QueuesSettings
from shared.blobstore import FilesystemBlobStore
from shared.db.outbox import Emitter
from shared.errors import Forbidden
from shared.http.auth import Principal
from shared.http.middleware import caller, correlation_id
from shared.service import RUNTIME


def settings(request: web.Request) -> QueuesSettings:
    """The service's settings."""
    s = request.app[RUNTIME].settings
    assert isinstance(s, QueuesSettings)
    return s


def blobs(request: web.Request) -> FilesystemBlobStore:
    """The document store."""
    return FilesystemBlobStore(settings(request).blob_dir)


def emitter(request: web.Request) -> Emitter:
    """An outbox emitter carrying the request's correlation id."""
    rt = request.app[RUNTIME]
    return Emitter(rt.schema, rt.spec.name, correlation_id(request))


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
