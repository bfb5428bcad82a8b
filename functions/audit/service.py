"""What audit does with a delivery, independent of HTTP: store once, list per user.

An undo from the history is a normal write whose event names the event it undoes
(`undoes`). Audit keeps a marker row per undone event (the first undo to arrive wins),
so a listed entry says who undid it and when (`undone_by`), and an undo says what it
undid (`undo_of`), even when the two are in different pages or tasks (undoing a
deletion makes a new task)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, TypeGuard

from shared.dapr import EtagMismatch, StateOp, StateStore
from shared.events import Event
from shared.paging import Page, SortKey, query_page, sortable_time
from shared.web.pubsub import DLQ_SUFFIX, Delivery

log = logging.getLogger(__name__)

# `kind` of an audit entry: the Query API sees every app's kv rows, so listing
# filters on a field only audit writes.
ENTRY = "audit.entry"

_SORT = (SortKey("occurred_at"), SortKey("event_id"))
_ATTEMPTS = 3  # a batch races only with a redelivery of one of its events


def event_key(event_id: str) -> str:
    return f"event|{event_id}"


def dead_letter_key(cloudevent_id: str) -> str:
    return f"deadletter|{cloudevent_id}"


def undone_key(event_id: str) -> str:
    return f"undone|{event_id}"


def summary(event: dict[str, Any]) -> dict[str, Any]:
    """What an entry shows of another event: who did what to which task, and when."""
    task = event.get("task") or {}
    out = {k: event.get(k) for k in ("event_id", "type", "user_id", "occurred_at", "task_id")}
    if "changed" in event:
        out["changed"] = event["changed"]
    return out | {"title": task.get("title")}


def entry_for(event: Event, delivery: Delivery, now: datetime) -> dict[str, Any]:
    """The stored entry: the event as published, plus top-level fields to filter and sort on."""
    return {
        "kind": ENTRY,
        "event_id": str(event.event_id),
        "type": event.type,
        "user_id": event.user_id,
        "list_id": event.list_id,
        "task_id": getattr(event, "task_id", None),
        "member_id": getattr(event, "member_id", None),
        "occurred_at": sortable_time(event.occurred_at),
        "event": event.model_dump(mode="json"),
        "topic": delivery.topic,
        "cloudevent_id": delivery.cloudevent_id,
        "recorded_at": now.astimezone(UTC).isoformat(),
    }


class AuditLog:
    def __init__(self, store: StateStore) -> None:
        self._store = store

    async def record(self, event: Event, delivery: Delivery, now: datetime) -> bool:
        """Store the event once; a redelivery (same event id) is acknowledged and ignored."""
        undoes = getattr(event, "undoes", None)
        if undoes is not None:
            # Before the entry, so a read that lists the undo shows the original as undone.
            # One undo can be several events (fields, then the status): `create` reads
            # first, as duplicates are common here.
            mark = {
                "list_id": event.list_id,
                "by": summary(event.model_dump(mode="json")),
            }
            await self._store.create(undone_key(str(undoes)), mark)
        # Nearly every delivery is new: one call, not a read and then a write.
        created = await self._store.insert(
            event_key(str(event.event_id)), entry_for(event, delivery, now)
        )
        if not created:
            log.info("event %s already recorded; redelivery ignored", event.event_id)
        return created

    async def record_many(self, received: list[tuple[Event, Delivery]], now: datetime) -> int:
        """Store a batch in one transaction; how many were new. A batch holding an event
        already recorded (a redelivery) fails whole: then the ones already there are
        read in one call and the rest inserted in one transaction, so nothing is
        recorded twice and nothing is lost (a refused insert is slow: Dapr retries it)."""
        entries = {
            event_key(str(event.event_id)): entry_for(event, delivery, now)
            for event, delivery in received
        }
        for _ in range(_ATTEMPTS):
            try:
                await self._store.transact([StateOp.insert(k, v) for k, v in entries.items()])
            except EtagMismatch:
                there = {item.key for item in await self._store.get_bulk(list(entries))}
                log.info("batch held %d redelivered events", len(there))
                entries = {k: v for k, v in entries.items() if k not in there}
                if not entries:
                    return 0
                continue
            return len(entries)
        raise RuntimeError("audit batch kept conflicting; asking for redelivery")

    async def record_dead_letter(
        self, data: dict[str, Any], delivery: Delivery, now: datetime
    ) -> bool:
        """Keep what landed in a dead-letter topic so an operator can inspect and replay it."""
        # Dapr forwards the original envelope: its `topic` is where it failed.
        entry = {
            "data": data,
            # Where it failed: Dapr forwards the original envelope; an app that
            # dead-letters itself publishes to `<topic>-dlq` (shared.web.pubsub.DeadLetters).
            "topic": delivery.topic.removesuffix(DLQ_SUFFIX),
            "cloudevent_id": delivery.cloudevent_id,
            "envelope_type": delivery.envelope.get("type"),
            "recorded_at": now.astimezone(UTC).isoformat(),
        }
        return await self._store.create(dead_letter_key(delivery.cloudevent_id), entry)

    async def entries(
        self,
        list_ids: list[str] | None,
        task_id: str | None,
        limit: int,
        cursor: str | None,
        actor: str | None = None,
    ) -> Page:
        """Every event of the given lists (of one task when given), in (occurred_at,
        event_id) order; which lists is the caller's membership, decided by todo-api.
        Without lists: the events `actor` caused (operators, and older callers)."""
        terms: list[dict[str, Any]] = [{"EQ": {"kind": ENTRY}}]
        if list_ids is not None:
            if not list_ids:
                return Page([], None)
            terms.append({"IN": {"list_id": list_ids}})
        else:
            terms.append({"EQ": {"user_id": actor}})
        if task_id:
            terms.append({"EQ": {"task_id": task_id}})
        page = await query_page(
            self._store, flt={"AND": terms}, sort=_SORT, limit=limit, cursor=cursor
        )
        visible = None if list_ids is None else set(list_ids)
        items = await self._with_undos([row["event"] for row in page.items], visible)
        return Page(items, page.next_cursor)

    async def _with_undos(
        self, events: list[dict[str, Any]], lists: set[str] | None
    ) -> list[dict[str, Any]]:
        """`undone_by` on the events an undo took back and `undo_of` on the undos, as far
        as the caller may see them (`lists`; None: no limit). One bulk read per page."""
        shown = {str(e.get("event_id")): e for e in events}
        tasks = [i for i, e in shown.items() if str(e.get("type", "")).startswith("task.")]
        elsewhere = {str(e["undoes"]) for e in events if e.get("undoes")} - shown.keys()
        keys = [undone_key(i) for i in tasks] + [event_key(i) for i in sorted(elsewhere)]
        if not keys:
            return events
        found = {item.key: item.value for item in await self._store.get_bulk(keys)}

        def seen(row: Any) -> TypeGuard[dict[str, Any]]:
            return isinstance(row, dict) and (lists is None or row.get("list_id") in lists)

        out = []
        for event in events:
            extra: dict[str, Any] = {}
            mark = found.get(undone_key(str(event.get("event_id"))))
            if seen(mark):
                extra["undone_by"] = mark["by"]
            if undoes := event.get("undoes"):
                original = shown.get(str(undoes))
                if original is None:
                    row = found.get(event_key(str(undoes)))
                    original = row["event"] if seen(row) else None
                if original is not None:
                    extra["undo_of"] = summary(original)
            out.append(event | extra if extra else event)
        return out
