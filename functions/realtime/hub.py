"""Per-user fan-out with resume: pure in-memory logic, no I/O.

Every message of a user's stream carries `seq`, the Kafka offset of the event in
the user's partition of task-updates (the partition key is the user id). Kafka
assigns it when the event is produced, so every realtime replica numbers the
stream the same way, and a client may resume on any of them. Each replica keeps
the newest messages per user; a client asking for something older than that, or
older than what this replica has seen since it started, is told to resync.

What is kept is bounded: per user by count and bytes, in all by bytes (the streams
least recently written go first), and a user with no socket and no event for
`idle_s` is forgotten. A forgotten stream can only make a resume ask for a resync.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Message = dict[str, Any]


def size_of(message: Message) -> int:
    """About what the message costs to keep: its JSON length."""
    return len(json.dumps(message, separators=(",", ":"), default=str))


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
    retained: deque[tuple[Message, int]] = field(default_factory=deque)  # (message, size)
    bytes: int = 0
    # Event ids of `retained`: the outbox may publish an event twice (a retry after a
    # broker fault), at another offset; the copy is not news to anyone.
    event_ids: set[str] = field(default_factory=set)
    # Messages at or below this seq were dropped from `retained`.
    pruned_through: int = -1
    touched: float = 0.0


@dataclass(frozen=True)
class Retention:
    count: int = 1000  # messages per user
    user_bytes: int = 256 * 1024
    total_bytes: int = 64 * 1024 * 1024
    idle_s: float = 900.0  # no socket and no event for this long: forgotten


def _event_id(message: Message) -> str | None:
    event = message.get("event")
    found = event.get("event_id") if isinstance(event, dict) else None
    return str(found) if found is not None else None


class Hub:
    def __init__(
        self,
        queue_size: int,
        retention: int | Retention = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._queue_size = queue_size
        self._limits = retention if isinstance(retention, Retention) else Retention(retention)
        self._clock = clock
        self._by_user: dict[str, set[Connection]] = defaultdict(set)
        # Least recently written first.
        self._streams: OrderedDict[str, _Stream] = OrderedDict()
        self._bytes = 0
        self._swept = clock()
        # First offset this replica saw per partition: nothing earlier is known here.
        self._first_seen: dict[int, int] = {}
        # Per partition, the newest seq of any stream forgotten: a stream started again
        # after that cannot vouch for anything older.
        self._forgotten_through: dict[int, int] = {}

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

    def devices(self, user_id: str) -> int:
        return len(self._by_user.get(user_id, ()))

    @property
    def retained_bytes(self) -> int:
        return self._bytes

    @property
    def streams(self) -> int:
        return len(self._streams)

    # -- the stream ----------------------------------------------------------------------

    def publish(self, user_id: str, message: Message) -> int:
        """Retain (when it has a seq) and queue the message for each of the user's devices."""
        seq = message.get("seq")
        if isinstance(seq, int):
            now = self._clock()
            partition = message.get("partition")
            stream = self._streams.get(user_id)
            if stream is None:
                floor = (
                    self._forgotten_through.get(partition, -1) if isinstance(partition, int) else -1
                )
                stream = self._streams[user_id] = _Stream(pruned_through=floor)
            self._streams.move_to_end(user_id)
            stream.touched = now
            if isinstance(partition, int):
                stream.partition = partition
                self._first_seen.setdefault(partition, seq)
            if stream.retained and stream.retained[-1][0]["seq"] >= seq:
                return 0  # a redelivery: already retained and sent
            event_id = _event_id(message)
            if event_id is not None:
                if event_id in stream.event_ids:
                    return 0  # a second copy of an event already sent
                stream.event_ids.add(event_id)
            size = size_of(message)
            stream.retained.append((message, size))
            stream.bytes += size
            self._bytes += size
            limits = self._limits
            while stream.retained and (
                len(stream.retained) > limits.count or stream.bytes > limits.user_bytes
            ):
                dropped, dropped_size = stream.retained.popleft()
                stream.pruned_through = dropped["seq"]
                stream.event_ids.discard(_event_id(dropped) or "")
                stream.bytes -= dropped_size
                self._bytes -= dropped_size
            self._enforce_bounds(now)
        conns = self._by_user.get(user_id, ())
        for conn in conns:
            conn.offer(message)
        return len(conns)

    def _enforce_bounds(self, now: float) -> None:
        while self._bytes > self._limits.total_bytes and self._streams:
            self._forget(next(iter(self._streams)))
        if now - self._swept < self._limits.idle_s / 4:
            return
        self._swept = now
        idle = [
            user
            for user, stream in self._streams.items()
            if now - stream.touched > self._limits.idle_s and user not in self._by_user
        ]
        for user in idle:
            self._forget(user)

    def _forget(self, user_id: str) -> None:
        stream = self._streams.pop(user_id)
        self._bytes -= stream.bytes
        if stream.partition is not None:
            last = stream.retained[-1][0]["seq"] if stream.retained else stream.pruned_through
            known = self._forgotten_through.get(stream.partition, -1)
            self._forgotten_through[stream.partition] = max(known, last)

    def latest(self, user_id: str) -> int | None:
        stream = self._streams.get(user_id)
        return stream.retained[-1][0]["seq"] if stream and stream.retained else None

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
        return [m for m, _ in stream.retained if m["seq"] > after]
