"""The in-memory unit of work behaves like a transaction: all or nothing."""

from __future__ import annotations

import uuid
from typing import ClassVar

import pytest

from shared.events.envelope import EventData
from shared.testing.uow import InMemoryTransactions


class Noted(EventData):
    event_type: ClassVar[str] = "test.noted"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "test.notes"
    note: str

    def partition_key(self) -> str:
        return self.note


class Notes:
    def __init__(self) -> None:
        self.notes: dict[str, str] = {}


async def test_a_completed_block_commits_its_changes_and_events() -> None:
    tx = InMemoryTransactions(Notes())
    async with tx() as uow:
        uow.repo.notes["a"] = "1"
        await uow.emit(Noted(note="a"), tenant_id=None)
    assert tx.repo.notes == {"a": "1"}
    assert tx.announced(Noted) == [Noted(note="a")]
    assert (tx.commits, tx.rollbacks) == (1, 0)


async def test_a_failing_block_leaves_nothing_behind() -> None:
    tx = InMemoryTransactions(Notes())
    tx.repo.notes["kept"] = "0"
    with pytest.raises(RuntimeError):
        async with tx() as uow:
            uow.repo.notes["a"] = "1"
            await uow.emit(Noted(note="a"), tenant_id=uuid.uuid4())
            raise RuntimeError("refused")
    assert tx.repo.notes == {"kept": "0"}
    assert tx.events == []
    assert (tx.commits, tx.rollbacks) == (0, 1)
