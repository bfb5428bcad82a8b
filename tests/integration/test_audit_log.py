"""Issue 4 on the real stack: the audit log holds every task event exactly once.

Five users make 1,000 random REST calls in all (create, patch, complete, reopen, delete,
plus calls that change nothing: completing twice, reopening an open task, a patch to the
same values, any call on a deleted task). Each call's expected event is logged as it
succeeds. Then GET /api/v1/audit must list, per user, exactly those events: the same
multiset of (task_id, type), each event id once, in occurred_at order (and each task's
events in the order they were made). Finally a sample of the events is published to
task-events again, as a broker redelivery would, and the log must not change.

Timing: the events reach audit through Dapr's outbox (≥ 1 s per message; the brief
expected ~10-20 events/s). Measured on this 2-core machine, with another stack running:
the 1,000 calls take ~26 s (five writers at once) and emit ~750 events, and the log
was complete ~4 s after the last call (~25 events/s end to end), so all 1,000 calls
stay in and AUDIT_TIMEOUT_S (120 s after the last call) is generous. Each redelivered
duplicate costs audit ~0.6 s (see REDELIVERY_TIMEOUT_S), so the whole test takes
~1.5 min and at most ~4 min when everything waits for its timeout.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest

from functions.audit.service import BESIDE
from stack.services import Stack
from tests.integration.api import User

pytestmark = pytest.mark.integration

USERS = 5
OPS = 1_000
AUDIT_TIMEOUT_S = 120.0  # after the last call; the outbox relays ~10-25 events/s
REDELIVER = 100
# A duplicate's insert fails in PostgreSQL with a plain "no item was updated" (not an ETag
# error), which the kv `state` retry policy retries 3 x 200 ms: ~0.6 s per duplicate, one
# at a time per partition (5 users -> at most 5 partitions).
REDELIVERY_TIMEOUT_S = 60.0
WORDS = ("milk", "report", "invoice", "garden", "dentist", "deploy", "taxes", "backup")
PRIORITIES = ("low", "medium", "high", "urgent")

Expected = tuple[str, str]  # (task_id, event type)
EMITS = {"complete": "task.completed", "reopen": "task.reopened"}


@dataclass
class Local:
    """What the task is, as far as this user's calls tell."""

    title: str
    priority: str = "medium"
    status: str = "open"
    version: int = 1
    deleted: bool = False


