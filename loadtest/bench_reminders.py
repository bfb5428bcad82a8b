"""reminders benchmark: 5 users, each with one WebSocket open to realtime, create 100 tasks
through the REST API, each with one reminder `at` 15..75 s ahead; collect the
`reminder.due` messages on the sockets, then check GET /api/v1/notifications lists
exactly those 100. Not a test: prints delivered/duplicates and lateness p50/p95/p99 and
saves loadtest/results/reminders.json.

Lateness on the socket is the time a `reminder.due` reached our socket minus the
reminder's `at` (same machine, same clock); the server-side lateness is the
notification row's `fired_at - fire_at` (when the Dapr job reached reminders). Every
sample is reported: none is dropped. Target: p99 < 1 s.

  .venv/bin/python -m loadtest.bench_reminders          # starts a private stack
  .venv/bin/python -m loadtest.bench_reminders --keep-logs .run/bench-reminders-logs
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from loadtest.cli import bench_parser
from loadtest.stats import measured_on, save, summary_line, summary_ms
from stack.services import Stack, private_stack

RESULTS = Path(__file__).parent / "results" / "reminders.json"


@dataclass
class Device:
    """One user and the one socket they keep open."""

    name: str
    user_id: str
    headers: dict[str, str]
    token: str
    # task_id -> the reminder's `at`
    expected: dict[str, datetime] = field(default_factory=dict)
    # (received, event) for every reminder.due on this socket, duplicates included
    received: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)
    other: Counter[str] = field(default_factory=Counter)  # other message types seen
    closed: str | None = None


@dataclass
class Created:
    task_id: str
    device: Device
    at: datetime
    created: datetime


async def _register(client: httpx.AsyncClient, name: str) -> Device:
    creds = {"username": name, "password": "benchmark pass"}
    made = await client.post("/auth/register", json=creds)
    made.raise_for_status()
    token = (await client.post("/auth/token", json=creds)).json()["access_token"]
    return Device(name, made.json()["id"], {"authorization": f"Bearer {token}"}, token)


async def _listen(ws: ClientConnection, device: Device, arrived: asyncio.Event) -> None:
    """Record every message until the socket closes or the task is cancelled; `arrived`
    is set on each reminder.due."""
    try:
        async for raw in ws:
            now = datetime.now(UTC)
            message = json.loads(raw)
            kind = message.get("type")
            event = message.get("event") or {}
            if kind == "event" and event.get("type") == "reminder.due":
                device.received.append((now, event))
                arrived.set()
            else:
                device.other[f"{kind}:{event.get('type')}" if kind == "event" else str(kind)] += 1
    except ConnectionClosed as exc:
        device.closed = (
            f"{exc.rcvd.code if exc.rcvd else None} {exc.rcvd.reason if exc.rcvd else ''}"
        )


async def _open(stack: Stack, device: Device) -> Any:
    """A socket authenticated by its first frame (a token never travels in the URL)."""
    ws = await connect(stack.config.url("realtime").replace("http://", "ws://") + "/ws")
    await ws.send(json.dumps({"type": "auth", "token": device.token}))
    return ws


async def _all_pages(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], limit: int, **params: Any
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = params | {"limit": limit} | ({"cursor": cursor} if cursor else {})
        resp = await client.get(path, params=query, headers=headers)
        resp.raise_for_status()
        body = resp.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items


def _delivered(devices: list[Device]) -> int:
    return sum(len({e["task_id"] for _, e in d.received} & d.expected.keys()) for d in devices)


async def _all_delivered(devices: list[Device], count: int, arrived: asyncio.Event) -> None:
    """Until every task's reminder is on its owner's socket: re-counted per arrival."""
    while _delivered(devices) < count:
        arrived.clear()
        await arrived.wait()


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def run(
    stack: Stack,
    users: int,
    count: int,
    lead: tuple[float, float],
    timeout: float,  # noqa: ASYNC109 - bounds the wait for deliveries, not this call
    seed: int,
) -> dict[str, Any]:
    rng = random.Random(seed)
    base = stack.config.url("todo-api") + "/api/v1"
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        tag = uuid.uuid4().hex[:6]
        devices = [await _register(client, f"rem{i}-{tag}") for i in range(users)]
        sockets = [await _open(stack, d) for d in devices]
        for ws in sockets:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert hello["type"] == "hello", hello
        arrived = asyncio.Event()
        listeners = [
            asyncio.create_task(_listen(ws, d, arrived))
            for ws, d in zip(sockets, devices, strict=True)
        ]

        started = time.monotonic()
        created: list[Created] = []
        create_s: list[float] = []
        for i in range(count):
            device = devices[i % users]
            now = datetime.now(UTC)
            at = now + timedelta(seconds=rng.uniform(*lead))
            t0 = time.perf_counter()
            resp = await client.post(
                "/tasks",
                headers=device.headers,
                json={"title": f"remind me {i}", "reminders": [{"at": at.isoformat()}]},
            )
            create_s.append(time.perf_counter() - t0)
            resp.raise_for_status()
            task_id = resp.json()["id"]
            device.expected[task_id] = at
            created.append(Created(task_id, device, at, now))
        created_in = time.monotonic() - started
        print(f"created {count} tasks in {created_in:.1f} s", flush=True)

        last_at = max(c.at for c in created)
        with contextlib.suppress(TimeoutError):  # a shortfall is what the result reports
            left = timeout - (time.monotonic() - started)
            await asyncio.wait_for(_all_delivered(devices, count, arrived), max(0.0, left))
        all_in = time.monotonic() - started
        got = _delivered(devices)
        print(
            f"{got}/{count} reminder.due on the sockets after {all_in:.1f} s "
            f"(last reminder due {(last_at - created[0].created).total_seconds():.1f} s "
            "after the first create)",
            flush=True,
        )
        await asyncio.sleep(5)  # time for a duplicate to show
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
        for ws in sockets:
            await ws.close()

        # The notification rows are written right after the publish; give stragglers a moment.
        notes: dict[str, list[dict[str, Any]]] = {}
        deadline = time.monotonic() + 15
        while True:
            for d in devices:
                notes[d.user_id] = await _all_pages(client, "/notifications", d.headers, limit=7)
            listed = sum(
                len({n["task_id"] for n in notes[d.user_id]} & d.expected.keys()) for d in devices
            )
            if listed >= count or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)

        # When reminders scheduled each job (audit keeps reminder.scheduled): a job
        # scheduled after its `at` cannot fire on time.
        scheduled_at: dict[str, datetime] = {}
        for d in devices:
            for entry in await _all_pages(client, "/audit", d.headers, limit=500):
                if entry["type"] == "reminder.scheduled":
                    scheduled_at.setdefault(entry["task_id"], _ts(entry["occurred_at"]))

    return _result(devices, created, notes, scheduled_at, create_s, created_in, all_in, seed)


def _result(
    devices: list[Device],
    created: list[Created],
    notes: dict[str, list[dict[str, Any]]],
    scheduled_at: dict[str, datetime],
    create_s: list[float],
    created_in: float,
    all_in: float,
    seed: int,
) -> dict[str, Any]:
    count = len(created)
    at_of = {c.task_id: c.at for c in created}
    # One reminder per task, fired once: a second reminder.due for a task is a duplicate,
    # whatever its event id.
    socket_late: dict[str, float] = {}
    fired_to_socket: list[float] = []
    socket_dups = socket_dup_ids = wrong_user = unknown = 0
    for d in devices:
        socket_dups += len(d.received) - len({e["task_id"] for _, e in d.received})
        socket_dup_ids += len(d.received) - len({e["event_id"] for _, e in d.received})
        for received, event in d.received:
            task_id = event["task_id"]
            if task_id not in d.expected:
                wrong_user += task_id in at_of
                unknown += task_id not in at_of
            elif task_id not in socket_late:  # a duplicate is no new lateness sample
                socket_late[task_id] = (received - d.expected[task_id]).total_seconds()
                fired_to_socket.append((received - _ts(event["occurred_at"])).total_seconds())

    server_late: list[float] = []
    note_dups = note_dup_ids = note_missing = note_unexpected = note_bad_at = 0
    for d in devices:
        rows = notes.get(d.user_id, [])
        tasks = {n["task_id"] for n in rows}
        note_dups += len(rows) - len(tasks)
        note_dup_ids += len(rows) - len({n["event_id"] for n in rows})
        note_missing += len(d.expected.keys() - tasks)
        note_unexpected += len(tasks - d.expected.keys())
        for row in rows:
            if row["task_id"] in d.expected and _ts(row["fire_at"]) != d.expected[row["task_id"]]:
                note_bad_at += 1
            if row.get("fire_at") and row.get("fired_at"):
                server_late.append((_ts(row["fired_at"]) - _ts(row["fire_at"])).total_seconds())

    lead = [(at_of[t] - scheduled_at[t]).total_seconds() for t in at_of if t in scheduled_at]
    # From the POST to reminders scheduling the job: mostly the outbox's relay delay.
    to_scheduled = [
        (scheduled_at[c.task_id] - c.created).total_seconds()
        for c in created
        if c.task_id in scheduled_at
    ]
    late_over_1s = sorted((round(s, 3), t) for t, s in socket_late.items() if s > 1)

    def summary(samples: list[float]) -> dict[str, float] | None:
        return summary_ms(samples) if samples else None

    return {
        **measured_on(),
        "users": len(devices),
        "reminders": count,
        "seed": seed,
        "created in s": round(created_in, 1),
        "create": summary(create_s),
        "all delivered after s": round(all_in, 1),
        "delivered on sockets": len(socket_late),
        "missing on sockets": count - len(socket_late),
        "socket duplicates": socket_dups,
        "socket duplicate event ids": socket_dup_ids,
        "delivered to another user": wrong_user,
        "unknown reminder.due on sockets": unknown,
        "other socket messages": dict(sum((d.other for d in devices), Counter())),
        "sockets closed by server": [d.closed for d in devices if d.closed],
        "notifications listed": sum(len(v) for v in notes.values()),
        "notification duplicates": note_dups,
        "notification duplicate event ids": note_dup_ids,
        "notifications missing": note_missing,
        "notifications unexpected": note_unexpected,
        "notifications with another fire_at": note_bad_at,
        "lateness on socket (received - at)": summary(list(socket_late.values())),
        "server lateness (fired_at - fire_at)": summary(server_late),
        "fired to socket (received - fired)": summary(fired_to_socket),
        "scheduled after its at": sum(1 for s in lead if s < 0),
        "scheduling lead (at - scheduled)": summary(lead),
        "scheduling lead min s": round(min(lead), 3) if lead else None,
        "create to scheduled (outbox + reminders)": summary(to_scheduled),
        "socket lateness over 1 s (s, task)": late_over_1s,
        "target": "p99 < 1 s",
    }


def _line(name: str, s: dict[str, float] | None) -> str:
    return summary_line(name, s, width=38, digits=8)


def report(r: dict[str, Any]) -> None:
    print(
        f"\ndelivered on sockets {r['delivered on sockets']}/{r['reminders']} "
        f"(missing {r['missing on sockets']}), socket duplicates {r['socket duplicates']} "
        f"(same event id {r['socket duplicate event ids']}), "
        f"to another user {r['delivered to another user']}, "
        f"unknown {r['unknown reminder.due on sockets']}"
    )
    print(
        f"notifications listed {r['notifications listed']} "
        f"(missing {r['notifications missing']}, duplicates {r['notification duplicates']} "
        f"(same event id {r['notification duplicate event ids']}), "
        f"unexpected {r['notifications unexpected']}, "
        f"wrong fire_at {r['notifications with another fire_at']})"
    )
    print(_line("lateness on socket (received - at)", r["lateness on socket (received - at)"]))
    print(_line("server (fired_at - fire_at)", r["server lateness (fired_at - fire_at)"]))
    print(_line("fired -> socket (received - fired)", r["fired to socket (received - fired)"]))
    print(_line("scheduling lead (at - scheduled)", r["scheduling lead (at - scheduled)"]))
    print(_line("create -> job scheduled", r["create to scheduled (outbox + reminders)"]))
    print(
        f"target p99 < 1000 ms; jobs scheduled after their at: {r['scheduled after its at']} "
        f"(shortest lead {r['scheduling lead min s']} s); "
        f"other socket messages {r['other socket messages']}; "
        f"closed by server {r['sockets closed by server']}"
    )


def main() -> None:
    parser = bench_parser(__doc__, keep_logs=True)
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--min-lead", type=float, default=15.0, help="seconds")
    parser.add_argument("--max-lead", type=float, default=75.0, help="seconds")
    parser.add_argument("--timeout", type=float, default=150.0, help="seconds from the start")
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    with private_stack(keep_logs=args.keep_logs) as stack:
        result = asyncio.run(
            run(
                stack,
                args.users,
                args.count,
                (args.min_lead, args.max_lead),
                args.timeout,
                args.seed,
            )
        )
    report(result)
    save(result, RESULTS)


if __name__ == "__main__":
    main()
