"""taskwave's one transactional outbox: every event, task or list, leaves through it.

A write adds `Outbox.pending(...)` to the SAME Dapr state transaction as the change
(a row of kind `todo-api.outbox` in whichever store the change lives in), so the
change and its event commit together or not at all; a failed transaction leaves
nothing behind and holds up no other event. After the commit the request hands
the event to this replica's relay (`committed`) and returns: it never waits for
Kafka, so writes stay up while the broker is away.

The relay has two lanes per replica, each one task that publishes in commit order:
`task-events` (one Dapr bulk publish per batch, key = the actor) and `task-updates`
(the per-member copies, key = the member). A batch holds at most one event per key,
each key in commit order (`_one_per_key`: a failing broker may reorder within one
bulk publish). The lanes keep their own pace, so the membership read and the copies
never hold up task-events, which every other consumer reads. Once both lanes sent an
event, one transaction per store deletes the rows. Who gets a copy of a task change
is the membership of its list(s) when the copy lane sends it, read once per batch,
not once per write; list events name their audience (a removed member hears of the
removal). A failed publish is retried, same batch first, with backoff; consumers
drop the copies they already have by event id.

The sweeper finds rows nobody is relaying: left by a crash (this replica's
earlier life, or a replica whose heartbeat stopped), or left out of the in-memory
queue when it overflowed during a long outage. It reads pending rows through the
Query API on `kind`, which a partial index makes a lookup of pending rows only
(helm/taskwave/migrations/), and publishes them oldest first, through the same relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.dapr import Publisher, StateOp, StateStore
from shared.events import Event, parse_event
from shared.telemetry import current_traceparent, producer_spans
from shared.topics import Topic
from shared.web.metrics import (
    OUTBOX_BACKLOG,
    OUTBOX_BATCH_SECONDS,
    OUTBOX_FAILURES,
    OUTBOX_PUBLISHED,
)

log = logging.getLogger(__name__)

# The member ids of each of these lists, as they are now (one read for a batch).
Audience = Callable[[list[str]], Awaitable[dict[str, list[str]]]]

# `kind` of pending rows (the Query API sees every app's rows of a table).
PENDING = "todo-api.outbox"
QUERY_PAGE = 1000


_CLEAR_ATTEMPTS = 4  # 0.2 + 0.4 + 0.8 s between them


def _key(event: Event) -> str:
    return f"outbox|{event.event_id}"


def _heartbeat_key(owner: str) -> str:
    return f"outbox-owner|{owner}"


@dataclass(frozen=True)
class Pending:
    """One committed (or about to be committed) event and where its row lives."""

    store: str
    event: Event
    # Whose feeds get a copy: these members, or else the members of these lists.
    members: tuple[str, ...] | None
    lists: tuple[str, ...]
    created_at: str
    seq: int
    owner: str = ""
    # The trace of the request that made the event: the relay publishes it in that
    # trace, after the request has returned.
    traceparent: str = ""

    @property
    def key(self) -> str:
        return _key(self.event)

    @property
    def order(self) -> tuple[str, int]:
        return self.created_at, self.seq


@dataclass
class OutboxStats:
    published: int = 0
    swept: int = 0
    failures: int = 0
    overflowed: int = 0
    last_error: str = ""
    batches: list[int] = field(default_factory=list)


# The relay's two lanes: task-events (one message per event, key = the actor) and
# task-updates (a copy per member). Each keeps its own order and pace, so a slow
# membership read or copy publish never holds up task-events.
EVENTS, COPIES = "task-events", "task-updates"


def _keys(p: Pending, lane: str | None = None) -> set[str]:
    """The Kafka keys an item's messages carry: the actor on task-events; on task-updates
    the members it names, or for a task change its lists, whose members get the copies.
    Both lanes' keys when `lane` is None (the sweeper publishes both at once)."""
    actor = {f"a:{p.event.partition_key}"}
    if lane == EVENTS:
        return actor
    named = p.members is not None
    copies = {f"m:{m}" for m in p.members or ()} if named else {f"l:{x}" for x in p.lists}
    return copies if lane == COPIES else actor | copies


