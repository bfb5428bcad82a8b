"""What fault tests share (tests/integration/test_event_backbone.py, tests/chaos/):
accounts, a writer that logs every acknowledged write with the event it must make,
one realtime socket per user that records what it receives, and the checks: audit
holds each of those events exactly once, every next occurrence exists once, the
sockets saw every change in order, and no task is without its event or vice versa.

Everything is async (the test loop); fault steps that block (stack.kill,
wait_restarted, start_process) go through asyncio.to_thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from loadtest.stats import summary_ms
from shared.internal_api import occurrence_id
from stack.services import Stack

PASSWORD = "a long passphrase"

# (task or list id, version, event type): what one acknowledged change must produce.
Key = tuple[str, int, str]


# -- signals ----------------------------------------------------------------------------


def signal_group(stack: Stack, name: str, sig: int) -> int:
    """Signal a supervised process's whole group (Kafka: the JVM); returns its pid."""
    pid = stack.process(name).pid
    os.killpg(pid, sig)
    return pid


@contextlib.contextmanager
def frozen(stack: Stack, name: str) -> Iterator[int]:
    """SIGSTOP for the block, SIGCONT after it (even when the block fails)."""
    pid = signal_group(stack, name, signal.SIGSTOP)
    try:
        yield pid
    finally:
        os.killpg(pid, signal.SIGCONT)


# -- accounts and writes ------------------------------------------------------------------


@dataclass
class Account:
    id: str
    name: str
    token: str
    default_list: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


async def register(client: httpx.AsyncClient, prefix: str = "f") -> Account:
    """A fresh user (client's base URL is todo-api's /api/v1)."""
    creds = {"username": f"{prefix}{uuid.uuid4().hex[:12]}", "password": PASSWORD}
    made = await client.post("/auth/register", json=creds)
    assert made.status_code == 201, made.text
    token = await client.post("/auth/token", json=creds)
    assert token.status_code == 200, token.text
    body = made.json()
    return Account(
        body["id"], creds["username"], token.json()["access_token"], body["default_list"]
    )


def api_client(stack: Stack, timeout: float = 30.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.config.url("todo-api") + "/api/v1", timeout=timeout)


@dataclass(frozen=True)
class Ack:
    """One write todo-api acknowledged (2xx) and the event it must produce."""

    user: str
    key: Key
    task: dict[str, Any]
    sent_at: float  # wall clock (Kafka timestamps use it too)
    acked_at: float

    @property
    def latency_s(self) -> float:
        return self.acked_at - self.sent_at


@dataclass
class Failure:
    at: float
    what: str
    status: int  # 0: no answer
    body: Any
    latency_s: float


EMITS = {"create": "task.created", "rename": "task.updated", "complete": "task.completed"}


@dataclass
class _Mine:
    account: Account
    plain: list[dict[str, Any]] = field(default_factory=list)
    repeating: list[dict[str, Any]] = field(default_factory=list)


