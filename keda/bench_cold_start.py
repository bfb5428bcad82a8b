"""Cold start of the functions KEDA scales from zero (recurring and audit), measured on
the local stack: how long a function plus its daprd take from being started to the
first event handled, and from the first consumer lag to the lag drained.

Each cycle: stop recurring and audit (app and sidecar, as a scale to zero does);
create tasks and complete a repeating one, so Kafka holds events for both; as soon as
their consumer groups show lag, start all four processes at once (what KEDA does after
it sees the lag, minus its polling interval and the pod scheduling); then time, per
function: ready (sidecar and app answer), first event handled, lag drained, and for
recurring the completed task's next occurrence readable through the API (SC-002).
A warm baseline (everything running) completes repeating tasks the same way.

  .venv/bin/python -m keda.bench_cold_start [--cycles 5]   # starts a private stack

Results: keda/results/cold_start.json. Not a test: a loop bounded to one minute.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from loadtest.stats import save
from shared.internal_api import occurrence_id
from shared.topics import Topic
from stack.services import Stack, private_stack

RESULTS = Path(__file__).parent / "results" / "cold_start.json"
SCALED = ("recurring", "audit")  # the functions the chart scales from zero
LOOP_BUDGET_S = 60.0  # the whole measuring loop, all cycles together
CYCLE_TIMEOUT_S = 30.0
POLL_S = 0.02


class Lag:
    """A consumer group's lag on task-events, read from Kafka without joining the group."""

    def __init__(self, bootstrap: str, group: str, topic: str = Topic.TASK_EVENTS.value) -> None:
        self._consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
        )
        meta = self._consumer.list_topics(topic, timeout=10)
        self._partitions = [TopicPartition(topic, p) for p in meta.topics[topic].partitions]

    def __call__(self) -> int:
        committed = self._consumer.committed(self._partitions, timeout=5)
        return sum(
            lag_of(self._consumer.get_watermark_offsets(tp, timeout=5), tp.offset)
            for tp in committed
        )

    def close(self) -> None:
        self._consumer.close()


def lag_of(watermarks: tuple[int, int], committed: int) -> int:
    """Messages not yet consumed on one partition; no committed offset (negative) means
    the group starts from the oldest message."""
    low, high = watermarks
    return high - (committed if committed >= 0 else low)


def handled(metrics_url: str) -> int:
    """Events the function answered SUCCESS since it started (0 while it is not up)."""
    try:
        page = httpx.get(metrics_url, timeout=1).text
    except httpx.HTTPError:
        return 0
    return int(
        sum(
            s.value
            for f in text_string_to_metric_families(page)
            if f.name == "taskwave_events"
            for s in f.samples
            if s.name == "taskwave_events_total" and s.labels.get("outcome") == "success"
        )
    )


@dataclass
class Cycle:
    """Seconds from the start of the processes (t=0), per function."""

    lag_seen_before_start: float = 0.0  # first lag -> start: our reaction, not the cold start
    ready: dict[str, float] = field(default_factory=dict)
    first_handled: dict[str, float] = field(default_factory=dict)
    all_handled: dict[str, float] = field(default_factory=dict)  # every event answered
    drained: dict[str, float] = field(default_factory=dict)  # committed: what KEDA sees
    next_occurrence: float | None = None
    completion_to_next_occurrence: float | None = None


class Api:
    def __init__(self, stack: Stack) -> None:
        self.http = httpx.Client(base_url=stack.config.url("todo-api") + "/api/v1", timeout=30)
        creds = {"username": f"cold{time.time_ns()}", "password": "benchmark pass"}
        self.http.post("/auth/register", json=creds).raise_for_status()
        token = self.http.post("/auth/token", json=creds).json()["access_token"]
        self.http.headers["authorization"] = f"Bearer {token}"
        self.due = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0).isoformat()

    def repeating(self) -> dict[str, Any]:
        made = self.http.post(
            "/tasks",
            json={"title": "repeat", "due_at": self.due, "recurrence": {"frequency": "daily"}},
        )
        made.raise_for_status()
        task: dict[str, Any] = made.json()
        return task

    def complete(self, task: dict[str, Any]) -> str:
        """Completes the task; returns the id of the occurrence recurring must create."""
        self.http.post(f"/tasks/{task['id']}/complete").raise_for_status()
        return occurrence_id(task["series_id"], task["occurrence"] + 1)

    def exists(self, task_id: str) -> bool:
        return self.http.get(f"/tasks/{task_id}").status_code == 200