def _one_per_key(
    items: Iterable[Pending], limit: int, window: int, lane: str | None = None
) -> list[Pending]:
    """The items of one bulk publish: at most `limit`, at most one per Kafka key, and a
    key's items in commit order. Dapr's Kafka producer keeps Sarama's defaults (5
    produce requests in flight, not idempotent), so when the broker fails the messages
    of ONE bulk publish may land out of order; a key's next message waits for the next
    batch (sent once this one is acknowledged). An item whose key is taken is skipped,
    and so are the later items sharing any key with it, so each key keeps its order
    while other users' events still go (a prefix that stops at the first repeated key
    made batches of ~10 with 64 active users, and the relay a bottleneck). `window`
    bounds how far into the queue one batch looks. A member of two lists changed in
    one batch is the one case left to chance (noted in docs)."""
    taken: list[Pending] = []
    blocked: set[str] = set()
    for n, p in enumerate(items):
        if n >= window or len(taken) >= limit:
            break
        keys = _keys(p, lane)
        if not keys & blocked:
            taken.append(p)
        blocked |= keys
    return taken


class Outbox:
    def __init__(
        self,
        stores: Mapping[str, StateStore],
        heartbeats: StateStore,
        publisher: Publisher,
        *,
        owner: str,
        batch: int = 256,
        max_queue: int = 20_000,
        grace: timedelta = timedelta(seconds=3),
        orphan_after: timedelta = timedelta(seconds=15),
        held: Callable[[], bool] | None = None,
        linger: float = 0.005,
        clear_every: float = 0.05,
        audience: Audience | None = None,
        adopted: Callable[[list[str]], None] | None = None,
    ) -> None:
        self._stores = dict(stores)
        self._heartbeats = heartbeats
        self._publisher = publisher
        self.owner = owner
        self._batch = batch
        self._window = 4 * batch  # how far one batch looks past keys it cannot take
        self._max_queue = max_queue
        self._grace = grace
        self._orphan_after = orphan_after
        self._lanes: dict[str, deque[Pending]] = {EVENTS: deque(), COPIES: deque()}
        self._wakes = {EVENTS: asyncio.Event(), COPIES: asyncio.Event()}
        self._lanes_left: dict[str, int] = {}  # key -> lanes that have not sent it yet
        self._queued: set[str] = set()
        self._clearing: set[str] = set()  # published, rows being deleted
        self._clears: set[asyncio.Task[None]] = set()
        # A lane that woke from empty waits this long for more commits to join its
        # batch (Kafka's own producer lingers 5 ms by default): without it, at 150
        # writes/s the lanes sent batches of ~4 and each batch's fixed cost (sidecar
        # call, produce request) dominated.
        self._linger = linger
        # Rows of sent events are deleted together, every `clear_every` at most: a
        # delete is off every path a reader waits on, so one transaction per round
        # instead of one per batch.
        self._clear_every = clear_every
        self._to_clear: list[Pending] = []
        self._clearer: asyncio.Task[None] | None = None
        self._sweep_now = asyncio.Event()
        self._seq = itertools.count()
        # Set when the queue overflowed: from then on the store is the queue (the
        # sweeper publishes in commit order) until no row of ours is left behind.
        self._overflow = False
        self.paused = False  # tests: hold the relay as if the replica had stalled
        self._held = held or (lambda: False)
        self._audience = audience
        # Told the lists of the writes the sweeper took over: nobody renewed their
        # search stamps if the writer crashed.
        self._adopted = adopted or (lambda _: None)
        self.stats = OutboxStats()

    # -- the write side ------------------------------------------------------------------

    def pending(
        self,
        store: str,
        event: Event,
        now: datetime,
        *,
        members: Iterable[str] | None = None,
        lists: Iterable[str] = (),
    ) -> tuple[StateOp, Pending]:
        """The row to add to the transaction that makes `event` true, and its handle.
        Its copies go to `members`, or (None) to the members of `lists` at publish time."""
        if store not in self._stores:
            raise KeyError(f"the outbox does not know state store {store!r}")
        item = Pending(
            store,
            event,
            None if members is None else tuple(dict.fromkeys(members)),
            tuple(dict.fromkeys(lists)),
            now.astimezone(UTC).isoformat(),
            next(self._seq),
            self.owner,
            current_traceparent(),
        )
        row = {
            "kind": PENDING,
            "owner": self.owner,
            "seq": item.seq,
            "created_at": item.created_at,
            "members": None if item.members is None else list(item.members),
            "lists": list(item.lists),
            "event": event.model_dump(mode="json"),
            "traceparent": item.traceparent,
        }
        return StateOp.insert(item.key, row), item

    def committed(self, item: Pending) -> None:
        """After the commit: hand the event to the relay. Never blocks, never raises."""
        if self._overflow or self.backlog >= self._max_queue:
            if not self._overflow:
                log.warning("outbox queue full (%d): the sweeper takes over", self._max_queue)
                self.stats.overflowed += 1
            self._overflow = True  # the row is in the store; the sweeper will find it
        else:
            for lane in self._lanes.values():
                lane.append(item)
            self._lanes_left[item.key] = len(self._lanes)
            self._queued.add(item.key)
            OUTBOX_BACKLOG.set(self.backlog)
        for wake in self._wakes.values():
            wake.set()

    @property
    def holding(self) -> bool:
        return self.paused or self._held()

    @property
    def backlog(self) -> int:
        """Events not yet fully published (the slower lane's queue)."""
        return max(len(q) for q in self._lanes.values())

    # -- the relay -----------------------------------------------------------------------

    async def _audiences(self, items: list[Pending]) -> list[list[str]]:
        """Whose feeds get a copy of each item: named, or its lists' members (one read)."""
        wanted = sorted({x for p in items if p.members is None for x in p.lists})
        of_list: dict[str, list[str]] = {}
        if wanted:
            if self._audience is None:
                raise RuntimeError("this outbox cannot resolve list members")
            of_list = await self._audience(wanted)
        return [
            list(
                p.members
                if p.members is not None
                else dict.fromkeys(m for x in p.lists for m in of_list.get(x, []))
            )
            for p in items
        ]

    async def _send_events(self, items: list[Pending]) -> None:
        """Each event once on task-events, keyed by its actor, in the trace that made it."""
        with producer_spans(
            f"publish {Topic.TASK_EVENTS}", [p.traceparent for p in items]
        ) as traces:
            await self._publisher.publish_many(
                Topic.TASK_EVENTS,
                [(p.event, p.event.partition_key) for p in items],
                traceparents=traces,
            )

    async def _send_copies(self, items: list[Pending]) -> None:
        """A copy of each event for every member of its audience on task-updates."""
        with producer_spans(
            f"publish {Topic.TASK_UPDATES}", [p.traceparent for p in items]
        ) as traces:
            known = await self._audiences(items)
            messages = [
                (p.event.for_member(m), m) for p, ms in zip(items, known, strict=True) for m in ms
            ]
            copy_traces = [t for ms, t in zip(known, traces, strict=True) for _ in ms]
            await self._publisher.publish_many(
                Topic.TASK_UPDATES, messages, traceparents=copy_traces
            )

    def _published(self, items: list[Pending], path: str, started: float) -> None:
        OUTBOX_BATCH_SECONDS.observe(time.perf_counter() - started)
        OUTBOX_PUBLISHED.labels(path).inc(len(items))
        self.stats.published += len(items)
        self.stats.batches.append(len(items))
        del self.stats.batches[:-100]

    async def _publish(self, items: list[Pending], path: str) -> None:
        """Both lanes' messages of these items at once (the sweeper); raises unless all
        went."""
        started = time.perf_counter()
        await asyncio.gather(self._send_events(items), self._send_copies(items))
        self._published(items, path, started)

    async def _clear_soon(self) -> None:
        while self._to_clear:
            await asyncio.sleep(self._clear_every)  # let more sent rows join
            items, self._to_clear = self._to_clear, []
            await self._clear(items)

    async def _clear(self, items: list[Pending]) -> None:
        """Delete the rows of published events (one transaction per store). A failed
        delete is tried again before the rows are left to the sweeper, which would
        publish them once more."""
        by_store: dict[str, list[StateOp]] = {}
        for p in items:
            by_store.setdefault(p.store, []).append(StateOp.delete(p.key))
        try:
            for attempt in range(_CLEAR_ATTEMPTS):
                try:
                    await asyncio.gather(
                        *(self._stores[s].transact(ops) for s, ops in by_store.items())
                    )
                    return
                except Exception as exc:  # deletes are idempotent: retry them all
                    if attempt == _CLEAR_ATTEMPTS - 1:
                        log.warning(
                            "outbox rows of %d published events not cleared: %r", len(items), exc
                        )
                    else:
                        await asyncio.sleep(0.2 * 2**attempt)
        finally:
            self._clearing.difference_update(p.key for p in items)

    async def _lane_once(self, lane: str) -> int:
        """Send the oldest batch of one lane; returns how many went (0: nothing to do)."""
        queue = self._lanes[lane]
        if not queue or self.holding:
            return 0
        items = _one_per_key(queue, self._batch, self._window, lane)
        started = time.perf_counter()
        if lane == EVENTS:
            await self._send_events(items)
            self._published(items, "relay", started)
        else:
            await self._send_copies(items)
        sent = {p.key for p in items}
        if len(items) == len(sent) and all(queue[i].key == p.key for i, p in enumerate(items)):
            for _ in items:  # the usual case: the oldest items, in order
                queue.popleft()
        else:
            self._lanes[lane] = deque(p for p in queue if p.key not in sent)
        done = []
        for p in items:
            self._lanes_left[p.key] -= 1
            if not self._lanes_left[p.key]:
                del self._lanes_left[p.key]
                done.append(p)
        if done:
            # The next batch need not wait for these rows to go: publishing stays in
            # commit order, clearing overlaps it.
            self._clearing.update(p.key for p in done)
            self._queued.difference_update(p.key for p in done)
            self._to_clear.extend(done)
            if self._clearer is None or self._clearer.done():
                self._clearer = asyncio.create_task(self._clear_soon())
                self._clears.add(self._clearer)
                self._clearer.add_done_callback(self._clears.discard)
        OUTBOX_BACKLOG.set(self.backlog)
        if self._overflow and not self.backlog:
            self._sweep_now.set()
        return len(items)

    async def relay_once(self) -> int:
        """One batch of each lane; returns the larger (0: nothing queued)."""
        if self.holding:
            return 0
        results = await asyncio.gather(
            *(self._lane_once(lane) for lane in self._lanes), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return max(r for r in results if isinstance(r, int))

    # -- the sweeper ---------------------------------------------------------------------

    async def _pending_rows(self) -> list[Pending]:
        found: list[Pending] = []
        for name, store in self._stores.items():
            token: str | None = None
            while True:
                page: dict[str, Any] = {"limit": QUERY_PAGE}
                if token:
                    page["token"] = token
                items, token = await store.query(
                    {"filter": {"EQ": {"kind": PENDING}}, "page": page}
                )
                for item in items:
                    row = item.value
                    found.append(
                        Pending(
                            name,
                            parse_event(row["event"]),
                            None if row.get("members") is None else tuple(row["members"]),
                            tuple(row.get("lists", [])),
                            str(row.get("created_at", "")),
                            int(row.get("seq", 0)),
                            str(row.get("owner", "")),
                            str(row.get("traceparent", "")),
                        )
                    )
                if not token or len(items) < QUERY_PAGE:
                    break
        return found

    async def _alive(self, owners: set[str], now: datetime) -> set[str]:
        if not owners:
            return set()
        beats = await self._heartbeats.get_bulk([_heartbeat_key(o) for o in sorted(owners)])
        alive = set()
        for beat in beats:
            at = beat.value.get("at") if isinstance(beat.value, dict) else None
            if at and now - datetime.fromisoformat(at) < self._orphan_after:
                alive.add(beat.key.removeprefix("outbox-owner|"))
        return alive

    async def sweep(self, now: datetime, *, startup: bool = False) -> int:
        """Publish the rows nobody is relaying, oldest first; returns how many."""
        # Rows the relay is clearing now may still be in what the query reads, and be
        # gone from `_clearing` by the time they are looked at: published already.
        in_flight = set(self._clearing)
        rows = await self._pending_rows()
        owners = {r.owner for r in rows} - {self.owner}
        alive = await self._alive(owners, now)
        overflow = self._overflow
        taken: list[Pending] = []
        for row in rows:
            young = now - datetime.fromisoformat(row.created_at) < self._grace
            if row.owner == self.owner:
                if row.key in self._queued or row.key in self._clearing or row.key in in_flight:
                    continue  # the relay has it
                if young and not (startup or overflow):
                    continue  # committed a moment ago: its request hands it to the relay
            elif young or row.owner in alive:
                continue  # another replica's, which is relaying it (or just started)
            taken.append(row)
        taken.sort(key=lambda p: p.order)
        left = taken
        while left:
            batch = _one_per_key(left, self._batch, len(left))
            await self._publish(batch, "sweeper")
            await self._clear(batch)
            sent = {p.key for p in batch}
            left = [p for p in left if p.key not in sent]
        if adopted := sorted(
            {x for p in taken if p.owner != self.owner or startup for x in p.lists}
        ):
            self._adopted(adopted)
        self.stats.swept += len(taken)
        if overflow and not self.backlog:
            self._overflow = False  # everything left behind is out: back to the queue
        return len(taken)

    async def heartbeat(self, now: datetime) -> None:
        await self._heartbeats.save(_heartbeat_key(self.owner), {"at": now.isoformat()})

    async def run(self, sweep_every: timedelta) -> None:
        """The replica's relay: first what an earlier life left, then the two lanes
        relay commits as they come while this loop sweeps now and then."""
        lanes: list[asyncio.Task[None]] = []
        backoff = 0.05
        startup = True
        try:
            while True:
                try:
                    if self.holding:
                        await asyncio.sleep(0.05)
                        continue
                    now = datetime.now(UTC)
                    await self.heartbeat(now)
                    swept = await self.sweep(now, startup=startup)
                    if swept:
                        log.info("outbox sweeper published %d pending event(s)", swept)
                    startup = False
                    backoff = 0.05
                    if not lanes:  # only after what an earlier life left is out
                        lanes = [asyncio.create_task(self._run_lane(x)) for x in self._lanes]
                    # While the store is the queue (overflow), the lanes call the next
                    # sweep as soon as they have sent what was queued before it.
                    self._sweep_now.clear()
                    if not (self._overflow and not self.backlog):
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(
                                self._sweep_now.wait(), sweep_every.total_seconds()
                            )
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._failed(exc, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
        finally:
            for lane in lanes:
                lane.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)

    async def _run_lane(self, lane: str) -> None:
        backoff = 0.05
        wake = self._wakes[lane]
        while True:
            try:
                if self.holding:
                    await asyncio.sleep(0.05)
                    continue
                if await self._lane_once(lane):
                    backoff = 0.05
                    continue
                wake.clear()
                if not self._lanes[lane]:
                    await wake.wait()
                    await asyncio.sleep(self._linger)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Kafka or the store is away: keep the batch, try again a little later.
                self._failed(exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    def _failed(self, exc: Exception, backoff: float) -> None:
        self.stats.failures += 1
        OUTBOX_FAILURES.inc()
        self.stats.last_error = repr(exc)[:300]
        log.warning("outbox relay: %r; retrying in %.2fs", exc, backoff)

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Publish what is queued now (at shutdown, and in tests without the loop)."""
        try:
            async with asyncio.timeout(timeout_s):
                while await self.relay_once():
                    pass
                if self._clears:
                    await asyncio.gather(*self._clears)
        except Exception as exc:  # the rows stay pending: the sweeper has them
            log.warning("outbox drain stopped: %r", exc)