class Writer:
    """A few users writing at about `rate` calls/s in all, each user one call at a time
    (so each user's acknowledgements are in commit order): creates, renames, a daily
    repeating task created and then completed (recurring makes its next occurrence),
    and searches (reads). Failed calls are logged and the user moves on."""

    CYCLE = ("create", "rename", "repeat", "read", "complete", "create", "rename", "read")

    def __init__(self, client: httpx.AsyncClient, accounts: list[Account], rate: float) -> None:
        self._client = client
        self._users = [_Mine(a) for a in accounts]
        self._period = len(accounts) / rate
        self.acks: list[Ack] = []
        self.failures: list[Failure] = []
        self.reads: list[float] = []
        self.completed_repeating: list[dict[str, Any]] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(m, i)) for i, m in enumerate(self._users)]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def _run(self, mine: _Mine, offset: int) -> None:
        rng = random.Random(offset)
        await asyncio.sleep(self._period * offset / len(self._users))
        n = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            op = self.CYCLE[n % len(self.CYCLE)]
            n += 1
            await self._one(mine, op, n, rng)
            next_at += self._period
            delay = next_at - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
            else:
                next_at = time.monotonic()  # behind (an outage): no burst to catch up

    async def _one(self, mine: _Mine, op: str, n: int, rng: random.Random) -> None:
        headers = mine.account.headers
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
        kind = op
        if op == "create":
            req: tuple[str, str, Any] = ("POST", "/tasks", {"title": f"task {n}"})
        elif op == "repeat":
            kind = "create"
            body = {
                "title": f"daily {n}",
                "due_at": tomorrow.isoformat(),
                "recurrence": {"frequency": "daily", "interval": 1},
            }
            req = ("POST", "/tasks", body)
        elif op == "rename":
            if not mine.plain:
                return
            task = rng.choice(mine.plain)
            req = ("PATCH", f"/tasks/{task['id']}", {"title": f"renamed {n}"})
        elif op == "complete":
            if not mine.repeating:
                return
            task = mine.repeating.pop(0)
            req = ("POST", f"/tasks/{task['id']}/complete", None)
        else:
            req = ("GET", "/tasks", None)
        method, path, body = req
        sent, began = time.time(), time.perf_counter()
        try:
            resp = await self._client.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            self.failures.append(Failure(sent, f"{method} {path}", 0, repr(exc)[:200], 0.0))
            if op == "complete":
                mine.repeating.insert(0, task)
            await asyncio.sleep(0.2)
            return
        took = time.perf_counter() - began
        if resp.status_code not in (200, 201):
            try:
                payload: Any = resp.json()
            except ValueError:
                payload = resp.text[:200]
            self.failures.append(Failure(sent, f"{method} {path}", resp.status_code, payload, took))
            if op == "complete":
                mine.repeating.insert(0, task)
            return
        if method == "GET":
            self.reads.append(took)
            return
        got = resp.json()
        self.acks.append(
            Ack(mine.account.id, (got["id"], got["version"], EMITS[kind]), got, sent, sent + took)
        )
        if op == "repeat":
            mine.repeating.append(got)
        elif op == "create":
            mine.plain.append(got)
        elif op == "rename":
            mine.plain = [got if t["id"] == got["id"] else t for t in mine.plain]
        elif op == "complete":
            self.completed_repeating.append(got)

    def latencies(self) -> dict[str, float]:
        return summary_ms([a.latency_s for a in self.acks]) if self.acks else {}


# -- what audit, REST and the sockets hold --------------------------------------------


def entry_key(event: dict[str, Any]) -> Key:
    """An audit item (the event as published) as the change it records."""
    task = event.get("task")
    if isinstance(task, dict):
        return (task["id"], int(task.get("version", 0)), event["type"])
    return (str(event.get("list_id") or ""), 0, f"{event['type']}#{event['event_id']}")


async def _every_page(
    client: httpx.AsyncClient, path: str, account: Account, params: dict[str, Any]
) -> list[dict[str, Any]] | None:
    """Every item of a paged listing the user reads (500 a page); None while it cannot
    answer."""
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page_params = {"limit": 500} | params | ({"cursor": cursor} if cursor else {})
        try:
            resp = await client.get(path, params=page_params, headers=account.headers)
        except httpx.HTTPError:
            return None
        if resp.status_code != 200:
            return None
        page = resp.json()
        out.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return out


async def audit_of(client: httpx.AsyncClient, account: Account) -> list[dict[str, Any]] | None:
    """Every audit item (the event as published) the user can see; None while audit
    cannot answer."""
    return await _every_page(client, "/audit", account, {})


async def tasks_of(client: httpx.AsyncClient, account: Account) -> dict[str, int] | None:
    """Every task the user sees through REST: id -> version."""
    items = await _every_page(client, "/tasks", account, {"status": "all"})
    return None if items is None else {t["id"]: t["version"] for t in items}


@dataclass
class Verdict:
    """What the checks found; `ok` when nothing is missing, doubled or out of order."""

    expected: int = 0
    lost: list[Key] = field(default_factory=list)
    duplicates: list[Key] = field(default_factory=list)
    occurrences_missing: list[str] = field(default_factory=list)
    occurrences_doubled: list[str] = field(default_factory=list)
    half_written: list[str] = field(default_factory=list)
    socket_missing: list[Key] = field(default_factory=list)
    socket_disorder: list[str] = field(default_factory=list)
    # An older version of a task delivered after a newer one (another event, not a
    # copy): harmless to the UI, which keeps the newest version (static/js/lists.js),
    # but out of order; each test decides whether its fault may cause it.
    socket_stale: list[str] = field(default_factory=list)
    caught_up_s: float | None = None

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.duplicates
            or self.occurrences_missing
            or self.occurrences_doubled
            or self.half_written
            or self.socket_missing
            or self.socket_disorder
        )

    def summary(self) -> str:
        return (
            f"expected {self.expected}, lost {len(self.lost)}, duplicates {len(self.duplicates)}, "
            f"occurrences missing {len(self.occurrences_missing)} doubled "
            f"{len(self.occurrences_doubled)}, half-written {len(self.half_written)}, socket "
            f"missing {len(self.socket_missing)} out of order {len(self.socket_disorder)} "
            f"stale {len(self.socket_stale)}"
        )


