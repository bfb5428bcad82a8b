"""Locust: shared lists. 50 lists x 10 members x 2 devices = 500 users, 1,000 WebSockets.

Each list has an owner and nine editors; every member keeps two devices (sockets)
connected to realtime. Once every socket is up, writers act as the members and change
tasks in their own list (create -> patch -> complete) at a fixed total rate for a fixed
time; then they stop, the sockets get a few seconds to receive the rest, and the run ends
by itself. A change must reach every socket of every member of its list, exactly once.
The fan-out latency, from the start of the REST call (recorded by the writer, same
process and clock) to the arrival on a socket, is measured on the sockets of the OTHER
members (a member's own devices are counted for delivery, not for latency).

The lists and accounts are made before the run (by run_ws, which hands them over in the
file TASKWAVE_SHARED_SETUP), or here at test start when that is not set.

  .venv/bin/python -m loadtest.run_ws --scenario shared-lists [--lists 5 --members 4]
  locust -f loadtest/locustfile_shared.py --headless -u 1004 -r 100 --host http://...:8000
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust import HttpUser, constant_throughput, events, task
from locust.env import Environment

from loadtest.accounts import shared_lists, websocket_urls
from loadtest.deliveries import Change, Socket, change_key, tally
from loadtest.stats import summary_ms
from loadtest.ws_device import Counts, SocketDevice, percentiles_ms

LISTS = int(os.environ.get("TASKWAVE_SHARED_LISTS", "50"))
MEMBERS = int(os.environ.get("TASKWAVE_SHARED_MEMBERS", "10"))
DEVICES = int(os.environ.get("TASKWAVE_WS_DEVICES", "2"))
RATE = float(os.environ.get("TASKWAVE_SHARED_RATE", "5"))  # changes per second, all writers
WRITERS = int(os.environ.get("TASKWAVE_SHARED_WRITERS", "4"))
WRITE_S = float(os.environ.get("TASKWAVE_SHARED_SECONDS", "60"))  # how long writers write
DRAIN_S = float(os.environ.get("TASKWAVE_SHARED_DRAIN", "5"))  # then: time to receive the rest
CONNECT_S = 300.0  # at most this long for every socket to connect (or fail)
SETUP = os.environ.get("TASKWAVE_SHARED_SETUP", "")
STACK_SESSIONS = os.environ.get("TASKWAVE_STACK_SESSIONS", "")
RESULTS = os.environ.get("TASKWAVE_WS_RESULTS", "")
SOCKETS_WANTED = LISTS * MEMBERS * DEVICES

LIST_ROWS: list[dict[str, Any]] = []
MEMBER_ROWS: list[dict[str, Any]] = []  # every member, with its "list_id"
WS_URLS: list[str] = []
COUNTS = Counts()
SOCKETS: list[Socket] = []
DROPPED: set[str] = set()  # names of sockets the server closed or that broke
CHANGES: list[Change] = []
CALLS: list[float] = []  # seconds per REST change
FAILED_CHANGES: list[str] = []
PHASE: dict[str, Any] = {"writing": False, "inflight": 0}
_device_ids = itertools.count()
_writer_ids = itertools.count()


@events.test_start.add_listener  # type: ignore[untyped-decorator]
def _setup(environment: Environment, **_: Any) -> None:
    host = environment.host or "http://127.0.0.1:8000"
    api = f"{host}/api/v1"
    WS_URLS.extend(websocket_urls(api, os.environ.get("TASKWAVE_WS_URL")))
    if SETUP:
        rows = json.loads(Path(SETUP).read_text())
    else:
        rows = shared_lists(api, LISTS, MEMBERS, uuid.uuid4().hex[:6])
    LIST_ROWS.extend(rows)
    for row in rows:
        MEMBER_ROWS.extend(m | {"list_id": row["id"]} for m in row["members"])
    gevent.spawn(_conduct, environment)


def _conduct(environment: Environment) -> None:
    """Writes start when every socket is up, last WRITE_S, then the run ends."""
    deadline = time.monotonic() + CONNECT_S
    while COUNTS.connected + COUNTS.failed < SOCKETS_WANTED and time.monotonic() < deadline:
        gevent.sleep(0.2)
    PHASE["sockets up"] = COUNTS.connected
    machine, own, stack = _cpu(), _own_cpu(), _stack_cpu()
    PHASE["write started"] = time.time()
    PHASE["writing"] = True
    gevent.sleep(WRITE_S)
    PHASE["writing"] = False
    PHASE["write stopped"] = time.time()
    while PHASE["inflight"]:
        gevent.sleep(0.05)
    took = time.time() - PHASE["write started"]
    PHASE["cpu % while writing (100 = one core)"] = {
        "machine, all processes": round((os.cpu_count() or 1) * _busy(machine, _cpu()), 1),
        "this stack": round(100 * (_stack_cpu() - stack) / took, 1) if STACK_SESSIONS else None,
        "Locust": round(100 * (_own_cpu() - own) / took, 1),
    }
    gevent.sleep(DRAIN_S)
    assert environment.runner is not None
    environment.runner.quit()


def _cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - idle) / tick, sum(fields) / tick


def _busy(before: tuple[float, float], after: tuple[float, float]) -> float:
    total = after[1] - before[1]
    return round(100 * (after[0] - before[0]) / total, 1) if total else 0.0


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _stack_cpu() -> float:
    """CPU seconds used so far by the stack's processes (their sessions: run_ws passes
    them in TASKWAVE_STACK_SESSIONS); 0 when not given."""
    sessions = {int(x) for x in STACK_SESSIONS.split(",") if x}
    used = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[3]) in sessions:  # session id
            used += int(fields[11]) + int(fields[12])  # utime + stime
    return used / os.sysconf("SC_CLK_TCK")


class Device(SocketDevice):
    """One of a member's two devices."""

    counts = COUNTS

    def target(self) -> tuple[str, str]:
        device = next(_device_ids)
        member = MEMBER_ROWS[(device // DEVICES) % len(MEMBER_ROWS)]
        self.sock = Socket(f"{member['username']}#{device % DEVICES}", str(member["id"]))
        SOCKETS.append(self.sock)  # only counted once connected: see _save
        return WS_URLS[device % len(WS_URLS)], str(member["token"])

    def on_message(self, message: dict[str, Any], raw: str | bytes, received: float) -> None:
        self.sock.record(message, received)

    def on_dropped(self) -> None:
        DROPPED.add(self.sock.name)

    def on_start(self) -> None:
        super().on_start()
        if self.ws is None:  # never connected: no deliveries expected on it
            SOCKETS.remove(self.sock)


class Writer(HttpUser):
    """Acts for the members of a share of the lists (no two writers for one list). Each
    list has a current task that a random member of the list takes a step further:
    create, patch, complete, then a new task; so members edit each other's tasks."""

    fixed_count = WRITERS
    wait_time = constant_throughput(RATE / WRITERS)

    def on_start(self) -> None:
        me = next(_writer_ids)
        self.lists = [row for i, row in enumerate(LIST_ROWS) if i % WRITERS == me]
        self.current: dict[str, tuple[str, int]] = {}  # list id -> (task id, next step)

    @task
    def change(self) -> None:
        if not PHASE["writing"] or not self.lists:
            return
        row = random.choice(self.lists)
        member = random.choice(row["members"])
        list_id = row["id"]
        task_id, step = self.current.get(list_id, ("", 0))
        headers = member["headers"]
        PHASE["inflight"] += 1
        started = time.time()
        try:
            if step == 0:
                resp = self.client.post(
                    "/api/v1/tasks",
                    name="POST /tasks",
                    json={"title": f"shared {uuid.uuid4().hex[:8]}", "list_id": list_id},
                    headers=headers,
                )
            elif step == 1:
                resp = self.client.patch(
                    f"/api/v1/tasks/{task_id}",
                    name="PATCH /tasks/{id}",
                    json={"title": f"edited {uuid.uuid4().hex[:8]}"},
                    headers=headers,
                )
            else:
                resp = self.client.post(
                    f"/api/v1/tasks/{task_id}/complete",
                    name="POST /tasks/{id}/complete",
                    headers=headers,
                )
            CALLS.append(time.time() - started)
            if resp.status_code not in (200, 201):
                FAILED_CHANGES.append(f"step {step}: {resp.status_code} {resp.text[:200]}")
                return
            body = resp.json()
            key = change_key({"type": "task.changed", "task_id": body["id"], "task": body})
            assert key is not None
            kind = ("create", "patch", "complete")[step]
            CHANGES.append(Change(key, list_id, member["id"], started, kind))
            self.current[list_id] = (body["id"], (step + 1) % 3)
        finally:
            PHASE["inflight"] -= 1


@events.quitting.add_listener  # type: ignore[untyped-decorator]
def _save(environment: Environment, **_: Any) -> None:
    live = [s for s in SOCKETS if s.name not in DROPPED]
    members = {row["id"]: [m["id"] for m in row["members"]] for row in LIST_ROWS}
    result = tally(CHANGES, live, members, others_only=True)
    delivery = result.summary()
    stats = environment.stats
    started, stopped = PHASE.get("write started"), PHASE.get("write stopped")
    made_for = (stopped - started) if started and stopped else None
    summary = {
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": f"{os.uname().machine} {os.uname().sysname}, {os.cpu_count()} cores, "
        "the whole stack and Locust on one box",
        "lists": len(LIST_ROWS),
        "members per list": MEMBERS,
        "devices per member": DEVICES,
        "users": len(MEMBER_ROWS),
        "sockets wanted": SOCKETS_WANTED,
        "connections established": len(SOCKETS),
        "failed connections": COUNTS.failed,
        "dropped connections": COUNTS.dropped,
        "peak connected": COUNTS.peak,
        "connected when writes began": PHASE.get("sockets up"),
        "realtime instances": len(WS_URLS),
        "rate (changes/s, all writers)": RATE,
        "writers": WRITERS,
        "write seconds": round(made_for, 1) if made_for else None,
        "changes": len(CHANGES),
        "changes per s (achieved)": round(len(CHANGES) / made_for, 2) if made_for else None,
        "change kinds": {
            k: sum(c.kind == k for c in CHANGES) for k in ("create", "patch", "complete")
        },
        "change failures": len(FAILED_CHANGES),
        "change failure samples": FAILED_CHANGES[:5],
        "REST change ms": summary_ms(CALLS) if CALLS else None,
        "REST change ms (Locust)": {
            name: percentiles_ms(stats.get(name, method))
            for name, method in (
                ("POST /tasks", "POST"),
                ("PATCH /tasks/{id}", "PATCH"),
                ("POST /tasks/{id}/complete", "POST"),
            )
        },
        "messages received (events, all sockets)": COUNTS.received,
        "message types": dict(sum((s.seen for s in SOCKETS), start=Counter[str]())),
        "expected deliveries": delivery["expected deliveries"],
        "received deliveries": delivery["delivered"],
        "lost": delivery["missing"],
        "duplicates": delivery["duplicates"],
        "to a non-member": delivery["unexpected"],
        "unknown task events": delivery["unknown"],
        "out of seq order": delivery["out of seq order"],
        "lost samples (socket, (task, version))": result.missing_keys[:10],
        "fan-out latency ms (REST start -> other members' sockets)": delivery["latency ms"],
        "cpu % while writing (100 = one core)": PHASE.get("cpu % while writing (100 = one core)"),
        "load average at end": [round(x, 2) for x in os.getloadavg()],
        "drain s": DRAIN_S,
        "goals": {"lost": 0, "duplicates": 0, "failed or dropped": 0},
    }
    if delivery["missing"] or delivery["duplicates"] or COUNTS.failed or COUNTS.dropped:
        environment.process_exit_code = 1
    if RESULTS:
        with open(RESULTS, "w") as out:
            json.dump(summary, out, indent=2)
            out.write("\n")
    else:
        print(json.dumps(summary, indent=2))