def _wait(probe: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(POLL_S)
    return False


def warm(api: Api, samples: int) -> list[float]:
    """Completion -> next occurrence readable, with recurring running."""
    took = []
    for _ in range(samples):
        task = api.repeating()
        started = time.perf_counter()
        next_id = api.complete(task)
        if _wait(lambda next_id=next_id: api.exists(next_id), 30):
            took.append(time.perf_counter() - started)
    return took


def cycle(stack: Stack, api: Api, lags: dict[str, Lag], creates: int) -> Cycle:
    names = [n for fn in SCALED for n in (fn, f"{fn}-dapr")]
    for fn in SCALED:  # start from a drained state
        if not _wait(lambda fn=fn: lags[fn]() == 0, CYCLE_TIMEOUT_S):
            raise RuntimeError(f"{fn} did not drain before the cycle")
    repeating = api.repeating()
    if not _wait(lambda: all(lags[fn]() == 0 for fn in SCALED), CYCLE_TIMEOUT_S):
        raise RuntimeError("the repeating task's event was not consumed")
    for name in names:  # scale to zero
        stack.stop_process(name)
    completed_at = time.perf_counter()
    next_id = api.complete(repeating)
    for i in range(creates):
        api.http.post("/tasks", json={"title": f"cold {i}"}).raise_for_status()
    first_lag = time.perf_counter()
    if not _wait(lambda: any(lags[fn]() > 0 for fn in SCALED), CYCLE_TIMEOUT_S):
        raise RuntimeError("no lag appeared")
    t0 = time.perf_counter()
    result = Cycle(lag_seen_before_start=t0 - first_lag)

    def start(name: str) -> tuple[str, float]:
        stack.start_process(name, timeout=CYCLE_TIMEOUT_S)
        return name, time.perf_counter() - t0

    with ThreadPoolExecutor(len(names)) as pool:  # app and sidecar start together
        starting = [pool.submit(start, name) for name in names]
        deadline = t0 + CYCLE_TIMEOUT_S
        while time.perf_counter() < deadline:
            now = time.perf_counter() - t0
            for fn in SCALED:
                count = handled(stack.config.metrics_url(fn)) if fn not in result.all_handled else 0
                if fn not in result.first_handled and count > 0:
                    result.first_handled[fn] = now
                # The creates, the completion and the occurrence recurring makes.
                if fn not in result.all_handled and count >= creates + 2:
                    result.all_handled[fn] = now
                if fn in result.first_handled and fn not in result.drained and lags[fn]() == 0:
                    result.drained[fn] = time.perf_counter() - t0
            if result.next_occurrence is None and api.exists(next_id):
                result.next_occurrence = time.perf_counter() - t0
                result.completion_to_next_occurrence = time.perf_counter() - completed_at
            if len(result.drained) == len(SCALED) and result.next_occurrence is not None:
                break
            time.sleep(POLL_S)
        for done in starting:
            name, took = done.result()
            if not name.endswith("-dapr"):
                result.ready[name] = max(result.ready.get(name, 0.0), took)
            else:
                fn = name.removesuffix("-dapr")
                result.ready[fn] = max(result.ready.get(fn, 0.0), took)
    return result


def _stats(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return {"n": len(values), "p50_ms": round(median * 1000), "max_ms": round(max(values) * 1000)}


def summarise(cycles: list[Cycle], warm_s: list[float]) -> dict[str, Any]:
    per_fn: dict[str, Any] = {}
    for fn in SCALED:
        per_fn[fn] = {
            "start -> sidecar and app ready": _stats(
                [c.ready[fn] for c in cycles if fn in c.ready]
            ),
            "start -> first event handled": _stats(
                [c.first_handled[fn] for c in cycles if fn in c.first_handled]
            ),
            "start -> every event handled": _stats(
                [c.all_handled[fn] for c in cycles if fn in c.all_handled]
            ),
            "start -> lag drained": _stats([c.drained[fn] for c in cycles if fn in c.drained]),
            "first lag -> lag drained": _stats(
                [c.drained[fn] + c.lag_seen_before_start for c in cycles if fn in c.drained]
            ),
        }
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cycles": len(cycles),
        "functions": per_fn,
        "recurring: start -> next occurrence readable": _stats(
            [c.next_occurrence for c in cycles if c.next_occurrence is not None]
        ),
        "recurring cold: completion -> next occurrence readable": _stats(
            [c.completion_to_next_occurrence for c in cycles if c.completion_to_next_occurrence]
        ),
        "recurring warm: completion -> next occurrence readable": _stats(warm_s),
        "SC-002": "next occurrence within 1 s of the completion",
        "not included": "KEDA's polling interval, pod scheduling and image pull in a cluster",
        "lag drained": "committed offsets (what KEDA reads); Dapr commits about once a second",
    }


def run(stack: Stack, cycles: int, creates: int) -> dict[str, Any]:
    api = Api(stack)
    lags = {fn: Lag(stack.config.kafka_bootstrap, fn) for fn in SCALED}
    try:
        warm_s = warm(api, 5)
        done: list[Cycle] = []
        began = time.monotonic()
        for _ in range(cycles):
            if time.monotonic() - began > LOOP_BUDGET_S:
                break
            done.append(cycle(stack, api, lags, creates))
            last = done[-1]
            print(
                f"cycle {len(done)}: ready {last.ready}, first handled {last.first_handled}, "
                f"drained {last.drained}, next occurrence {last.next_occurrence}",
                flush=True,
            )
    finally:
        for lag in lags.values():
            lag.close()
    return summarise(done, warm_s)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--creates", type=int, default=10, help="tasks created per cycle")
    args = parser.parse_args()
    with private_stack() as stack:
        result = run(stack, args.cycles, args.creates)
    for fn, figures in result["functions"].items():
        for what, s in figures.items():
            print(
                f"{fn:<10} {what:<32} p50 {s.get('p50_ms')} ms  "
                f"max {s.get('max_ms')} ms (n={s['n']})"
            )
    for key in (
        "recurring: start -> next occurrence readable",
        "recurring cold: completion -> next occurrence readable",
        "recurring warm: completion -> next occurrence readable",
    ):
        s = result[key]
        print(f"{key}: p50 {s.get('p50_ms')} ms, max {s.get('max_ms')} ms (n={s['n']})")
    save(result, RESULTS)


if __name__ == "__main__":
    main()