def next_occurrences(writer: Writer) -> set[str]:
    """The task id of each completed repeating task's next occurrence."""
    return {
        occurrence_id(t.get("series_id") or t["id"], int(t.get("occurrence", 1)) + 1)
        for t in writer.completed_repeating
    }


async def check(
    client: httpx.AsyncClient,
    accounts: list[Account],
    acks: list[Ack],
    *,
    occurrences: Collection[str] = (),
    sockets: Sequence[Socket] = (),
    consistency: bool = True,
) -> Verdict:
    """One look at audit, REST and the sockets against the acknowledged writes."""
    v = Verdict(expected=len(acks))
    entries: list[dict[str, Any]] = []
    for account in accounts:
        got = await audit_of(client, account)
        if got is None:
            v.lost = [a.key for a in acks]  # audit not answering: nothing is known yet
            return v
        entries.extend(got)
    # Users of one check share no list, so an entry is listed once per check.
    by_id = Counter(e["event_id"] for e in entries)
    keys = Counter(entry_key(e) for e in entries)
    v.duplicates = [k for k, n in keys.items() if n > 1]
    v.duplicates += [(i, 0, "event_id") for i, n in by_id.items() if n > 1]
    v.lost = [a.key for a in acks if a.key not in keys]
    created = Counter(k[0] for k in keys.elements() if k[2] == "task.created")
    v.occurrences_missing = sorted(o for o in occurrences if created[o] == 0)
    v.occurrences_doubled = sorted(o for o in occurrences if created[o] > 1)
    if consistency:
        v.half_written = await half_written(client, accounts, entries)
    for sock in sockets:
        missing, disorder, stale = sock.verdict([a for a in acks if a.user == sock.account.id])
        v.socket_missing += missing
        v.socket_disorder += disorder
        v.socket_stale += stale
    return v


async def half_written(
    client: httpx.AsyncClient, accounts: list[Account], entries: list[dict[str, Any]]
) -> list[str]:
    """Tasks whose row and events disagree: a row without its events, events of a task
    that is not there (and not deleted), or a row at a version audit never heard of."""
    audited: dict[str, int] = {}
    deleted: set[str] = set()
    for e in entries:
        task = e.get("task")
        if not isinstance(task, dict):
            continue
        audited[task["id"]] = max(audited.get(task["id"], 0), int(task["version"]))
        if e["type"] == "task.deleted":
            deleted.add(task["id"])
    rows: dict[str, int] = {}
    for account in accounts:
        got = await tasks_of(client, account)
        if got is None:
            return ["REST reads failed"]
        rows.update(got)
    out = [f"row {t} v{ver} without its event" for t, ver in rows.items() if audited.get(t) != ver]
    out += [
        f"events of {t} v{ver} without a row"
        for t, ver in audited.items()
        if t not in rows and t not in deleted
    ]
    return out


async def settle(
    client: httpx.AsyncClient,
    accounts: list[Account],
    acks: list[Ack],
    *,
    timeout: float,  # noqa: ASYNC109 - a polling deadline: the verdict so far when it passes
    occurrences: Collection[str] = (),
    sockets: Sequence[Socket] = (),
    consistency: bool = True,
) -> Verdict:
    """Look again until everything is in (or the timeout); `caught_up_s` is how long it
    took from the call. Duplicates get one more look a moment after completeness."""

    async def look() -> Verdict:
        return await check(
            client,
            accounts,
            acks,
            occurrences=occurrences,
            sockets=sockets,
            consistency=consistency,
        )

    began = time.monotonic()
    verdict = Verdict()
    while time.monotonic() - began < timeout:
        verdict = await look()
        if verdict.ok:
            verdict.caught_up_s = round(time.monotonic() - began, 2)
            break
        await asyncio.sleep(0.5)
    if verdict.ok:
        await asyncio.sleep(1.0)  # a late duplicate would show now
        again = await look()
        again.caught_up_s = verdict.caught_up_s
        verdict = again
    return verdict