@dataclass
class Actor:
    user: User
    rng: random.Random
    tasks: dict[str, Local] = field(default_factory=dict)
    # In the order emitted; registration announced the user's default list.
    expected: list[Expected] = field(default_factory=lambda: [("", "list.created")])
    calls: Counter[str] = field(default_factory=Counter)
    surprises: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        start = time.perf_counter()
        resp = self.user.http.request(method, path, **kwargs)
        self.latencies.append(time.perf_counter() - start)
        return resp

    def check(self, what: str, resp: httpx.Response, status: int, version: int | None) -> bool:
        """Whether the call did what the model predicts; a surprise is kept for the end."""
        got_version = resp.json().get("version") if status == 200 and resp.content else None
        if resp.status_code != status or (version is not None and got_version != version):
            self.surprises.append(
                f"{what}: {resp.status_code} v{got_version}, expected {status} v{version}: "
                f"{resp.text[:200]}"
            )
            return False
        return True

    def step(self) -> None:
        live = [t for t, s in self.tasks.items() if not s.deleted]
        gone = [t for t, s in self.tasks.items() if s.deleted]
        roll = self.rng.random()
        if not live or roll < 0.25:
            self.create()
        elif gone and roll > 0.97:
            self.on_deleted(self.rng.choice(gone))
        elif roll < 0.50:
            self.patch(self.rng.choice(live))
        elif roll < 0.65:
            self.transition(self.rng.choice(live), "complete")
        elif roll < 0.80:
            self.transition(self.rng.choice(live), "reopen")
        else:
            self.delete(self.rng.choice(live))

    def create(self) -> None:
        title = " ".join(self.rng.sample(WORDS, 2))
        priority = self.rng.choice(PRIORITIES)
        resp = self.call("POST", "/tasks", json={"title": title, "priority": priority})
        self.calls["create"] += 1
        if resp.status_code != 201:
            self.surprises.append(f"create: {resp.status_code} {resp.text[:200]}")
            return
        task_id = resp.json()["id"]
        self.tasks[task_id] = Local(title, priority)
        self.expected.append((task_id, "task.created"))

    def patch(self, task_id: str) -> None:
        local = self.tasks[task_id]
        body: dict[str, str] = {}
        # Often the value it already has: such a patch changes nothing and emits nothing.
        if self.rng.random() < 0.6:
            body["priority"] = self.rng.choice(PRIORITIES)
        if not body or self.rng.random() < 0.5:
            body["title"] = self.rng.choice([local.title, " ".join(self.rng.sample(WORDS, 2))])
        changed = body.get("priority", local.priority) != local.priority or (
            body.get("title", local.title) != local.title
        )
        resp = self.call("PATCH", f"/tasks/{task_id}", json=body)
        self.calls["patch" if changed else "patch (no change)"] += 1
        if self.check(f"patch {task_id}", resp, 200, local.version + changed):
            local.title = body.get("title", local.title)
            local.priority = body.get("priority", local.priority)
            if changed:
                local.version += 1
                self.expected.append((task_id, "task.updated"))

    def transition(self, task_id: str, action: str) -> None:
        local = self.tasks[task_id]
        target = "completed" if action == "complete" else "open"
        changes = local.status != target
        resp = self.call("POST", f"/tasks/{task_id}/{action}")
        self.calls[action if changes else f"{action} (already)"] += 1
        if self.check(f"{action} {task_id}", resp, 200, local.version + changes) and changes:
            local.status = target
            local.version += 1
            self.expected.append((task_id, EMITS[action]))

    def delete(self, task_id: str) -> None:
        resp = self.call("DELETE", f"/tasks/{task_id}")
        self.calls["delete"] += 1
        if self.check(f"delete {task_id}", resp, 204, None):
            self.tasks[task_id].deleted = True
            self.expected.append((task_id, "task.deleted"))

    def on_deleted(self, task_id: str) -> None:
        method, path = self.rng.choice(
            [
                ("PATCH", f"/tasks/{task_id}"),
                ("POST", f"/tasks/{task_id}/complete"),
                ("POST", f"/tasks/{task_id}/reopen"),
                ("DELETE", f"/tasks/{task_id}"),
            ]
        )
        kwargs: dict[str, Any] = {"json": {"priority": "high"}} if method == "PATCH" else {}
        resp = self.call(method, path, **kwargs)
        self.calls["call on a deleted task"] += 1
        self.check(f"{method} {path} (deleted)", resp, 404, None)


