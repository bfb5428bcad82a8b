"""An outbox for the writes that live in the kv store (accounts, lists, memberships).

Dapr's outbox belongs to the `tasks` component and fires once per upsert, so a
membership change (list row + members' user rows in one transaction) cannot use
it. Instead the transaction also inserts the event as a pending row; after the
commit it is published, keyed by the actor (DESIGN §2), plus one copy per member
into task-updates, and the row is deleted. A crash in between leaves the row, and
the sweeper publishes it again later: the event id is the same, so consumers drop
a copy they already have. Nothing committed goes unannounced.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.dapr import Publisher, StateOp, StateStore
from shared.events import Event, parse_event
from shared.topics import Topic

log = logging.getLogger(__name__)

# `kind` of pending rows: the Query API sees every app's kv rows.
PENDING = "todo-api.outbox"


def _key(event: Event) -> str:
    return f"outbox|{event.event_id}"


async def publish_to_members(publisher: Publisher, event: Event, members: Iterable[str]) -> None:
    """One copy per member into task-updates, keyed by the member: each member's feed
    stays in one partition, so realtime numbers it by Kafka offset. One bulk request,
    so a big list costs one round trip, not one per member."""
    await publisher.publish_many(
        Topic.TASK_UPDATES, [(event.for_member(m), m) for m in dict.fromkeys(members)]
    )


class KvOutbox:
    def __init__(self, kv: StateStore, publisher: Publisher) -> None:
        self._kv = kv
        self._publisher = publisher

    @staticmethod
    def pending(event: Event, members: Iterable[str], now: datetime) -> StateOp:
        """The operation to add to the transaction that makes `event` true."""
        return StateOp.insert(
            _key(event),
            {
                "kind": PENDING,
                "event": event.model_dump(mode="json"),
                "members": list(dict.fromkeys(members)),
                "created_at": now.astimezone(UTC).isoformat(),
            },
        )

    async def deliver(self, event: Event, members: Iterable[str]) -> None:
        """After the commit. A failure is logged and left to the sweeper."""
        try:
            await self._publisher.publish(
                Topic.TASK_EVENTS, event, partition_key=event.partition_key
            )
            await publish_to_members(self._publisher, event, members)
            await self._kv.delete(_key(event))
        except Exception:
            log.exception("event %s not delivered yet; the sweeper will retry", event.event_id)

    async def sweep(self, now: datetime, older_than: timedelta) -> int:
        """Deliver what a crash or an outage left pending; returns how many."""
        items, _ = await self._kv.query(
            {"filter": {"EQ": {"kind": PENDING}}, "page": {"limit": 500}}
        )
        done = 0
        for item in items:
            row: dict[str, Any] = item.value
            if datetime.fromisoformat(row["created_at"]) > now - older_than:
                continue  # probably still being delivered by the request that wrote it
            await self.deliver(parse_event(row["event"]), row.get("members", []))
            done += 1
        return done

    async def run_sweeper(self, every: timedelta, older_than: timedelta) -> None:
        while True:
            try:
                swept = await self.sweep(datetime.now(UTC), older_than)
                if swept:
                    log.info("outbox sweeper delivered %d pending event(s)", swept)
            except Exception:
                log.exception("outbox sweep failed")
            await asyncio.sleep(every.total_seconds())
