"""Per-user fan-out with resume: pure in-memory logic, no I/O.

Every message of a user's stream carries `seq`, the Kafka offset of the event in
the user's partition of task-updates (the partition key is the user id). Kafka
assigns it when the event is produced, so every realtime replica numbers the
stream the same way, and a client may resume on any of them. Each replica keeps
the newest messages per user; a client asking for something older than that, or
older than what this replica has seen since it started, is told to resync.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

Message = dict[str, Any]


class Connection:
    def __init__(self, user_id: str, queue_size: int) -> None:
        self.user_id = user_id
        self.queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=queue_size)
        self.overflowed = False
        # Seqs already sent from the backlog on resume; queued copies are skipped.
        self.skip: set[int] = set()

    def offer(self, message: Message) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            # Too slow to keep up: it gets a resync instead of holding anyone up.
            self.overflowed = True


@dataclass
class _Stream:
    partition: int | None = None
    retained: deque[Message] = field(default_factory=deque)
    # Event ids of `retained`: the outbox may publish an event twice (a retry after a
    # broker fault), at another offset; the copy is not news to anyone.
    event_ids: set[str] = field(default_factory=set)
    # Messages at or below this seq were dropped from `retained`.
    pruned_through: int = -1


def _event_id(message: Message) -> str | None:
    event = message.get("event")
    found = event.get("event_id") if isinstance(event, dict) else None
    return str(found) if found is not None else None


class Hub:
    def __init__(self, queue_size: int, retention: int = 1000) -> None:
        self._queue_size = queue_size
        self._retention = retention
        self._by_user: dict[str, set[Connection]] = defaultdict(set)
        self._streams: dict[str, _Stream] = {}
        # First offset this replica saw per partition: nothing earlier is known here.
        self._first_seen: dict[int, int] = {}

    # -- connections -------------------------------------------------------------------

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

    @property
    def connections(self) -> int:
        return sum(len(c) for c in self._by_user.values())

    # -- the stream ----------------------------------------------------------------------

    def publish(self, user_id: str, message: Message) -> int:
        """Retain (when it has a seq) and queue the message for each of the user's devices."""
        seq = message.get("seq")
        if isinstance(seq, int):
            stream = self._streams.setdefault(user_id, _Stream())
            partition = message.get("partition")
            if isinstance(partition, int):
                stream.partition = partition
                self._first_seen.setdefault(partition, seq)
            if stream.retained and stream.retained[-1]["seq"] >= seq:
                return 0  # a redelivery: already retained and sent
            event_id = _event_id(message)
            if event_id is not None:
                if event_id in stream.event_ids:
                    return 0  # a second copy of an event already sent
                stream.event_ids.add(event_id)
            stream.retained.append(message)
            while len(stream.retained) > self._retention:
                dropped = stream.retained.popleft()
                stream.pruned_through = dropped["seq"]
                stream.event_ids.discard(_event_id(dropped) or "")
        conns = self._by_user.get(user_id, ())
        for conn in conns:
            conn.offer(message)
        return len(conns)

    def latest(self, user_id: str) -> int | None:
        stream = self._streams.get(user_id)
        return stream.retained[-1]["seq"] if stream and stream.retained else None

    def since(self, user_id: str, after: int) -> list[Message] | None:
        """Everything after `after`, in order; None when this replica cannot know it all."""
        stream = self._streams.get(user_id)
        if stream is None:
            # Nothing of this user's since this replica started: it cannot tell what
            # the client missed.
            return None
        if after < stream.pruned_through:
            return None
        if stream.partition is not None:
            first = self._first_seen.get(stream.partition)
            if first is None or after + 1 < first:
                return None
        return [m for m in stream.retained if m["seq"] > after]
