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

A message is encoded to JSON once, when it is published: that text is what every
device is sent and what the replay buffer keeps (and counts), not the message's
objects.
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


@dataclass(frozen=True, slots=True)
class Frame:
    """One message of a user's stream as devices get it: its JSON text (ASCII, so its
    length is what it costs to keep and to send), made once for all of them."""

    seq: int | None
    text: str
    event_id: str | None = None


def encode(message: Message) -> Frame:
    seq = message.get("seq")
    return Frame(
        seq if isinstance(seq, int) else None,
        json.dumps(message, separators=(",", ":"), default=str),
        _event_id(message),
    )


class Connection:
    def __init__(self, user_id: str, queue_size: int) -> None:
        self.user_id = user_id
        self.queue: asyncio.Queue[Frame] = asyncio.Queue(maxsize=queue_size)
        self.overflowed = False
        # Seqs already sent from the backlog on resume; queued copies are skipped.
        self.skip: set[int] = set()

    def offer(self, frame: Frame) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            # Too slow to keep up: it gets a resync instead of holding anyone up.
            self.overflowed = True


@dataclass
class _Stream:
    partition: int | None = None
    retained: deque[Frame] = field(default_factory=deque)
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


def _seq(kept: Frame) -> int:
    """The seq of a retained frame (only frames with one are retained)."""
    assert kept.seq is not None
    return kept.seq


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
        frame = encode(message)
        seq = frame.seq
        if seq is not None:
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
            if stream.retained and _seq(stream.retained[-1]) >= seq:
                return 0  # a redelivery: already retained and sent
            if frame.event_id is not None:
                if frame.event_id in stream.event_ids:
                    return 0  # a second copy of an event already sent
                stream.event_ids.add(frame.event_id)
            size = len(frame.text)
            stream.retained.append(frame)
            stream.bytes += size
            self._bytes += size
            limits = self._limits
            while stream.retained and (
                len(stream.retained) > limits.count or stream.bytes > limits.user_bytes
            ):
                dropped = stream.retained.popleft()
                stream.pruned_through = _seq(dropped)
                stream.event_ids.discard(dropped.event_id or "")
                stream.bytes -= len(dropped.text)
                self._bytes -= len(dropped.text)
            self._enforce_bounds(now)
        conns = self._by_user.get(user_id, ())
        for conn in conns:
            conn.offer(frame)
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
            last = _seq(stream.retained[-1]) if stream.retained else stream.pruned_through
            known = self._forgotten_through.get(stream.partition, -1)
            self._forgotten_through[stream.partition] = max(known, last)

    def latest(self, user_id: str) -> int | None:
        stream = self._streams.get(user_id)
        return stream.retained[-1].seq if stream and stream.retained else None

    def since(self, user_id: str, after: int) -> list[Frame] | None:
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
        return [f for f in stream.retained if _seq(f) > after]
