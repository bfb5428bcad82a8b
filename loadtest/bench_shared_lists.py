"""shared-lists benchmark: an owner shares a list with an editor; each has two WebSocket
clients (four sockets). The two take turns changing tasks in the list (create, patch,
complete: 200 changes by default) and every change must arrive exactly once on all four
sockets. Latency is from the start of the REST call to the arrival on each socket (one
clock, one process). Then the owner removes the editor and makes 20 more changes: the
editor's sockets must hear nothing more about the list after list.member_removed, the
owner's must get all 20. Not a test: prints and saves loadtest/results/shared_lists.json;
exits 1 when a change is missing or duplicated, p99 >= 500 ms, or the removal leaks.

  .venv/bin/python -m loadtest.bench_shared_lists [--changes 200 --rate 10]
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from loadtest.cli import bench_parser
from loadtest.deliveries import Change, Socket, change_key, per_socket_ms, tally
from loadtest.stats import measured_on, save, summary_line, summary_ms
from stack.services import Stack, private_stack

RESULTS = Path(__file__).parent / "results" / "shared_lists.json"
P99_LIMIT_MS = 500.0
SETTLE_S = 3.0  # after everything expected arrived: time for a duplicate or a leak to show


@dataclass
class Member:
    username: str
    user_id: str
    token: str
    headers: dict[str, str]


@dataclass
class Device:
    """One socket of a member, with every message it received (and when)."""

    member: Member
    sock: Socket
    messages: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    closed: str | None = None

    def events(self, kind: str, list_id: str) -> list[int]:
        """Indexes in `messages` of events of type `kind` about `list_id`."""
        return [
            i
            for i, (_, m) in enumerate(self.messages)
            if m.get("type") == "event"
            and m["event"].get("type") == kind
            and m["event"].get("list_id") == list_id
        ]


async def _register(client: httpx.AsyncClient, username: str) -> Member:
    creds = {"username": username, "password": "benchmark pass"}
    made = await client.post("/auth/register", json=creds)
    made.raise_for_status()
    token = (await client.post("/auth/token", json=creds)).json()["access_token"]
    return Member(username, made.json()["id"], token, {"authorization": f"Bearer {token}"})


async def _listen(ws: ClientConnection, device: Device) -> None:
    try:
        async for raw in ws:
            received = time.perf_counter()
            message = json.loads(raw)
            device.messages.append((received, message))
            device.sock.record(message, received)
    except ConnectionClosed as exc:
        device.closed = (
            f"{exc.rcvd.code if exc.rcvd else None} {exc.rcvd.reason if exc.rcvd else ''}"
        )


class Writer:
    """Makes changes in one list, in the order create -> patch -> complete per task."""

    def __init__(self, client: httpx.AsyncClient, list_id: str) -> None:
        self.client = client
        self.list_id = list_id
        self.changes: list[Change] = []
        self.failures: list[str] = []
        self.call_s: list[float] = []  # how long each REST call took
        self._task: str | None = None
        self._step = 0
        self._made = 0

    async def change(self, actor: Member) -> None:
        """The next change of the current task, made by `actor`."""
        self._made += 1
        kind = ("create", "patch", "complete")[self._step]
        started = time.perf_counter()
        if self._task is None or kind == "create":
            resp = await self.client.post(
                "/tasks",
                headers=actor.headers,
                json={"title": f"shared {self._made}", "list_id": self.list_id},
            )
        elif kind == "patch":
            resp = await self.client.patch(
                f"/tasks/{self._task}",
                headers=actor.headers,
                json={"title": f"shared {self._made} edited"},
            )
        else:
            resp = await self.client.post(f"/tasks/{self._task}/complete", headers=actor.headers)
        self.call_s.append(time.perf_counter() - started)
        if resp.status_code not in (200, 201):
            self.failures.append(f"{kind} by {actor.username}: {resp.status_code} {resp.text}")
            return
        body = resp.json()
        self._task = None if kind == "complete" else body["id"]
        self._step = (self._step + 1) % 3
        key = change_key({"type": "task.x", "task_id": body["id"], "task": body})
        assert key is not None
        self.changes.append(Change(key, self.list_id, actor.user_id, started, kind))


async def _paced(count: int, rate: float, one: Callable[[int], Awaitable[None]]) -> float:
    """Calls `one(i)` for i < count, one after another, no faster than `rate` per second."""
    began = time.perf_counter()
    for i in range(count):
        delay = began + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await one(i)
    return time.perf_counter() - began


async def _until(
    done: Callable[[], bool],
    timeout: float,  # noqa: ASYNC109 - a polling deadline: False when it passes
) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def _arrived(changes: list[Change], devices: list[Device]) -> bool:
    keys = {c.key for c in changes}
    return all(keys <= {k for k, _, _ in d.sock.got} for d in devices)


async def run(stack: Stack, changes: int, after_removal: int, rate: float) -> dict[str, Any]:
    base = stack.config.url("todo-api") + "/api/v1"
    ws_base = stack.config.url("realtime").replace("http://", "ws://") + "/ws"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        tag = uuid.uuid4().hex[:6]
        owner = await _register(client, f"slown{tag}")
        editor = await _register(client, f"sled{tag}")
        devices = [
            Device(m, Socket(f"{role}-{n}", m.user_id))
            for m, role in ((owner, "owner"), (editor, "editor"))
            for n in ("phone", "laptop")
        ]
        sockets = [await connect(ws_base) for d in devices]
        for ws, d in zip(sockets, devices, strict=True):  # the token in the first frame
            await ws.send(json.dumps({"type": "auth", "token": d.member.token}))
        for ws in sockets:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert hello["type"] == "hello", hello
        listeners = [
            asyncio.create_task(_listen(ws, d)) for ws, d in zip(sockets, devices, strict=True)
        ]

        made = await client.post("/lists", headers=owner.headers, json={"name": f"shared {tag}"})
        made.raise_for_status()
        list_id: str = made.json()["id"]
        shared = await client.put(
            f"/lists/{list_id}/members/{editor.username}",
            headers=owner.headers,
            json={"role": "editor"},
        )
        assert shared.status_code == 202, (shared.status_code, shared.text)  # invited
        joined = await client.post(f"/invitations/{list_id}/accept", headers=editor.headers)
        assert joined.status_code == 200, (joined.status_code, joined.text)
        added = await _until(
            lambda: all(d.events("list.member_added", list_id) for d in devices), 15
        )
        print(f"list {list_id} shared; member_added on all four sockets: {added}", flush=True)

        # -- phase 1: the two members take turns ---------------------------------------
        writer = Writer(client, list_id)
        members = [owner, editor]
        took = await _paced(changes, rate, lambda i: writer.change(members[i % 2]))
        print(f"{changes} changes in {took:.1f} s ({changes / took:.1f}/s)", flush=True)
        await _until(lambda: _arrived(writer.changes, devices), 15)
        await asyncio.sleep(SETTLE_S)
        phase1 = tally(
            writer.changes, [d.sock for d in devices], {list_id: [owner.user_id, editor.user_id]}
        )

        # -- phase 2: the owner removes the editor, then makes more changes ------------
        marks = [len(d.sock.got) for d in devices]
        removed = await client.delete(
            f"/lists/{list_id}/members/{editor.username}", headers=owner.headers
        )
        removal_seen = await _until(
            lambda: all(d.events("list.member_removed", list_id) for d in devices), 15
        )
        alone = Writer(client, list_id)
        took2 = await _paced(after_removal, rate, lambda _: alone.change(owner))
        owners = [d for d in devices if d.member is owner]
        await _until(lambda: _arrived(alone.changes, owners), 15)
        await asyncio.sleep(SETTLE_S)
        # What the removed editor can still do through REST (expected: 404 for both).
        editor_get = await client.get(f"/lists/{list_id}", headers=editor.headers)
        task_id = alone.changes[-1].key[0] if alone.changes else "none"
        editor_patch = await client.patch(
            f"/tasks/{task_id}", headers=editor.headers, json={"title": "not mine any more"}
        )

        for listener in listeners:
            listener.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
        for ws in sockets:
            await ws.close()

    later = [
        Socket(d.sock.name, d.sock.user_id, d.sock.got[mark:])
        for d, mark in zip(devices, marks, strict=True)
    ]
    phase2 = tally(alone.changes, later, {list_id: [owner.user_id]})
    leaks: dict[str, dict[str, int]] = {}
    for d in devices:
        if d.member is editor:
            removal = d.events("list.member_removed", list_id)
            start = removal[0] + 1 if removal else 0
            leaks[d.sock.name] = dict(
                Counter(
                    m["event"]["type"]
                    for _, m in d.messages[start:]
                    if m.get("type") == "event" and m["event"].get("list_id") == list_id
                )
            )
    return {
        **measured_on(),
        "load average at end": [round(x, 2) for x in os.getloadavg()],
        "sockets": [d.sock.name for d in devices],
        "member_added on all four sockets": added,
        "changes": len(writer.changes),
        "change kinds": dict(Counter(c.kind for c in writer.changes)),
        "change failures": writer.failures,
        "changes in s": round(took, 1),
        "rate per s": rate,
        "REST call": summary_ms(writer.call_s) if writer.call_s else None,
        "delivery": phase1.summary(),
        "missing (socket, task, version)": phase1.missing_keys[:20],
        "latency per socket ms": per_socket_ms(phase1),
        "messages per socket": {d.sock.name: dict(d.sock.seen) for d in devices},
        "sockets closed by server": {d.sock.name: d.closed for d in devices if d.closed},
        "after removal": {
            "DELETE member status": removed.status_code,
            "member_removed on all four sockets": removal_seen,
            "changes by the owner": len(alone.changes),
            "change failures": alone.failures,
            "changes in s": round(took2, 1),
            "owner sockets": phase2.summary(),
            "owner latency per socket ms": {
                k: v for k, v in per_socket_ms(phase2).items() if k.startswith("owner")
            },
            "removed user sockets: task events": phase2.unexpected,
            "removed user sockets: list events after member_removed": leaks,
            "removed user GET /lists/{id}": editor_get.status_code,
            "removed user PATCH /tasks/{id}": editor_patch.status_code,
        },
        "target": f"every change once on all four sockets, p99 < {P99_LIMIT_MS:.0f} ms",
    }


def failures(r: dict[str, Any]) -> list[str]:
    bad = []
    d, a = r["delivery"], r["after removal"]
    if r["change failures"] or a["change failures"]:
        bad.append(f"REST changes failed: {r['change failures'] + a['change failures']}")
    if d["missing"] or d["duplicates"] or d["unknown"] or d["unexpected"]:
        bad.append(
            f"{d['missing']} deliveries missing, {d['duplicates']} duplicates, "
            f"{d['unknown']} unknown, {d['unexpected']} unexpected"
        )
    p99 = d["latency ms"]["p99"] if d["latency ms"] else None
    if p99 is None or p99 >= P99_LIMIT_MS:
        bad.append(f"p99 {p99} ms, limit {P99_LIMIT_MS:.0f} ms")
    if a["DELETE member status"] != 204 or not a["member_removed on all four sockets"]:
        bad.append(f"removal: DELETE -> {a['DELETE member status']}, not on all four sockets")
    o = a["owner sockets"]
    if o["missing"] or o["duplicates"] or o["unknown"]:
        bad.append(
            f"owner sockets after removal: {o['missing']} missing, {o['duplicates']} duplicates"
        )
    leaks = a["removed user sockets: list events after member_removed"]
    leaked = sum(sum(c.values()) for c in leaks.values())
    if a["removed user sockets: task events"] or leaked:
        bad.append(f"the removed user's sockets got {leaked} list events after the removal")
    return bad


def _line(name: str, s: dict[str, float] | None) -> str:
    return summary_line(name, s, width=14, digits=7)


def report(r: dict[str, Any]) -> None:
    d, a = r["delivery"], r["after removal"]
    print(
        f"\n{r['changes']} changes {r['change kinds']} in {r['changes in s']} s "
        f"(at most {r['rate per s']}/s); REST failures {len(r['change failures'])}; "
        f"REST call: {_line('', r['REST call']).strip()}"
    )
    print(
        f"deliveries {d['delivered']}/{d['expected deliveries']}: missing {d['missing']}, "
        f"duplicates {d['duplicates']}, unexpected {d['unexpected']}, unknown {d['unknown']}, "
        f"out of seq order {d['out of seq order']}"
    )
    print("REST call start -> arrival on the socket:")
    for name, s in r["latency per socket ms"].items():
        print("  " + _line(name, s))
    print("  " + _line("overall", d["latency ms"]))
    o = a["owner sockets"]
    leaks = a["removed user sockets: list events after member_removed"]
    print(
        f"\nowner removes editor: DELETE -> {a['DELETE member status']}, member_removed on all "
        f"four sockets: {a['member_removed on all four sockets']}"
    )
    print(
        f"{a['changes by the owner']} owner changes: owner sockets {o['delivered']}/"
        f"{o['expected deliveries']} (missing {o['missing']}, duplicates {o['duplicates']}); "
        f"removed user's sockets: {a['removed user sockets: task events']} task events, "
        f"list events after the removal {leaks}"
    )
    for name, s in a["owner latency per socket ms"].items():
        print("  " + _line(name, s))
    print(
        f"removed user: GET /lists/{{id}} -> {a['removed user GET /lists/{id}']}, "
        f"PATCH /tasks/{{id}} -> {a['removed user PATCH /tasks/{id}']}"
    )


def main() -> None:
    parser = bench_parser(__doc__, keep_logs=True)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--after-removal", type=int, default=20)
    parser.add_argument("--rate", type=float, default=10.0, help="changes per second at most")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with private_stack(keep_logs=args.keep_logs) as stack:
        result = asyncio.run(run(stack, args.changes, args.after_removal, args.rate))
    bad = failures(result)
    result["failures"] = bad
    report(result)
    save(result, args.out)
    if bad:
        print("FAILED: " + "; ".join(bad))
        sys.exit(1)
    print(f"OK: every change once on all four sockets, p99 < {P99_LIMIT_MS:.0f} ms")


if __name__ == "__main__":
    main()
