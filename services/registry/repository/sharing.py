"""SQL for sharing (the registry owns it) and the groups read model it checks against."""

from __future__ import annotations

import uuid

import asyncpg

from shared.http.auth import Principal
from shared.readmodels import groups, sharing
from shared.sharing import SharedWith, Viewer


class Sharing:
    """With whom each printer and virtual printer is shared, and who is in which group."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def get(self, subject_id: uuid.UUID) -> tuple[SharedWith, int]:
        """The sharing and its revision (0: never changed, the whole tenant)."""
        row = await self.conn.fetchrow(
            "SELECT shared_with, revision FROM sharing WHERE subject_id = $1", subject_id
        )
        if row is None:
            return SharedWith(), 0
        return SharedWith.model_validate(row["shared_with"]), row["revision"]

    async def put(
        self,
        subject_id: uuid.UUID,
        tenant_id: uuid.UUID,
        kind: str,
        shared: SharedWith,
        revision: int,
    ) -> None:
        """Store a sharing at ``revision``."""  # fmt: skip
        await self.conn.execute(
            """
            INSERT INTO sharing (subject_id, tenant_id, kind, revision, shared_with)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (subject_id) DO UPDATE
                SET revision = EXCLUDED.revision, shared_with = EXCLUDED.shared_with
            """,
            subject_id, tenant_id, kind, revision, shared.model_dump(mode="json"),
        )  # fmt: skip

    async def known_groups(self, tenant_id: uuid.UUID) -> set[uuid.UUID]:
        """The tenant's live groups, as the registry has learnt them from auth."""
        return set(await groups.tenant_groups(self.conn, tenant_id))

    async def viewer(self, who: Principal) -> Viewer | None:
        """The caller as sharing limits them (None: not limited)."""
        return await sharing.viewer_of(self.conn, who)

    async def may_use(self, subject_id: uuid.UUID, viewer: Viewer | None) -> bool:
        """Whether the viewer may see and use the printer or virtual printer."""
        return await sharing.may_use(self.conn, subject_id, viewer)
