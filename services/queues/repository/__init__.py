"""SQL for the queues' own schema (asyncpg, no ORM)."""

from services.queues.repository.idempotency import *  # noqa: F403
from services.queues.repository.jobs import *  # noqa: F403
from services.queues.repository.replicas import *  # noqa: F403
