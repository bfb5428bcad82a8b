"""The per-replica search cache: limit checks read nothing while this replica's copy
was checked a moment ago, and read again once it is older or another replica wrote."""

from __future__ import annotations

from typing import Any

from functions.todo_api.list_cache import ListCache
from functions.todo_api.store import TaskStore, task_key
from shared.dapr.fake import FakeStateStore


class Counted(FakeStateStore):
    def __init__(self) -> None:
        super().__init__("tasks")
        self.reads = 0

    async def get_bulk(self, keys: list[str]) -> list[Any]:
        self.reads += 1
        return await super().get_bulk(keys)

    async def query(self, query: dict[str, Any]) -> Any:
        self.reads += 1
        return await super().query(query)


def _row(task_id: str) -> dict[str, Any]:
    return {"id": task_id, "list_id": "L", "title": task_id, "status": "open"}


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_limits_read_nothing_while_the_copy_was_just_checked(monkeypatch: Any) -> None:
    clock = Clock()
    monkeypatch.setattr("functions.todo_api.list_cache.time.monotonic", clock)
    store = Counted()
    await store.save(task_key("a"), _row("a"))
    cache = ListCache(TaskStore(store), limit_age_s=5.0)

    assert [r["id"] for r in await cache.rows_for_limits(["L"])] == ["a"]
    loaded = store.reads
    cache.applied("b", {"L": _row("b")})  # this replica's write
    await cache.renew()  # nobody else renewed: the copy is still whole
    reads = store.reads
    clock.now += 4.0
    assert sorted(r["id"] for r in await cache.rows_for_limits(["L"])) == ["a", "b"]
    assert store.reads == reads  # no stamp read, no reload
    assert loaded >= 2  # the first call did read (stamps, then the list)

    clock.now += 2.0  # older than limit_age_s: the stamp is read again
    await cache.rows_for_limits(["L"])
    assert store.reads == reads + 1


async def test_another_replicas_write_is_seen_by_the_next_check(monkeypatch: Any) -> None:
    clock = Clock()
    monkeypatch.setattr("functions.todo_api.list_cache.time.monotonic", clock)
    store = Counted()
    mine, theirs = ListCache(TaskStore(store)), ListCache(TaskStore(store))
    await mine.rows_for_limits(["L"])
    await store.save(task_key("c"), _row("c"))  # written through the other replica
    theirs.applied("c", {"L": _row("c")})
    await theirs.renew()
    clock.now += 1.0
    # Within limit_age_s this replica may miss it (the bound a limit tolerates) ...
    assert await mine.rows_for_limits(["L"]) == []
    clock.now += 5.0
    # ... and no longer: the stamp moved, so the list is read again.
    assert [r["id"] for r in await mine.rows_for_limits(["L"])] == ["c"]


async def test_a_copy_older_than_max_age_is_read_again_on_either_path(monkeypatch: Any) -> None:
    clock = Clock()
    monkeypatch.setattr("functions.todo_api.list_cache.time.monotonic", clock)
    store = Counted()
    await store.save(task_key("a"), _row("a"))
    cache = ListCache(TaskStore(store), max_age_s=3.0, limit_age_s=5.0)
    await cache.rows(["L"])
    reads = store.reads

    clock.now += 2.0  # a limit check within limit_age_s and max_age_s reads nothing
    await cache.rows_for_limits(["L"])
    assert store.reads == reads
    clock.now += 2.0  # checked within limit_age_s, but loaded too long ago: the stamp, the list
    await cache.rows_for_limits(["L"])
    assert store.reads == reads + 2

    clock.now += 2.0  # a search: the stamp is unchanged and the copy young enough
    await cache.rows(["L"])
    assert store.reads == reads + 3
    clock.now += 2.0  # the same stamp, but the copy is too old: read again
    await cache.rows(["L"])
    assert store.reads == reads + 5
