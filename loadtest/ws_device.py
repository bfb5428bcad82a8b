"""The Locust pieces both WebSocket suites use (locustfile_ws.py, locustfile_shared.py):
a device that holds one socket to realtime and hands every message to its subclass,
and the counters and percentiles they report. Abstract: Locust runs no user from here.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import gevent  # type: ignore[import-untyped]
import websocket
from locust import User, between, events, task
from locust.stats import StatsEntry


def fire(name: str, ms: float, length: int = 0, exception: BaseException | None = None) -> None:
    """Report one WS "request" (connect, dropped, fan-out) to Locust's statistics."""
    events.request.fire(  # type: ignore[no-untyped-call]
        request_type="WS", name=name, response_time=ms, response_length=length, exception=exception
    )


@dataclass
class Counts:
    connected: int = 0
    peak: int = 0
    failed: int = 0
    dropped: int = 0
    received: int = 0  # event messages


def percentiles_ms(entry: StatsEntry) -> dict[str, int]:
    """p50/p95/p99 of a Locust statistic (Locust rounds them: 2 significant digits)."""
    return {
        p: int(entry.get_response_time_percentile(q))
        for p, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
    }


class SocketDevice(User):
    """One phone or laptop: a socket that only listens. A subclass says where to connect
    (`target`) and what to do with each message (`on_message`); `counts` is per suite."""

    abstract = True
    # Many more devices than writers; between heartbeats a device only listens.
    weight = 1000
    wait_time = between(5, 10)
    counts = Counts()
    ws: websocket.WebSocket | None = None
    url = ""
    closing = False

    def target(self) -> tuple[str, str]:
        """(socket URL, token) for this device."""
        raise NotImplementedError

    def on_message(self, message: dict[str, Any], raw: str | bytes, received: float) -> None:
        """Called for every message after the hello; `received` is time.time()."""

    def on_start(self) -> None:
        self.url, token = self.target()
        started = time.perf_counter()
        try:
            self.ws = websocket.create_connection(self.url, timeout=30)
            self.ws.send(json.dumps({"type": "auth", "token": token}))  # never in the URL
            hello = json.loads(self.ws.recv())
            assert hello["type"] == "hello", hello
        except Exception as exc:  # every failure is reported, none raised
            self.counts.failed += 1
            fire("connect", 0, exception=exc)
            self.ws = None
            return
        fire("connect", (time.perf_counter() - started) * 1000)
        self.counts.connected += 1
        self.counts.peak = max(self.counts.peak, self.counts.connected)
        self.closing = False
        self.reader = gevent.spawn(self._read)

    def _read(self) -> None:
        assert self.ws is not None
        while True:
            try:
                raw = self.ws.recv()
                if not raw:  # the closing handshake, ours or the server's
                    raise ConnectionError("closed")
            except Exception as exc:
                if not self.closing:
                    self.counts.dropped += 1
                    self.on_dropped()
                    fire("dropped", 0, exception=exc)
                return
            received = time.time()
            message = json.loads(raw)
            if message.get("type") == "event":
                self.counts.received += 1
            self.on_message(message, raw, received)

    def on_dropped(self) -> None:
        """The server closed the socket, or it broke."""

    @task
    def listen(self) -> None:
        """Devices only listen; the reader greenlet does the work."""

    def on_stop(self) -> None:
        if self.ws is not None:
            self.closing = True
            self.counts.connected -= 1
            self.ws.close()
