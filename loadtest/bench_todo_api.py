"""todo-api benchmark: seed 10,000 tasks for one user and 1,000 for each of ten others
through the REST API, then time every search shape. Not a test: it prints p50/p95/p99
and saves them to loadtest/results/todo_api.json.

  .venv/bin/python -m loadtest.bench_todo_api            # starts a private stack
  .venv/bin/python -m loadtest.bench_todo_api --url http://127.0.0.1:8000   # a running one
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from loadtest.cli import bench_parser
from loadtest.stats import measured_on, save, summary_ms
from stack.services import private_stack

RESULTS = Path(__file__).parent / "results" / "todo_api.json"
WORDS = [
    "milk",
    "report",
    "call",
    "invoice",
    "garden",
    "dentist",
    "review",
    "deploy",
    "birthday",
    "taxes",
    "train",
    "groceries",
    "backup",
    "meeting",
    "laundry",
]
PRIORITIES = ["low", "medium", "high", "urgent"]
TAGS = ["work", "home", "errand", "family", "health", "money"]


async def user(client: httpx.AsyncClient) -> dict[str, str]:
    name = f"bench{uuid.uuid4().hex[:10]}"
    await client.post("/auth/register", json={"username": name, "password": "benchmark pass"})
    tok = (
        await client.post("/auth/token", json={"username": name, "password": "benchmark pass"})
    ).json()
    return {"authorization": f"Bearer {tok['access_token']}"}


def task_body(rng: random.Random, now: datetime) -> dict[str, Any]:
    words = rng.sample(WORDS, 3)
    body: dict[str, Any] = {
        "title": " ".join(words).capitalize(),
        "description": f"about {words[0]} and {rng.choice(WORDS)}",
        "priority": rng.choice(PRIORITIES),
        "tags": rng.sample(TAGS, rng.randint(0, 2)),
    }
    if rng.random() < 0.8:
        body["due_at"] = (now + timedelta(hours=rng.randint(-24 * 30, 24 * 90))).isoformat()
    return body


async def seed(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    count: int,
    concurrency: int,
    latencies: list[float],
    rng: random.Random,
) -> None:
    now = datetime.now(UTC)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for _ in range(count):
        queue.put_nowait(task_body(rng, now))

    async def worker() -> None:
        while not queue.empty():
            body = queue.get_nowait()
            start = time.perf_counter()
            resp = await client.post("/tasks", json=body, headers=headers)
            latencies.append(time.perf_counter() - start)
            resp.raise_for_status()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


SHAPES: dict[str, dict[str, Any]] = {
    "list first page": {},
    "text search q": {"q": "invoice"},
    "filter priority+tag": {"priority": "high,urgent", "tag": "work"},
    "filter open+overdue": {"status": "open", "overdue": "true"},
    "filter due range": {"due_after": "NOW-7", "due_before": "NOW+7"},
    "sort due_at": {"sort": "due_at"},
    "sort -priority,title": {"sort": "-priority,title"},
    "page 3 (cursor)": {"sort": "title", "_pages": 3},
}


def _params(shape: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC)
    out = {}
    for k, v in shape.items():
        if k.startswith("_"):
            continue
        if isinstance(v, str) and v.startswith("NOW"):
            v = (now + timedelta(days=int(v[3:]))).isoformat()
        out[k] = v
    return out


async def time_shapes(
    client: httpx.AsyncClient, headers: dict[str, str], repeat: int
) -> dict[str, dict[str, float]]:
    results = {}
    for name, shape in SHAPES.items():
        samples = []
        for _ in range(repeat):
            params = _params(shape) | {"limit": 50}
            start = time.perf_counter()
            resp = await client.get("/tasks", params=params, headers=headers)
            for _ in range(shape.get("_pages", 1) - 1):
                cursor = resp.json()["next_cursor"]
                resp = await client.get(
                    "/tasks", params=params | {"cursor": cursor}, headers=headers
                )
            samples.append(time.perf_counter() - start)
            resp.raise_for_status()
        results[name] = summary_ms(samples) | {"total": resp.json()["total"]}
    return results


async def run(
    url: str, big: int, small: int, others: int, repeat: int, concurrency: int
) -> dict[str, Any]:
    rng = random.Random(42)
    limits = httpx.Limits(max_connections=concurrency * 2)
    async with httpx.AsyncClient(base_url=url + "/api/v1", timeout=60, limits=limits) as client:
        heavy = await user(client)
        light = [await user(client) for _ in range(others)]
        creates: list[float] = []
        started = time.perf_counter()
        await seed(client, heavy, big, concurrency, creates, rng)
        for headers in light:
            await seed(client, headers, small, concurrency, creates, rng)
        seeded_s = time.perf_counter() - started
        print(f"seeded {len(creates)} tasks in {seeded_s:.0f} s")
        # Latency is measured one request at a time: seeding runs `concurrency`
        # writers on two cores, which measures queueing more than todo-api.
        single: list[float] = []
        await seed(client, light[-1], repeat * 3, 1, single, rng)
        heavy_shapes = await time_shapes(client, heavy, repeat)
        light_shapes = await time_shapes(client, light[0], repeat)
    return {
        **measured_on(),
        "seeded": {
            "tasks": len(creates),
            "seconds": round(seeded_s, 1),
            "concurrency": concurrency,
        },
        "create": summary_ms(single),
        "create while seeding": summary_ms(creates),
        f"search, user with {big} tasks": heavy_shapes,
        f"search, user with {small} tasks": light_shapes,
        "targets": {"search p95 ms": 250, "create p95 ms": 50},
    }


def report(result: dict[str, Any]) -> None:
    for name in ("create", "create while seeding"):
        c = result[name]
        target = "   (target p95 <= 50)" if name == "create" else ""
        print(
            f"\n{name:<21} n={c['n']:>6}  p50 {c['p50']:7.1f}  p95 {c['p95']:7.1f}  "
            f"p99 {c['p99']:7.1f} ms{target}"
        )
    for section in [k for k in result if k.startswith("search")]:
        print(f"\n{section}   (target p95 <= 250 ms)")
        for shape, s in result[section].items():
            print(
                f"  {shape:<22} total {s['total']:>6}  p50 {s['p50']:7.1f}  "
                f"p95 {s['p95']:7.1f}  p99 {s['p99']:7.1f} ms"
            )


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--url", help="todo-api base URL; default: start a private stack")
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--others", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with nullcontext(None) if args.url else private_stack() as stack:
        url = args.url or (stack.config.url("todo-api") if stack else "")
        result = asyncio.run(
            run(url, args.big, args.small, args.others, args.repeat, args.concurrency)
        )
    report(result)
    save(result, RESULTS)


if __name__ == "__main__":
    main()