# -- realtime sockets -----------------------------------------------------------------


class Socket:
    """One realtime WebSocket of a user, kept as the web UI keeps it (static/js/live.js):
    it records every event message; when the connection drops it reconnects with
    `after` = the last seq it saw; on `resync` (the replica cannot replay what was
    missed, e.g. a restarted realtime) it reloads the user's tasks through REST and
    stays on the live connection."""

    def __init__(self, stack: Stack, client: httpx.AsyncClient, account: Account) -> None:
        self.account = account
        self._client = client
        self._base = stack.config.url("realtime").replace("http://", "ws://") + "/ws"
        self.events: list[dict[str, Any]] = []  # the "event" messages, in arrival order
        self.reloads: list[tuple[float, dict[str, int]]] = []  # (began, id -> version)
        self.last_seq: int | None = None
        self.reconnects = 0
        self.resyncs = 0
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _hello(self) -> str:
        """The first frame: the token (never in the URL) and where to resume from."""
        return json.dumps({"type": "auth", "token": self.account.token, "after": self.last_seq})

    async def _reload(self) -> None:
        began = time.time()
        for _ in range(20):
            got = await tasks_of(self._client, self.account)
            if got is not None:
                self.reloads.append((began, got))
                return
            await asyncio.sleep(0.5)

    async def _run(self) -> None:
        while True:
            try:
                async with connect(self._base, open_timeout=5, ping_interval=None) as ws:
                    await ws.send(self._hello())
                    async for raw in ws:
                        message = json.loads(raw)
                        kind = message.get("type")
                        if kind == "hello":
                            if self.last_seq is None and message.get("seq") is not None:
                                self.last_seq = int(message["seq"])
                            self.ready.set()
                        elif kind == "event":
                            self.events.append(message)
                            self.last_seq = max(self.last_seq or -1, int(message["seq"]))
                        elif kind == "resync":
                            self.resyncs += 1
                            await self._reload()
            except (OSError, WebSocketException, TimeoutError):
                pass
            self.reconnects += 1
            await asyncio.sleep(0.5)

    def _reloaded(self, ack: Ack) -> bool:
        task_id, version, _ = ack.key
        return any(
            began >= ack.acked_at and tasks.get(task_id, 0) >= version
            for began, tasks in self.reloads
        )

    def verdict(self, acks: list[Ack]) -> tuple[list[Key], list[str], list[str]]:
        """(acknowledged changes neither received nor covered by a reload after a
        resync, seqs out of order or repeated, older versions after newer ones)."""
        seen: set[Key] = set()
        disorder: list[str] = []
        stale: list[str] = []
        last_seq = -1
        versions: dict[str, int] = {}
        for m in self.events:
            seq = int(m["seq"])
            if seq <= last_seq:
                disorder.append(f"{self.account.name}: seq {seq} after {last_seq}")
            last_seq = max(last_seq, seq)
            task = m["event"].get("task")
            if not isinstance(task, dict):
                continue
            key: Key = (task["id"], int(task["version"]), m["event"]["type"])
            if key in seen:
                disorder.append(f"{self.account.name}: {key} twice")
            elif int(task["version"]) <= versions.get(task["id"], 0):
                stale.append(f"{self.account.name}: {task['id']} v{task['version']} late")
            seen.add(key)
            versions[task["id"]] = max(versions.get(task["id"], 0), int(task["version"]))
        missing = [a.key for a in acks if a.key not in seen and not self._reloaded(a)]
        return missing, disorder, stale


async def open_sockets(
    stack: Stack, client: httpx.AsyncClient, accounts: list[Account]
) -> list[Socket]:
    sockets = [Socket(stack, client, a) for a in accounts]
    for s in sockets:
        s.start()
    async with asyncio.timeout(20):
        await asyncio.gather(*(s.ready.wait() for s in sockets))
    return sockets


# -- small things ---------------------------------------------------------------------


def is_envelope(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and isinstance(body.get("error"), dict)
        and {"code", "message", "details"} <= set(body["error"])
    )


def by_user(acks: list[Ack]) -> dict[str, list[Ack]]:
    out: dict[str, list[Ack]] = defaultdict(list)
    for a in acks:
        out[a.user].append(a)
    return out
