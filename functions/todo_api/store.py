"""Task rows in the `tasks` state store; every write carries its event through the outbox."""

from __future__ import annotations

from shared.dapr import EtagMismatch, StateOp, StateStore
from shared.events import EventBase, TaskSnapshot


def task_key(task_id: str) -> str:
    return f"task|{task_id}"


class TaskExists(Exception):
    pass


class TaskStore:
    def __init__(self, state: StateStore) -> None:
        self._state = state

    async def get(self, task_id: str) -> tuple[TaskSnapshot, str | None] | None:
        item = await self._state.get(task_key(task_id))
        if item is None:
            return None
        return TaskSnapshot.model_validate(item.value), item.etag

    async def insert(self, task: TaskSnapshot, event: EventBase) -> None:
        """Create the row and emit its event in ONE transaction; TaskExists if the id is taken.

        The projection must be the last operation: Dapr removes it from the
        list while iterating, and a later one would be skipped.
        """
        key = task_key(task.id)
        try:
            await self._state.transact(
                [
                    StateOp.insert(key, task.model_dump(mode="json")),
                    StateOp.outbox_event(key, event),
                ]
            )
        except EtagMismatch as exc:
            raise TaskExists(task.id) from exc
