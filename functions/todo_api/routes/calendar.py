"""Calendars over HTTP: export, private subscription feeds, and import (DESIGN §3: thin
handlers; the mapping is functions/todo_api/ical.py).

* Export reads what the caller may read (TaskService.search), like GET /tasks.
* A subscription is a random token in the feed's path. Only its SHA-256 is stored
  (`calfeed:<hash>` in the kv store, plus the owner's index `calfeeds:<user>`), so
  the store never holds a usable URL; revoking deletes both rows. A feed is read-only
  and answers with what its owner may read *now*: leaving the list empties it.
* Import is a dry run unless `dry_run=false`; then every item goes through
  TaskService.create (and complete), so permissions, events and limits are the same
  as for a task made by hand.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response

from functions.todo_api import ical
from functions.todo_api.auth import User
from functions.todo_api.http import API, Route, guarded
from functions.todo_api.lists import READ, WRITE, ListService, require
from functions.todo_api.models import MAX_LIMIT, ListId, One, SearchParams
from functions.todo_api.service import TaskService
from shared.dapr import EtagMismatch, StateOp, StateStore
from shared.events import TaskSnapshot
from shared.web.errors import ApiError
from shared.web.routes import Call, Endpoint

MAX_FEEDS = 20  # per user
ICS = "text/calendar; charset=utf-8"


def feed_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _feed_key(digest: str) -> str:
    return f"calfeed:{digest}"


def _index_key(user_id: str) -> str:
    return f"calfeeds:{user_id}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExportQuery(_Strict):
    list_id: Annotated[ListId | None, One] = Field(
        default=None, description="One list; default: every list you are a member of."
    )


class ImportQuery(_Strict):
    list_id: Annotated[ListId | None, One] = Field(
        default=None, description="The list to import into; default: your default list."
    )
    dry_run: Annotated[bool, One] = Field(
        default=True, description="Only say what would happen (the default)."
    )


class FeedCreate(_Strict):
    list_id: ListId | None = Field(default=None, description="One list, or every list (null).")


class FeedOut(BaseModel):
    id: str
    list_id: str | None
    created_at: datetime
    url: str | None = Field(default=None, description="Shown once, when it is made.")


class FeedItems(BaseModel):
    items: list[FeedOut]


class ImportItem(BaseModel):
    kind: str
    uid: str | None
    title: str
    due_at: datetime | None
    completed: bool
    not_mapped: list[str]
    id: str | None = Field(default=None, description="The task made (not in a dry run).")


class ImportSkipped(BaseModel):
    kind: str
    uid: str | None
    title: str | None
    reason: str


class ImportReport(BaseModel):
    dry_run: bool
    list_id: str
    items: list[ImportItem]
    skipped: list[ImportSkipped]
    summary: str


class CalendarRoutes:
    def __init__(
        self,
        service: TaskService,
        lists: ListService,
        kv: StateStore,
        user_by_id: Callable[[str], Awaitable[User | None]],
        max_body_bytes: int,
    ) -> None:
        self.service = service
        self.lists = lists
        self.kv = kv
        self.user_by_id = user_by_id
        self.max_body_bytes = max_body_bytes

    # -- export --------------------------------------------------------------------------

    async def _tasks(self, user: User, list_id: str | None, now: datetime) -> list[TaskSnapshot]:
        out: list[TaskSnapshot] = []
        cursor: str | None = None
        while True:
            given = {"list_id": list_id, "cursor": cursor}
            params = SearchParams.model_validate(
                {k: v for k, v in given.items() if v is not None}
                | {"limit": MAX_LIMIT, "sort": ["created_at"]}
            )
            rows, cursor, _ = await self.service.search(user, params, now)
            out += [TaskSnapshot.model_validate(r) for r in rows]
            if cursor is None:
                return out

    async def _calendar(self, user: User, list_id: str | None, now: datetime) -> Response:
        tasks = await guarded(self._tasks(user, list_id, now), "list")
        name = "taskwave"
        if list_id is not None:
            name = (await guarded(self.lists.get(user, list_id), "list")).name
        # ~1 ms per task in icalendar (pure Python): off the event loop, so a calendar
        # app polling a big list does not hold up every other request.
        body = await asyncio.to_thread(ical.export_calendar, tasks, name, now)
        return Response(body, media_type=ICS, headers={"cache-control": "no-store"})

    async def export(self, call: Call[User, None, ExportQuery]) -> Response:
        return await self._calendar(call.user, call.query.list_id, call.now)

    # -- subscriptions -------------------------------------------------------------------

    async def _index(self, user_id: str) -> tuple[list[dict[str, Any]], str | None]:
        item = await self.kv.get(_index_key(user_id))
        return (list(item.value.get("items", [])), item.etag) if item else ([], None)

    async def create_feed(self, call: Call[User, FeedCreate, None]) -> Response:
        user, body, now = call.user, call.body, call.now
        if body.list_id is not None:
            await guarded(_readable(user, body.list_id), "list")
        items, etag = await self._index(user.id)
        if len(items) >= MAX_FEEDS:
            raise ApiError(409, f"at most {MAX_FEEDS} subscriptions; revoke one", code="limit")
        token = secrets.token_urlsafe(32)
        digest = feed_hash(token)
        feed = {
            "id": str(uuid.uuid4()),
            "list_id": body.list_id,
            "created_at": now.isoformat(),
            "hash": digest,
        }
        ops = [
            StateOp.insert(_feed_key(digest), {**feed, "user_id": user.id}),
            StateOp.upsert(_index_key(user.id), {"items": [*items, feed]}, etag),
        ]
        try:
            await self.kv.transact(ops)
        except EtagMismatch:
            raise ApiError(409, "another change came first; try again", code="conflict") from None
        url = f"{str(call.request.base_url).rstrip('/')}{API}/calendar/feeds/{token}.ics"
        out = FeedOut(id=feed["id"], list_id=body.list_id, created_at=now, url=url)
        return JSONResponse(out.model_dump(mode="json"), status_code=201)

    async def list_feeds(self, call: Call[User, None, None]) -> Response:
        items, _ = await self._index(call.user.id)
        out = FeedItems(items=[FeedOut.model_validate(i) for i in items])
        return JSONResponse(out.model_dump(mode="json"))

    async def revoke_feed(self, call: Call[User, None, None]) -> Response:
        user = call.user
        items, etag = await self._index(user.id)
        feed_id = call.param("feed_id")
        gone = [i for i in items if i["id"] == feed_id]
        if not gone:
            raise ApiError(404, "no such subscription")
        ops = [
            StateOp.delete(_feed_key(gone[0]["hash"])),
            StateOp.upsert(
                _index_key(user.id), {"items": [i for i in items if i["id"] != feed_id]}, etag
            ),
        ]
        try:
            await self.kv.transact(ops)
        except EtagMismatch:
            raise ApiError(409, "another change came first; try again", code="conflict") from None
        return Response(status_code=204)

    async def feed(self, call: Call[None, None, None]) -> Response:
        """No bearer token: the token in the path is the credential (calendar apps poll)."""
        token = call.param("token")
        item = await self.kv.get(_feed_key(feed_hash(token))) if len(token) < 100 else None
        user = await self.user_by_id(item.value["user_id"]) if item else None
        if item is None or user is None:
            raise ApiError(404, "no such calendar")
        return await self._calendar(user, item.value.get("list_id"), call.now)

    # -- import --------------------------------------------------------------------------

    async def import_ics(self, call: Call[User, None, ImportQuery]) -> Response:
        user, query = call.user, call.query
        list_id = query.list_id or user.default_list
        await guarded(_writable(user, list_id), "list")
        raw = await call.request.body()  # an .ics file, not JSON: read here
        if len(raw) > self.max_body_bytes:
            raise ApiError(413, f"request body is larger than {self.max_body_bytes} bytes")
        try:
            plan = await asyncio.to_thread(
                ical.parse, raw, default_tz=user.timezone, list_id=list_id
            )
        except ValueError as exc:
            raise ApiError(
                422, str(exc), details=[{"field": "body", "message": str(exc)}]
            ) from None
        items: list[ImportItem] = []
        for c in plan.items:
            made: str | None = None
            if not query.dry_run:
                now = call.now
                task, _ = await guarded(self.service.create(user, c.body, now), "list")
                if c.completed:
                    await guarded(
                        self.service.set_status(user, task.id, "completed", None, now), "task"
                    )
                made = task.id
            items.append(
                ImportItem(
                    kind=c.kind,
                    uid=c.uid,
                    title=c.body.title,
                    due_at=c.body.due_at,
                    completed=c.completed,
                    not_mapped=c.not_mapped,
                    id=made,
                )
            )
        skipped = [ImportSkipped(**vars(s)) for s in plan.skipped]
        partial = sum(1 for i in items if i.not_mapped)
        verb = "would import" if query.dry_run else "imported"
        summary = (
            f"{verb} {len(items)} task(s)"
            + (f", {partial} with something not mapped" if partial else "")
            + (f"; skipped {len(skipped)}" if skipped else "")
        )
        report = ImportReport(
            dry_run=query.dry_run,
            list_id=list_id,
            items=items,
            skipped=skipped,
            summary=summary,
        )
        return JSONResponse(report.model_dump(mode="json"), status_code=200)

    def endpoints(self) -> list[Route]:
        calendar = partial(Endpoint, tags=("calendar",))
        ics_body = {"type": "string", "format": "binary", "description": "text/calendar"}
        return [
            calendar(
                "GET",
                f"{API}/calendar/export.ics",
                self.export,
                "Your tasks (one list or all) as iCalendar VTODOs",
                query=ExportQuery,
                response=ics_body,
                errors=(403, 404),
            ),
            calendar(
                "POST",
                f"{API}/calendar/subscriptions",
                self.create_feed,
                "Make a private, read-only feed URL for calendar apps (shown once)",
                body=FeedCreate,
                response=FeedOut,
                status=201,
                errors=(404, 409),
            ),
            calendar(
                "GET",
                f"{API}/calendar/subscriptions",
                self.list_feeds,
                "Your feed subscriptions (without their URLs)",
                response=FeedItems,
            ),
            calendar(
                "DELETE",
                f"{API}/calendar/subscriptions/{{feed_id}}",
                self.revoke_feed,
                "Revoke a feed: its URL stops working at once",
                status=204,
                errors=(404, 409),
            ),
            calendar(
                "GET",
                f"{API}/calendar/feeds/{{token}}.ics",
                self.feed,
                "A subscription feed (the token is the credential)",
                response=ics_body,
                auth=False,
                errors=(404,),
            ),
            calendar(
                "POST",
                f"{API}/calendar/import",
                self.import_ics,
                "Import an .ics file (VTODO, VEVENT) into a list; a dry run unless dry_run=false",
                query=ImportQuery,
                response=ImportReport,
                errors=(403, 404, 413),
            ),
        ]


async def _readable(user: User, list_id: str) -> None:
    require(user, list_id, READ)


async def _writable(user: User, list_id: str) -> None:
    require(user, list_id, WRITE)