def audit_log(user: User) -> list[dict[str, Any]] | None:
    """Every entry of the user's audit log, page by page; None when a page failed."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        resp = user.http.get("/audit", params=params)
        if resp.status_code != 200:
            return None
        body = resp.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items


def audit_deliveries(stack: Stack) -> Counter[str]:
    """task-events deliveries audit has handled, by outcome (from its Prometheus metrics)."""
    text = httpx.get(stack.config.metrics_url("audit"), timeout=10).text
    out: Counter[str] = Counter()
    for line in text.splitlines():
        if line.startswith("taskwave_events_total{") and 'topic="task-events"' in line:
            labels, value = line.rsplit(" ", 1)
            outcome = re.search(r'outcome="(\w+)"', labels)
            out[outcome.group(1) if outcome else "?"] += int(float(value))
    return out


def _pairs(items: list[dict[str, Any]]) -> Counter[Expected]:
    return Counter((i.get("task_id", ""), i["type"]) for i in items)


def _diff(got: Counter[Expected], want: Counter[Expected]) -> str:
    missing, extra = want - got, got - want
    return (
        f"{sum(missing.values())} missing {list(missing.items())[:5]}, "
        f"{sum(extra.values())} extra {list(extra.items())[:5]}"
    )


def test_every_event_is_audited_once_in_order_and_redelivery_changes_nothing(
    stack: Stack,
) -> None:
    base = stack.config.url("todo-api")
    rng = random.Random(20260404)
    actors = [Actor(User(base), random.Random(rng.random())) for _ in range(USERS)]

    # -- 1,000 calls, five users at once ----------------------------------------------------
    started = time.monotonic()

    def run(actor: Actor) -> None:
        for _ in range(OPS // USERS):
            actor.step()

    with ThreadPoolExecutor(max_workers=USERS) as pool:
        list(pool.map(run, actors))  # re-raises what a worker raised
    calls_done = time.monotonic()
    ops_s = calls_done - started
    calls = sum((a.calls for a in actors), Counter())
    expected = sum(len(a.expected) for a in actors)
    lat = sorted(x for a in actors for x in a.latencies)
    print(
        f"\n{sum(calls.values())} operations by {USERS} users in {ops_s:.1f} s "
        f"(p50 {lat[len(lat) // 2] * 1000:.0f} ms, p99 {lat[int(len(lat) * 0.99)] * 1000:.0f} ms "
        f"per call): {expected} should emit an event; {dict(sorted(calls.items()))}"
    )
    surprises = [s for a in actors for s in a.surprises]
    assert not surprises, f"{len(surprises)} calls did not do what they should: {surprises[:5]}"
    assert sum(calls.values()) == OPS

    # -- wait until every user's log has every event -----------------------------------------
    want = {a.user.id: Counter(a.expected) for a in actors}
    logs: dict[str, list[dict[str, Any]]] = {}
    complete_at: dict[str, float] = {}
    next_progress = time.monotonic() + 15
    while len(complete_at) < USERS and time.monotonic() - calls_done < AUDIT_TIMEOUT_S:
        for actor in actors:
            uid = actor.user.id
            if uid in complete_at:
                continue
            items = audit_log(actor.user)
            if items is None:
                continue
            logs[uid] = items
            if len(items) >= sum(want[uid].values()):
                complete_at[uid] = time.monotonic()
        if time.monotonic() >= next_progress:
            seen = sum(len(v) for v in logs.values())
            print(
                f"  audited {seen}/{expected} after {time.monotonic() - calls_done:.0f} s",
                flush=True,
            )
            next_progress += 15
        time.sleep(1)
    audited_s = max(complete_at.values(), default=time.monotonic()) - calls_done
    seen = sum(len(v) for v in logs.values())
    print(
        f"audit log complete for {len(complete_at)}/{USERS} users ({seen}/{expected} events) "
        f"{audited_s:.1f} s after the last call, {audited_s + ops_s:.1f} s after the first "
        f"(≈ {seen / (audited_s + ops_s):.1f} events/s end to end)"
    )
    assert len(complete_at) == USERS, (
        f"after {AUDIT_TIMEOUT_S:.0f} s only {seen}/{expected} events were audited"
    )

    # -- per user: exactly the expected events, once each, in order -------------------------
    for actor in actors:
        uid, items = actor.user.id, logs[actor.user.id]
        assert _pairs(items) == want[uid], f"user {uid}: {_diff(_pairs(items), want[uid])}"
        ids = [i["event_id"] for i in items]
        assert len(set(ids)) == len(ids), f"user {uid}: {len(ids) - len(set(ids))} duplicates"
        assert all(i["user_id"] == uid for i in items)
        times = [datetime.fromisoformat(i["occurred_at"]) for i in items]
        assert times == sorted(times), f"user {uid}: not in occurred_at order"
        for task_id in actor.tasks:
            mine = [i for i in items if i.get("task_id") == task_id]
            made = [t for tid, t in actor.expected if tid == task_id]
            assert [i["type"] for i in mine] == made, f"task {task_id}: events out of order"
            versions = [i["task"]["version"] for i in mine]
            assert versions == sorted(versions), f"task {task_id}: versions {versions}"

    # -- redeliver a sample: the log stays as it is -----------------------------------------
    everything = [i for a in actors for i in logs[a.user.id]]
    sample = rng.sample(everything, min(REDELIVER, len(everything)))
    before = audit_deliveries(stack)
    publish = f"{stack.config.dapr_url('todo-api')}/v1.0/publish/pubsub/task-events"
    redelivered = time.monotonic()
    with httpx.Client(timeout=10) as http:
        for item in sample:
            event = {k: v for k, v in item.items() if k not in BESIDE}  # as published
            resp = http.post(
                publish, json=event, params={"metadata.partitionKey": event["user_id"]}
            )
            assert resp.status_code in (200, 204), resp.text
    handled: Counter[str] = Counter()
    while time.monotonic() - redelivered < REDELIVERY_TIMEOUT_S:
        handled = audit_deliveries(stack) - before
        if handled.total() >= len(sample):
            break
        time.sleep(0.5)
    print(
        f"redelivered {len(sample)} events: audit handled {dict(handled)} "
        f"in {time.monotonic() - redelivered:.1f} s"
    )
    assert handled == Counter({"success": len(sample)}), handled
    for actor in actors:
        after = audit_log(actor.user)
        assert after == logs[actor.user.id], f"user {actor.user.id}: the log changed"
    print(f"audit log unchanged after the redelivery; test took {time.monotonic() - started:.0f} s")
