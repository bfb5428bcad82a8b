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
import time
import uuid
from datetime import datetime
from typing import Any

import gevent
import requests
import websocket
from locust import HttpUser, User, between, constant_throughput, events, task
from locust.env import Environment

USERS = int(os.environ.get("TASKWAVE_WS_USERS", "100"))
DEVICES = int(os.environ.get("TASKWAVE_WS_DEVICES", "10"))
RESULTS = os.environ.get("TASKWAVE_WS_RESULTS", "")
ACCOUNTS: list[dict[str, Any]] = []
# One or more realtime instances (comma-separated); devices alternate between them.
WS_URLS: list[str] = []
_device_ids = itertools.count()
STATE = {"connected": 0, "peak": 0, "failed": 0, "dropped": 0, "received": 0}
RECEIVED_BY_URL: dict[str, int] = {}


@events.test_start.add_listener
def _accounts(environment: Environment, **_: Any) -> None:
    """Users with one task each, made once before any device connects."""
    host = environment.host or "http://127.0.0.1:8000"
    api = f"{host}/api/v1"
    urls = (
        os.environ.get("TASKWAVE_WS_URL")
        or requests.get(f"{api}/config", timeout=10).json()["websocket_url"]
    )
    WS_URLS.extend(urls.split(","))
    session = requests.Session()
    run = uuid.uuid4().hex[:6]
    for i in range(USERS):
        creds = {"username": f"ws{run}u{i}", "password": "load test pass"}
        session.post(f"{api}/auth/register", json=creds, timeout=30).raise_for_status()
        token = session.post(f"{api}/auth/token", json=creds, timeout=30).json()["access_token"]
        headers = {"authorization": f"Bearer {token}"}
        made = session.post(f"{api}/tasks", json={"title": "load"}, headers=headers, timeout=30)
        made.raise_for_status()
        ACCOUNTS.append({"token": token, "headers": headers, "task": made.json()["id"]})


class Device(User):
    """One phone or laptop: a socket that only listens."""

    weight = 1000
    wait_time = between(5, 10)

    def on_start(self) -> None:
        device = next(_device_ids)
        account = ACCOUNTS[(device // DEVICES) % len(ACCOUNTS)]
        self.url = WS_URLS[device % len(WS_URLS)]
        started = time.perf_counter()
        try:
            self.ws = websocket.create_connection(
                f"{self.url}?token={account['token']}", timeout=30
            )
            hello = json.loads(self.ws.recv())
            assert hello["type"] == "hello", hello
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none raised
            STATE["failed"] += 1
            events.request.fire(
                request_type="WS", name="connect", response_time=0, response_length=0, exception=exc
            )
            self.ws = None
            return
        events.request.fire(
            request_type="WS",
            name="connect",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=None,
        )
        STATE["connected"] += 1
        STATE["peak"] = max(STATE["peak"], STATE["connected"])
        self.closing = False
        self.reader = gevent.spawn(self._read)

    def _read(self) -> None:
        assert self.ws is not None
        while True:
            try:
                raw = self.ws.recv()
            except Exception as exc:  # noqa: BLE001
                if not self.closing:
                    STATE["dropped"] += 1
                    events.request.fire(
                        request_type="WS",
                        name="dropped",
                        response_time=0,
                        response_length=0,
                        exception=exc,
                    )
                return
            received = time.time()
            message = json.loads(raw)
            if message.get("type") != "event":
                continue
            sent = datetime.fromisoformat(message["event"]["occurred_at"]).timestamp()
            STATE["received"] += 1
            RECEIVED_BY_URL[self.url] = RECEIVED_BY_URL.get(self.url, 0) + 1
            events.request.fire(
                request_type="WS",
                name="fan-out",
                response_time=max(0.0, (received - sent) * 1000),
                response_length=len(raw),
                exception=None,
            )

    @task
    def listen(self) -> None:
        """Devices only listen; the reader greenlet does the work."""

    def on_stop(self) -> None:
        if getattr(self, "ws", None) is not None:
            self.closing = True
            STATE["connected"] -= 1
            self.ws.close()


class Writer(HttpUser):
    """Changes a random user's task; every change fans out to that user's devices."""

    fixed_count = 2
    wait_time = constant_throughput(5)

    @task
    def change(self) -> None:
        # Measure the steady state: writes start once every device is connected.
        if not ACCOUNTS or STATE["connected"] < USERS * DEVICES:
            return
        account = random.choice(ACCOUNTS)
        self.client.patch(
            f"/api/v1/tasks/{account['task']}",
            name="PATCH /tasks/{id}",
            json={"title": f"load {uuid.uuid4().hex[:8]}"},
            headers=account["headers"],
        )


@events.quitting.add_listener
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
        "peak connected": STATE["peak"],
        "failed connections": STATE["failed"],
        "dropped connections": STATE["dropped"],
        "fan-out messages": fan.num_requests,
        "realtime instances": len(WS_URLS),
        "messages per instance": list(RECEIVED_BY_URL.values()),
        "fan-out ms": {
            p: fan.get_response_time_percentile(q)
            for p, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
        },
        "writes": patch.num_requests,
        "write failures": patch.num_failures,
        "write ms": {
            p: patch.get_response_time_percentile(q)
            for p, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
        },
        "goals": {"fan-out p99 ms": 250, "failed or dropped": 0},
    }
    with open(RESULTS, "w") as out:
        json.dump(summary, out, indent=2)
        out.write("\n")
