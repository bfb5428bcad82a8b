"""Locust: 1,000 WebSocket devices (100 users x 10) while writers change tasks.

Each device holds one socket to realtime; each change a writer makes must reach all ten
devices of that user. The fan-out latency (event's occurred_at -> received) is reported
as request type WS, name "fan-out"; a socket that fails or drops counts as a failure.

  .venv/bin/python -m loadtest.run_ws            # starts a private stack and runs this
  locust -f loadtest/locustfile_ws.py --headless -u 1002 -r 100 -t 90s --host http://...:8000
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from datetime import datetime
from typing import Any

import requests
from locust import HttpUser, constant_throughput, events, task
from locust.env import Environment

from loadtest.accounts import register, websocket_urls
from loadtest.ws_device import Counts, SocketDevice, fire, percentiles_ms

USERS = int(os.environ.get("TASKWAVE_WS_USERS", "100"))
DEVICES = int(os.environ.get("TASKWAVE_WS_DEVICES", "10"))
RESULTS = os.environ.get("TASKWAVE_WS_RESULTS", "")
ACCOUNTS: list[dict[str, Any]] = []
# One or more realtime instances (comma-separated); devices alternate between them.
WS_URLS: list[str] = []
_device_ids = itertools.count()
COUNTS = Counts()
RECEIVED_BY_URL: dict[str, int] = {}


@events.test_start.add_listener  # type: ignore[untyped-decorator]
def _accounts(environment: Environment, **_: Any) -> None:
    """Users with one task each, made once before any device connects."""
    host = environment.host or "http://127.0.0.1:8000"
    api = f"{host}/api/v1"
    WS_URLS.extend(websocket_urls(api, os.environ.get("TASKWAVE_WS_URL")))
    session = requests.Session()
    run = uuid.uuid4().hex[:6]
    for i in range(USERS):
        account = register(session, api, f"ws{run}u{i}")
        made = session.post(
            f"{api}/tasks", json={"title": "load"}, headers=account["headers"], timeout=30
        )
        made.raise_for_status()
        ACCOUNTS.append(account | {"task": made.json()["id"]})


class Device(SocketDevice):
    """One phone or laptop of one of the users: a socket that only listens."""

    counts = COUNTS

    def target(self) -> tuple[str, str]:
        device = next(_device_ids)
        account = ACCOUNTS[(device // DEVICES) % len(ACCOUNTS)]
        return WS_URLS[device % len(WS_URLS)], str(account["token"])

    def on_message(self, message: dict[str, Any], raw: str | bytes, received: float) -> None:
        if message.get("type") != "event":
            return
        sent = datetime.fromisoformat(message["event"]["occurred_at"]).timestamp()
        RECEIVED_BY_URL[self.url] = RECEIVED_BY_URL.get(self.url, 0) + 1
        fire("fan-out", max(0.0, (received - sent) * 1000), len(raw))


class Writer(HttpUser):
    """Changes a random user's task; every change fans out to that user's devices."""

    fixed_count = 2
    wait_time = constant_throughput(5)

    @task
    def change(self) -> None:
        # Measure the steady state: writes start once every device is connected.
        if not ACCOUNTS or COUNTS.connected < USERS * DEVICES:
            return
        account = random.choice(ACCOUNTS)
        self.client.patch(
            f"/api/v1/tasks/{account['task']}",
            name="PATCH /tasks/{id}",
            json={"title": f"load {uuid.uuid4().hex[:8]}"},
            headers=account["headers"],
        )


@events.quitting.add_listener  # type: ignore[untyped-decorator]
def _save(environment: Environment, **_: Any) -> None:
    if not RESULTS:
        return
    stats = environment.stats
    fan = stats.get("fan-out", "WS")
    patch = stats.get("PATCH /tasks/{id}", "PATCH")
    summary = {
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
        "devices": USERS * DEVICES,
        "users": USERS,
        "peak connected": COUNTS.peak,
        "failed connections": COUNTS.failed,
        "dropped connections": COUNTS.dropped,
        "fan-out messages": fan.num_requests,
        "realtime instances": len(WS_URLS),
        "messages per instance": list(RECEIVED_BY_URL.values()),
        "fan-out ms": percentiles_ms(fan),
        "writes": patch.num_requests,
        "write failures": patch.num_failures,
        "write ms": percentiles_ms(patch),
        "goals": {"fan-out p99 ms": 250, "failed or dropped": 0},
    }
    with open(RESULTS, "w") as out:
        json.dump(summary, out, indent=2)
        out.write("\n")
