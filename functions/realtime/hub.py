"""Per-user fan-out to connected devices; a slow device never stalls the others."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

log = logging.getLogger(__name__)


class Connection:
    def __init__(self, user_id: str, queue_size: int) -> None:
        self.user_id = user_id
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=queue_size)
        self.overflowed = False

    def offer(self, message: dict[str, Any]) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            # The device is too slow: it will be told to resync instead of
            # holding everyone else's delivery.
            self.overflowed = True


class Hub:
    def __init__(self, queue_size: int) -> None:
        self._queue_size = queue_size
        self._by_user: dict[str, set[Connection]] = defaultdict(set)

    def connect(self, user_id: str) -> Connection:
        conn = Connection(user_id, self._queue_size)
        self._by_user[user_id].add(conn)
        return conn

    def disconnect(self, conn: Connection) -> None:
        conns = self._by_user.get(conn.user_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._by_user[conn.user_id]

    def publish(self, user_id: str, message: dict[str, Any]) -> int:
        """Queue the message for every device of the user; returns how many."""
        conns = self._by_user.get(user_id, ())
        for conn in conns:
            conn.offer(message)
        return len(conns)

    @property
    def connections(self) -> int:
        return sum(len(c) for c in self._by_user.values())
