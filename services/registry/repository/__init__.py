"""SQL for the registry's own schema (asyncpg, no ORM)."""

from services.registry.repository.catalog import *  # noqa: F403
from services.registry.repository.commands import *  # noqa: F403
from services.registry.repository.onboarding import *  # noqa: F403
