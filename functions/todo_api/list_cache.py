"""Per-replica cache of each list's task rows for search, kept honest by a stamp per list
in the tasks store (`liststamp|<list>`, written only here)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from functions.todo_api.store import TaskStore, stamp_key
from shared.dapr import EtagMismatch, StateOp

log = logging.getLogger(__name__)


@dataclass
class _Cached:
    stamp: str
    rows: dict[str, dict[str, Any]]
    loaded_at: float
    # When this copy was last known to match the store (loaded, its stamp read, or
    # renewed by us with nobody else's renewal in between).
    checked_at: float = 0.0


class ListCache:
    """Per-replica cache of each list's task rows, validated on every read by a stamp
    in the tasks store. A search then costs one small read instead of re-reading
    thousands of rows. A write updates this replica's copy in place at once (it reads
    its own writes) and marks the list touched; the renewer then replaces the list's
    stamp, which makes every other replica reload it - milliseconds later, and never
    on the write's path. A copy older than `max_age_s` is re-read anyway."""

    def __init__(
        self, tasks: TaskStore, max_age_s: float = 300.0, limit_age_s: float = 5.0
    ) -> None:
        self._tasks = tasks
        self._state = tasks.state
        self._max_age_s = max_age_s
        self._limit_age_s = limit_age_s
        self._lists: dict[str, _Cached] = {}
        self._loading: dict[str, asyncio.Lock] = {}
        self._touched: set[str] = set()
        self._wake = asyncio.Event()

    async def rows(self, list_ids: list[str]) -> list[dict[str, Any]]:
        stamps = {
            i.key: i.value for i in await self._state.get_bulk([stamp_key(x) for x in list_ids])
        }
        out: list[dict[str, Any]] = []
        for list_id in list_ids:
            stamp = str(stamps.get(stamp_key(list_id)) or "none")
            out.extend((await self._list(list_id, stamp)).rows.values())
        return out

    async def rows_for_limits(self, list_ids: list[str]) -> list[dict[str, Any]]:
        """The rows a per-account limit is checked against, without a read when this
        replica's copy of every list matched the store in the last `limit_age_s`: a
        limit bounds abuse, so missing another replica's writes of that moment is
        fine, and a create then costs no stamp read."""
        now = time.monotonic()
        copies = [self._lists.get(x) for x in list_ids]
        if all(
            c is not None and now - c.checked_at < self._limit_age_s and self._young(c, now)
            for c in copies
        ):
            return [r for c in copies if c is not None for r in c.rows.values()]
        return await self.rows(list_ids)

    def _young(self, cached: _Cached, now: float) -> bool:
        """Loaded less than `max_age_s` ago: an older copy is re-read whatever its stamp."""
        return now - cached.loaded_at < self._max_age_s

    def _fresh(self, list_id: str, stamp: str) -> _Cached | None:
        cached = self._lists.get(list_id)
        now = time.monotonic()
        if cached and cached.stamp == stamp and self._young(cached, now):
            cached.checked_at = now
            return cached
        return None

    async def _list(self, list_id: str, stamp: str) -> _Cached:
        if cached := self._fresh(list_id, stamp):
            return cached
        lock = self._loading.setdefault(list_id, asyncio.Lock())
        async with lock:  # one reload per list at a time, however many searches wait
            if cached := self._fresh(list_id, stamp):
                return cached
            rows = await self._tasks.rows_of_list(list_id)
            now = time.monotonic()
            cached = _Cached(stamp, {r["id"]: r for r in rows}, now, now)
            self._lists[list_id] = cached
            return cached

    def applied(self, task_id: str, rows: dict[str, dict[str, Any] | None]) -> None:
        """After a commit: the task as it is now in each list (None: gone from it)."""
        for list_id, row in rows.items():
            cached = self._lists.get(list_id)
            if cached is not None:
                if row is None:
                    cached.rows.pop(task_id, None)
                else:
                    cached.rows[task_id] = row
            self._touched.add(list_id)
        self._wake.set()

    def touched(self, list_ids: list[str]) -> None:
        """Lists changed by a write this replica did not make (a swept crash's)."""
        for list_id in list_ids:
            self._lists.pop(list_id, None)
            self._touched.add(list_id)
        self._wake.set()

    async def renew(self) -> int:
        """Replace the stamps of the touched lists; returns how many. Our copy keeps up
        only if nobody else renewed since we validated it; otherwise it is dropped, and
        the stamp still changes so that every other replica reloads too."""
        ids = sorted(self._touched)
        if not ids:
            return 0
        self._touched.difference_update(ids)
        try:
            current = {i.key: i for i in await self._state.get_bulk([stamp_key(x) for x in ids])}
            fresh = {x: uuid.uuid4().hex for x in ids}
            ops, keep = [], []
            for list_id in ids:
                item = current.get(stamp_key(list_id))
                cached = self._lists.get(list_id)
                if cached is not None and cached.stamp == (str(item.value) if item else "none"):
                    keep.append(list_id)
                ops.append(
                    StateOp.insert(stamp_key(list_id), fresh[list_id])
                    if item is None
                    else StateOp.upsert(stamp_key(list_id), fresh[list_id], item.etag)
                )
            try:
                await self._state.transact(ops)
            except EtagMismatch:
                # Another replica renewed meanwhile: we cannot tell what our copies
                # miss. Drop them, and renew blindly so the others reload as well.
                keep = []
                await self._state.transact([StateOp.upsert(stamp_key(x), fresh[x]) for x in ids])
        except Exception:
            self._touched.update(ids)  # the store is away: try again later
            raise
        for list_id in ids:
            cached = self._lists.get(list_id)
            if list_id in keep and cached is not None:
                cached.stamp = fresh[list_id]
                cached.checked_at = time.monotonic()
            else:
                self._lists.pop(list_id, None)
        return len(ids)

    async def run_renewer(self, every_s: float = 0.05) -> None:
        """Renews touched lists, coalescing the writes of `every_s` into one round."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(every_s)
            try:
                await self.renew()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("search stamp renewal failed (%r); retrying", exc)
                await asyncio.sleep(1.0)
                self._wake.set()
