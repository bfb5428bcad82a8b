"""realtime's cost per task-updates message with no client connected: the CPU seconds
realtime and its daprd spend per 1,000 messages, and how many deliveries (HTTP
requests from daprd) carried them. Starts a private stack, then publishes TaskUpdated
copies to task-updates through todo-api's sidecar as the outbox relay does (bulk
publishes of 5, keyed by 64 users) at --rate per second for --seconds, and waits until
realtime has handled them all. Before that, --idle seconds with nothing published show
what the sidecar costs while waiting (a bulk subscription's ticking). Not a test:
prints and saves loadtest/results/realtime.json.

  .venv/bin/python -m loadtest.bench_realtime [--rate 150] [--seconds 20]
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from loadtest.bench_events import _cpu, stack_pids
from loadtest.cli import bench_parser
from loadtest.stats import measured_on, save
from shared.dapr.sidecar import DaprSidecar
from shared.events import TaskSnapshot, TaskUpdated
from shared.topics import Topic
from stack.services import Stack, private_stack

RESULTS = Path(__file__).parent / "results" / "realtime.json"
USERS, PER_PUBLISH = 64, 5
NOW = datetime(2026, 5, 1, tzinfo=UTC)


def _counted(stack: Stack, metric: str) -> float:
    """realtime's `metric` on task-updates, summed over its labels."""
    total = 0.0
    for line in httpx.get(stack.config.metrics_url("realtime"), timeout=5).text.splitlines():
        if line.startswith(metric + "{") and 'topic="task-updates"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def _handled(stack: Stack) -> float:
    return _counted(stack, "taskwave_events_total")


def _deliveries(stack: Stack) -> float:
    # One observation per delivery: per event on a single subscription, per batch in bulk.
    return _counted(stack, "taskwave_event_handling_seconds_count")


def _update(user: str, n: int) -> tuple[TaskUpdated, str]:
    task = TaskSnapshot(
        id=str(uuid.uuid4()), list_id="l", title=f"title {n}", created_at=NOW, updated_at=NOW
    )
    event = TaskUpdated(user_id=user, list_id="l", task_id=task.id, task=task, changed=["title"])
    return event, user


async def run(stack: Stack, rate: float, seconds: float, idle: float) -> dict[str, Any]:
    pids = {name: pid for name, pid in stack_pids(stack).items() if name.startswith("realtime")}
    todo_api = DaprSidecar(
        http_port=stack.config.ports["todo-api.dapr-http"], pubsub="pubsub", secret_store="s"
    )
    await asyncio.sleep(5)  # past start-up
    before = _cpu(pids)
    await asyncio.sleep(idle)
    after = _cpu(pids)
    idle_cores = {name: round((after[name] - before[name]) / idle, 4) for name in pids}

    users = [str(uuid.uuid4()) for _ in range(USERS)]
    handled, deliveries = _handled(stack), _deliveries(stack)
    sent = 0
    start = time.monotonic()
    before = _cpu(pids)
    while time.monotonic() - start < seconds:
        batch = [_update(random.choice(users), sent + i) for i in range(PER_PUBLISH)]
        traces = [
            f"00-{random.getrandbits(128):032x}-{random.getrandbits(64):016x}-01" for _ in batch
        ]
        await todo_api.publisher.publish_many(Topic.TASK_UPDATES, batch, traceparents=traces)
        sent += len(batch)
        await asyncio.sleep(max(0.0, start + sent / rate - time.monotonic()))
    for _ in range(150):  # up to 30 s for realtime to catch up
        if _handled(stack) - handled >= sent:
            break
        await asyncio.sleep(0.2)
    after = _cpu(pids)
    got, requests = _handled(stack) - handled, _deliveries(stack) - deliveries
    await todo_api.aclose()
    return {
        **measured_on(),
        "rate": rate,
        "seconds": seconds,
        "published": sent,
        "handled": int(got),
        "events per delivery": round(got / requests, 2) if requests else None,
        "cpu s per 1000 messages": {
            name: round((after[name] - before[name]) / sent * 1000, 3) for name in pids
        },
        "idle cores": idle_cores,
    }


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--rate", type=float, default=150.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with private_stack() as stack:
        result = asyncio.run(run(stack, args.rate, args.seconds, args.idle))
    print(
        f"{result['published']} published at {args.rate:.0f}/s, {result['handled']} handled, "
        f"{result['events per delivery']} per delivery"
    )
    print("CPU seconds per 1,000 messages:", result["cpu s per 1000 messages"])
    print("idle, cores:", result["idle cores"])
    save(result, args.out)


if __name__ == "__main__":
    main()
