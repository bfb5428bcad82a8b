"""recurring benchmark: complete 200 repeating tasks, time until each next occurrence can
be read through GET, then redeliver every completion event and count duplicates.
Not a test: prints p50/p95/p99 and saves loadtest/results/recurring.json.

  .venv/bin/python -m loadtest.bench_recurring          # starts a private stack
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from loadtest.cli import bench_parser
from loadtest.stats import save, summary_ms
from shared.internal_api import occurrence_id
from stack.services import Stack, private_stack

RESULTS = Path(__file__).parent / "results" / "recurring.json"


async def _user(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    creds = {"username": name, "password": "benchmark pass"}
    await client.post("/auth/register", json=creds)
    token = (await client.post("/auth/token", json=creds)).json()["access_token"]
    return {"authorization": f"Bearer {token}"}


async def run(stack: Stack, count: int, users: int, rate: float) -> dict[str, Any]:
    base = stack.config.url("todo-api") + "/api/v1"
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        auths = [await _user(client, f"rec{i}-{time.time_ns()}") for i in range(users)]
        due = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0).isoformat()
        tasks: list[tuple[dict[str, str], dict[str, Any]]] = []
        for i in range(count):
            auth = auths[i % users]
            made = await client.post(
                "/tasks",
                headers=auth,
                json={"title": f"repeat {i}", "due_at": due, "recurrence": {"frequency": "daily"}},
            )
            made.raise_for_status()
            tasks.append((auth, made.json()))

        latencies: list[float] = []
        missing: list[str] = []

        async def one(auth: dict[str, str], task: dict[str, Any]) -> None:
            done = await client.post(f"/tasks/{task['id']}/complete", headers=auth)
            done.raise_for_status()
            started = time.perf_counter()
            next_id = occurrence_id(task["series_id"], task["occurrence"] + 1)
            while time.perf_counter() - started < 60:
                if (await client.get(f"/tasks/{next_id}", headers=auth)).status_code == 200:
                    latencies.append(time.perf_counter() - started)
                    return
                await asyncio.sleep(0.02)
            missing.append(next_id)

        running = []
        for auth, task in tasks:
            running.append(asyncio.create_task(one(auth, task)))
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*running)

        # Redeliver every completion (as Kafka may) and count each user's tasks.
        redelivered = await _redeliver(stack, [t for _, t in tasks])
        await asyncio.sleep(10)
        reader_totals = []
        for auth in auths:
            page = (
                await client.get("/tasks", headers=auth, params={"status": "all", "limit": 500})
            ).json()
            reader_totals.append(page["total"])
    expected = count * 2
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "completions": count,
        "next occurrence visible via GET": summary_ms(latencies),
        "never appeared": len(missing),
        "redelivered completions": redelivered,
        "tasks after redelivery": sum(reader_totals),
        "expected tasks": expected,
        "duplicates": sum(reader_totals) - expected,
        "target": "p99 < 300 ms",
    }


async def _redeliver(stack: Stack, tasks: list[dict[str, Any]]) -> int:
    """Publish each task's task.completed again, as a broker redelivery would."""
    from shared.dapr.sidecar import DaprSidecar
    from shared.events import TaskCompleted, TaskSnapshot
    from shared.topics import Topic

    sidecar = DaprSidecar(
        http_port=stack.config.ports["todo-api.dapr-http"], pubsub="pubsub", secret_store="secrets"
    )
    tasks_store = sidecar.state("tasks")
    sent = 0
    for task in tasks:
        item = await tasks_store.get(f"task|{task['id']}")
        if item is None:
            continue
        snap = TaskSnapshot.model_validate(item.value)
        event = TaskCompleted(
            user_id=snap.created_by or "",
            list_id=snap.list_id,
            task_id=snap.id,
            task=snap,
            occurred_at=snap.completed_at or datetime.now(UTC),
        )
        await sidecar.publisher.publish(Topic.TASK_EVENTS, event, partition_key=event.user_id)
        sent += 1
    await sidecar.aclose()
    return sent


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--rate", type=float, default=10.0, help="completions per second")
    args = parser.parse_args()
    with private_stack() as stack:
        result = asyncio.run(run(stack, args.count, args.users, args.rate))
    s = result["next occurrence visible via GET"]
    print(
        f"\n{result['completions']} completions -> next occurrence readable: "
        f"p50 {s['p50']:.0f} ms, p95 {s['p95']:.0f} ms, p99 {s['p99']:.0f} ms "
        f"(target p99 < 300 ms); never appeared: {result['never appeared']}"
    )
    print(
        f"redelivered {result['redelivered completions']} completions: "
        f"{result['tasks after redelivery']} tasks, expected {result['expected tasks']}, "
        f"duplicates {result['duplicates']}"
    )
    save(result, RESULTS)


if __name__ == "__main__":
    main()
