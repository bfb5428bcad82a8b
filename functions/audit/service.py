"""What audit does with a delivery, independent of HTTP: store once, list per user.

An undo from the history is a normal write whose event names the event it undoes
(`undoes`). Recording it links the two entries, beside the events as published: the
original gets `undone_by` (the first undo to arrive wins) and the undo `undo_of`, so a
listing needs no second read, whatever page or task each is in (undoing a deletion
makes a new task). Each link names its list: a caller sees it only if they are in it."""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.dapr import EtagMismatch, Refused, StateOp, StateStore
from shared.delivery import Delivery, Retryable
from shared.events import Event
from shared.paging import Page, SortKey, query_page, sortable_time

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


LINKS = ("undone_by", "undo_of")
# What a listed entry carries beside the event as published.
BESIDE = (*LINKS, "recorded_at")


def summary(event: dict[str, Any]) -> dict[str, Any]:
    """What an entry shows of another event: who did what to which task, when, in which list."""
    task = event.get("task") or {}
    keys = ("event_id", "type", "user_id", "occurred_at", "task_id", "list_id")
    out = {k: event.get(k) for k in keys}
    if "changed" in event:
        out["changed"] = event["changed"]
    return out | {"title": task.get("title")}


def entry_for(event: Event, delivery: Delivery, recorded_at: str) -> dict[str, Any]:
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
        "recorded_at": recorded_at,
    }


@dataclass
class Recorded:
    """What became of a batch: how many events were new, and those the store refused
    (valid events it cannot hold, e.g. U+0000 in a title), for the dead-letter topic."""

    new: int = 0
    refused: list[tuple[Event, Delivery]] = field(default_factory=list)


class AuditLog:
    def __init__(self, store: StateStore) -> None:
        self._store = store

    async def record_many(self, received: list[tuple[Event, Delivery]], now: datetime) -> Recorded:
        """Store a batch in one transaction. A batch holding an event already recorded
        (a redelivery) fails whole: then the ones already there are read in one call and
        the rest inserted in one transaction, so nothing is recorded twice and nothing is
        lost (a refused insert is slow: Dapr retries it). A batch the store refuses for
        its data is written entry by entry, so only the entries it refuses are left out
        (an outage is no refusal: it raises, and the batch is redelivered)."""
        recorded_at = now.astimezone(UTC).isoformat()
        entries = {
            event_key(str(event.event_id)): entry_for(event, delivery, recorded_at)
            for event, delivery in received
        }
        await self._link_undos(entries)
        for _ in range(_ATTEMPTS):
            try:
                await self._store.transact([StateOp.insert(k, v) for k, v in entries.items()])
            except EtagMismatch:
                there = {item.key for item in await self._store.get_bulk(list(entries))}
                log.info("batch held %d redelivered events", len(there))
                entries = {k: v for k, v in entries.items() if k not in there}
                if not entries:
                    return Recorded()
                continue
            except Refused as exc:
                log.warning(
                    "the store refused a batch of %d, entry by entry: %s", len(entries), exc
                )
                by_key = {event_key(str(event.event_id)): (event, d) for event, d in received}
                return await self._one_by_one(entries, by_key)
            return Recorded(len(entries))
        raise Retryable("the batch kept conflicting with redeliveries")

    async def _one_by_one(
        self,
        entries: dict[str, dict[str, Any]],
        received: dict[str, tuple[Event, Delivery]],
    ) -> Recorded:
        """Each entry alone; one the store refuses is tried once more without its undo
        links (they quote the other event: its text may be what was refused)."""
        done = Recorded()
        for key, entry in entries.items():
            bare = {k: v for k, v in entry.items() if k not in LINKS}
            for row in (entry, bare) if bare != entry else (entry,):
                try:
                    done.new += await self._store.insert(key, row)
                    break
                except Refused:
                    continue
            else:
                done.refused.append(received[key])
        return done

    async def _link_undos(self, entries: dict[str, dict[str, Any]]) -> None:
        """The undos among `entries` (in arrival order) get `undo_of`, and what they undid
        `undone_by`: in the batch itself, or in its stored entry, written before the
        undo's entry so a read that lists the undo shows the original as undone."""
        for entry in entries.values():
            undoes = entry["event"].get("undoes")
            if not undoes:
                continue
            key = event_key(str(undoes))
            if (beside := entries.get(key)) is not None:
                beside.setdefault("undone_by", summary(entry["event"]))
                original: dict[str, Any] | None = beside["event"]
            else:
                original = await self._mark_undone(key, entry["event"])
            if original is not None:
                entry["undo_of"] = summary(original)

    async def _mark_undone(self, key: str, undo: dict[str, Any]) -> dict[str, Any] | None:
        """`undone_by` on the stored entry `key`, unless an earlier undo has it (one undo
        is often two events: the fields, then the status); the event undone, or None when
        audit never recorded it."""
        item = await self._store.get(key)
        if item is None or not isinstance(item.value, dict):
            return None
        row: dict[str, Any] = item.value
        if not row.get("undone_by"):
            # Only an undo writes an entry: another undo of it won, just now. Refused:
            # the undo's own text cannot be stored (its entry will not be either).
            with contextlib.suppress(EtagMismatch, Refused):
                await self._store.save(key, row | {"undone_by": summary(undo)}, etag=item.etag)
        event: dict[str, Any] = row["event"]
        return event

    async def record_dead_letter(
        self, data: dict[str, Any], delivery: Delivery, now: datetime
    ) -> bool:
        """Keep what landed in a dead-letter topic so an operator can inspect and replay it.
        Data the store refuses (what audit itself dead-letters for that reason) is kept
        as its JSON text instead, `data_json`: escaped, so the store holds it."""
        # Dapr forwards the original envelope: its `topic` is where it failed.
        entry = {
            "data": data,
            # Where it failed: Dapr forwards the original envelope; an app that
            # dead-letters itself publishes to `<topic>-dlq` (shared.web.pubsub.DeadLetters).
            "topic": delivery.failed_on,
            "cloudevent_id": delivery.cloudevent_id,
            "envelope_type": delivery.envelope.get("type"),
            "recorded_at": now.astimezone(UTC).isoformat(),
        }
        key = dead_letter_key(delivery.cloudevent_id)
        try:
            return await self._store.create(key, entry)
        except Refused:
            del entry["data"]
            return await self._store.create(key, entry | {"data_json": json.dumps(data)})

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
        lists = None if list_ids is None else set(list_ids)
        return Page([_listed(row, lists) for row in page.items], page.next_cursor)


def _listed(row: dict[str, Any], lists: set[str] | None) -> dict[str, Any]:
    """The event as published, with when audit recorded it (`recorded_at`) and the undo
    links whose list the caller is in (`lists`; None: any)."""
    event: dict[str, Any] = row["event"]
    links = {
        name: link
        for name in LINKS
        if isinstance(link := row.get(name), dict)
        and (lists is None or link.get("list_id") in lists)
    }
    return event | links | {"recorded_at": row.get("recorded_at")}
