"""Print policies, their versions and history, and the groups read model."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.routing.domain.print_policies import PrintPolicy, Rules
from shared.errors import PermanentEventError
from shared.events.contracts.groups import GroupCreated, GroupDeleted, GroupUpdated


@dataclass(frozen=True)
class StoredGroup:
    """A group as routing knows it: its direct members."""

    group_id: uuid.UUID
    member_user_ids: tuple[uuid.UUID, ...]
    member_group_ids: tuple[uuid.UUID, ...]


def _rules(value: Any) -> Rules:
    return Rules.model_validate(json.loads(value) if isinstance(value, str) else value)


def _policy(row: asyncpg.Record | dict[str, Any]) -> PrintPolicy:
    def ident(v: Any) -> uuid.UUID | None:
        return None if v is None else v if isinstance(v, uuid.UUID) else uuid.UUID(v)

    updated_at = row["updated_at"]
    return PrintPolicy(
        policy_id=ident(row["policy_id"]),  # type: ignore[arg-type]
        tenant_id=ident(row["tenant_id"]),  # type: ignore[arg-type]
        name=row["name"],
        scope=row["scope"],
        subject_id=ident(row["subject_id"]),
        rules=_rules(row["rules"]),
        revision=row["revision"],
        updated_at=datetime.fromisoformat(updated_at)
        if isinstance(updated_at, str)
        else updated_at,
        updated_by=row["updated_by"],
    )


class PrintPolicies:
    """A tenant's print policies (versioned) and its groups."""

    conn: asyncpg.Connection

    # --- policies -------------------------------------------------------------------

    async def policy_state(self, tenant_id: uuid.UUID) -> tuple[int, list[PrintPolicy]]:
        """The tenant's policy version and its policies, read in one statement (so the
        two always match, whatever commits meanwhile). Version 0: never had a policy."""
        row = await self.conn.fetchrow(
            """
            SELECT COALESCE((SELECT version FROM print_policy_versions WHERE tenant_id = $1), 0)
                       AS version,
                   COALESCE((SELECT json_agg(p ORDER BY p.name) FROM print_policies p
                             WHERE p.tenant_id = $1), '[]'::json) AS policies
            """,
            tenant_id,
        )
        assert row is not None
        found = row["policies"]
        found = json.loads(found) if isinstance(found, str) else found
        return row["version"], [_policy(p) for p in found]

    async def get_print_policy(self, policy_id: uuid.UUID) -> PrintPolicy | None:
        """A policy by id (any tenant: the caller checks)."""
        row = await self.conn.fetchrow(
            "SELECT * FROM print_policies WHERE policy_id = $1", policy_id
        )
        return _policy(row) if row else None

    async def lock_policy_version(self, tenant_id: uuid.UUID) -> int:
        """Take the next policy version of the tenant (the row stays locked until commit,
        so a tenant's policy changes are numbered one after the other)."""
        version: int = await self.conn.fetchval(
            """
            INSERT INTO print_policy_versions (tenant_id, version) VALUES ($1, 1)
            ON CONFLICT (tenant_id) DO UPDATE SET version = print_policy_versions.version + 1
            RETURNING version
            """,
            tenant_id,
        )
        return version

    async def name_taken(
        self, tenant_id: uuid.UUID, name: str, other_than: uuid.UUID | None
    ) -> bool:
        """Whether another policy of the tenant has this name."""
        return bool(
            await self.conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM print_policies WHERE tenant_id = $1"
                " AND name = $2 AND policy_id IS DISTINCT FROM $3)",
                tenant_id,
                name,
                other_than,
            )
        )

    async def save_print_policy(self, policy: PrintPolicy, version: int, by: str) -> PrintPolicy:
        """Store a policy's new revision (created at revision 1) and its history row."""
        rules = policy.rules.model_dump(mode="json")
        row = await self.conn.fetchrow(
            """
            INSERT INTO print_policies (policy_id, tenant_id, name, scope, subject_id, rules,
                                        revision, updated_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (policy_id) DO UPDATE SET
                name = EXCLUDED.name, scope = EXCLUDED.scope, subject_id = EXCLUDED.subject_id,
                rules = EXCLUDED.rules, revision = EXCLUDED.revision, updated_at = now(),
                updated_by = EXCLUDED.updated_by
            RETURNING *
            """,
            policy.policy_id,
            policy.tenant_id,
            policy.name,
            policy.scope,
            policy.subject_id,
            rules,
            policy.revision,
            by,
        )
        await self._history(policy, version, rules, by)
        return _policy(row)

    async def delete_print_policy(self, policy: PrintPolicy, version: int, by: str) -> None:
        """Remove a policy; its history keeps a row saying so."""
        await self.conn.execute("DELETE FROM print_policies WHERE policy_id = $1", policy.policy_id)
        await self._history(policy, version, None, by, revision=policy.revision + 1)

    async def _history(
        self,
        policy: PrintPolicy,
        version: int,
        rules: dict[str, Any] | None,
        by: str,
        revision: int | None = None,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO print_policy_history (policy_id, revision, tenant_id, version, name,"
            " scope, subject_id, rules, by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            policy.policy_id,
            revision or policy.revision,
            policy.tenant_id,
            version,
            policy.name,
            policy.scope,
            policy.subject_id,
            rules,
            by,
        )

    async def policies_at_version(
        self, tenant_id: uuid.UUID, version: int
    ) -> list[PrintPolicy] | None:
        """The tenant's policies as they stood at ``version`` (None: no such version)."""
        current = await self.conn.fetchval(
            "SELECT version FROM print_policy_versions WHERE tenant_id = $1", tenant_id
        )
        if version < 0 or version > (current or 0):
            return None
        rows = await self.conn.fetch(
            """
            SELECT DISTINCT ON (policy_id) policy_id, tenant_id, name, scope, subject_id, rules,
                   revision, at AS updated_at, by AS updated_by
            FROM print_policy_history
            WHERE tenant_id = $1 AND version <= $2
            ORDER BY policy_id, version DESC
            """,
            tenant_id,
            version,
        )
        return sorted((_policy(r) for r in rows if r["rules"] is not None), key=lambda p: p.name)

    # --- groups ---------------------------------------------------------------------

    async def apply_group(self, data: GroupCreated | GroupUpdated | GroupDeleted) -> bool:
        """Keep a group's newest revision (a deletion is kept as a tombstone, so an older
        event replayed later cannot bring the group back); whether it was applied. A group
        of another tenant than the stored one is refused."""
        known = await self.conn.fetchval(
            "SELECT tenant_id FROM groups WHERE group_id = $1", data.group_id
        )
        if known is not None and known != data.tenant_id:
            raise PermanentEventError(f"group {data.group_id} belongs to another tenant")
        if isinstance(data, GroupDeleted):
            status = await self.conn.execute(
                """
                INSERT INTO groups (group_id, tenant_id, revision, deleted)
                VALUES ($1, $2, $3, true)
                ON CONFLICT (group_id) DO UPDATE SET
                    revision = EXCLUDED.revision, deleted = true,
                    member_user_ids = '{}', member_group_ids = '{}'
                WHERE groups.revision <= EXCLUDED.revision
                """,
                data.group_id,
                data.tenant_id,
                data.revision,
            )
        else:
            status = await self.conn.execute(
                """
                INSERT INTO groups (group_id, tenant_id, revision, name, member_user_ids,
                                    member_group_ids)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (group_id) DO UPDATE SET
                    revision = EXCLUDED.revision, name = EXCLUDED.name,
                    member_user_ids = EXCLUDED.member_user_ids,
                    member_group_ids = EXCLUDED.member_group_ids
                WHERE groups.revision < EXCLUDED.revision AND NOT groups.deleted
                """,
                data.group_id,
                data.tenant_id,
                data.revision,
                data.name,
                data.member_user_ids,
                data.member_group_ids,
            )
        return str(status).split()[-1] == "1"

    async def tenant_groups(self, tenant_id: uuid.UUID) -> list[StoredGroup]:
        """The tenant's groups (not deleted) with their direct members."""
        rows = await self.conn.fetch(
            "SELECT group_id, member_user_ids, member_group_ids FROM groups"
            " WHERE tenant_id = $1 AND NOT deleted",
            tenant_id,
        )
        return [
            StoredGroup(r["group_id"], tuple(r["member_user_ids"]), tuple(r["member_group_ids"]))
            for r in rows
        ]

    async def group_exists(self, tenant_id: uuid.UUID, group_id: uuid.UUID) -> bool:
        """Whether routing knows this group in this tenant (and it is not deleted)."""
        return bool(
            await self.conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM groups WHERE group_id = $1 AND tenant_id = $2"
                " AND NOT deleted)",
                group_id,
                tenant_id,
            )
        )

    async def virtual_printer_members(self, vp_id: uuid.UUID) -> list[uuid.UUID]:
        """The member printers of a virtual printer (empty when unknown)."""
        members = await self.conn.fetchval(
            "SELECT members FROM virtual_printers WHERE virtual_printer_id = $1", vp_id
        )
        return list(members or [])
