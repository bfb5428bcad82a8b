"""Event backbone benchmark (DESIGN §2): W concurrent writers do mixed creates, updates
and completions for a while across many users; then every event is followed to Kafka
(read raw from task-events) and into audit. Not a test: it prints and saves

  writes/s, write p50/p95/p99, commit -> task-events p50/p99 (key checked = user),
  commit -> audit p99, time from the last write until audit holds every event,
  missing, duplicates, per-task version-order violations, and the CPU seconds
  each process of the stack spent per 1,000 writes,

to loadtest/results/events.json. "Commit" is when the writer got its 2xx (the commit
is a moment before it); the Kafka side is the record's timestamp (same clock).

The writers keep a schedule that offers the bar's rate (150 writes/s) and count a
write's latency from when it was due, so latency is measured at that load rather
than at whatever rate saturation gives; `--rate 0` writes back to back instead and
measures the most the stack answers. Ten seconds of uncounted writes come first.

  .venv/bin/python -m loadtest.bench_events                 # starts a private stack
  .venv/bin/python -m loadtest.bench_events --writers 16 --seconds 60 --rate 150
  .venv/bin/python -m loadtest.bench_events --rate 0        # saturation
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import time
import urllib.request
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

from loadtest.stats import save, summary_ms
from stack.services import Stack, private_stack
from tests.integration.kafka import TopicReader

RESULTS = Path(__file__).parent / "results" / "events.json"
API = "/api/v1"
PASSWORD = "benchmark pass"
REMINDING, REPEATING = 0.2, 0.1  # shares of the creates with a reminder / a daily rule
BARS = {
    "writes/s >=": 150,
    "write p95 ms <=": 100,
    "commit -> task-events p99 ms <=": 100,
    "last write -> audit complete s <=": 2,
}


@dataclass
class Account:
    id: str
    headers: dict[str, str]
    tasks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Write:
    """One acknowledged write: the event it must produce is (task_id, version)."""

    user: str
    task_id: str
    version: int
    done_at: float  # wall clock, seconds
    latency_s: float


async def _call(
    client: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
) -> tuple[int, Any]:
    async with client.request(method, API + path, **kwargs) as resp:
        body = await resp.read()
        return resp.status, json.loads(body) if body else None


async def _patiently(client: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> Any:
    """Sign-up and sign-in hash passwords, a few at a time per replica: wait when told."""
    for _ in range(60):
        status, answer = await _call(client, "POST", path, json=body)
        if status != 429:
            assert status in (200, 201), answer
            return answer
        await asyncio.sleep(float(answer["error"]["details"].get("retry_after", 1)))
    raise RuntimeError(f"{path}: still throttled")


async def _account(client: aiohttp.ClientSession) -> Account:
    creds = {"username": f"ev{uuid.uuid4().hex[:12]}", "password": PASSWORD}
    made = await _patiently(client, "/auth/register", creds)
    token = await _patiently(client, "/auth/token", creds)
    return Account(made["id"], {"authorization": f"Bearer {token['access_token']}"})


async def _writer(
    client: aiohttp.ClientSession,
    mine: list[Account],
    until: float,
    rng: random.Random,
    writes: list[Write],
    errors: list[str],
    every: float = 0.0,
) -> None:
    """Writes to its own users only, one request at a time: versions are well defined.

    With `every` > 0 the writer keeps a schedule (one write per `every` seconds, from
    a random phase) and a write's latency counts from when it was due, not from when a
    late writer got round to it: a slow response then shows as the queueing it causes
    (no coordinated omission). With 0 it writes back to back (saturation)."""
    n = 0
    due_at = time.monotonic() + rng.random() * every
    while time.monotonic() < until:
        if every:
            await asyncio.sleep(max(0.0, due_at - time.monotonic()))
        who = rng.choice(mine)
        roll = rng.random()
        n += 1
        if not who.tasks or roll < 0.4:
            due = datetime.now(UTC) + timedelta(days=rng.randint(1, 30))
            method, path = "POST", "/tasks"
            new: dict[str, Any] = {"title": f"task {n}", "due_at": due.isoformat()}
            # A realistic mix: some tasks remind, some repeat (their completion makes the
            # next occurrence through recurring), so every consumer does real work.
            if rng.random() < REMINDING:
                new["reminders"] = [{"before": "PT15M"}]
            if rng.random() < REPEATING:
                new["recurrence"] = {"frequency": "daily"}
            body: dict[str, Any] | None = new
        else:
            task = rng.choice(who.tasks)
            if roll < 0.75:
                method, path = "PATCH", f"/tasks/{task['id']}"
                body = {"title": f"{task['title'].split(' ~')[0]} ~{n}"}
            else:
                done = task["status"] == "completed"
                method, path = "POST", f"/tasks/{task['id']}/{'reopen' if done else 'complete'}"
                body = None
        start = min(due_at, time.monotonic()) if every else time.monotonic()
        due_at += every
        try:
            status, task = await _call(client, method, path, json=body, headers=who.headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            errors.append(repr(exc))
            continue
        latency = time.monotonic() - start
        if status not in (200, 201):
            errors.append(f"{method} {path}: {status} {str(task)[:200]}")
            continue
        writes.append(Write(who.id, task["id"], task["version"], time.time(), latency))
        if method == "POST" and path == "/tasks":
            who.tasks.append(task)
        else:
            who.tasks = [task if t["id"] == task["id"] else t for t in who.tasks]


def _cpu_ticks(root: int) -> int:
    """utime + stime of a process and every descendant (PostgreSQL's backends)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        ticks[int(entry)] = int(fields[11]) + int(fields[12])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += ticks.get(pid, 0)
        todo.extend(p for p, parent in parents.items() if parent == pid)
    return total


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    hz = os.sysconf("SC_CLK_TCK")
    return {name: _cpu_ticks(pid) / hz for name, pid in pids.items()}


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def stack_pids(stack: Stack) -> dict[str, int]:
    return {p.name: p.popen.pid for p in stack.sup.procs if p.alive}


async def _audited(
    client: aiohttp.ClientSession, accounts: list[Account]
) -> dict[str, dict[str, Any]]:
    """Every audit entry of the accounts, by event id (duplicates counted separately)."""
    found: dict[str, dict[str, Any]] = {}
    for who in accounts:
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 500} | ({"cursor": cursor} if cursor else {})
            status, page = await _call(client, "GET", "/audit", params=params, headers=who.headers)
            if status != 200:
                break
            for item in page["items"]:
                found.setdefault(item["event_id"], item)
            cursor = page.get("next_cursor")
            if not cursor:
                break
    return found


async def run(
    url: str,
    bootstrap: str,
    pids: dict[str, int],
    writers: int,
    users: int,
    seconds: float,
    rate: float = 0.0,
    warmup: float = 0.0,
) -> dict[str, Any]:
    rng = random.Random(7)
    async with aiohttp.ClientSession(
        base_url=url, timeout=aiohttp.ClientTimeout(total=60)
    ) as client:
        accounts = [await _account(client) for _ in range(users)]
        reader = TopicReader(bootstrap, "task-events")
        every = writers / rate if rate else 0.0

        async def phase(length: float, writes: list[Write], errors: list[str]) -> float:
            started = time.monotonic()
            await asyncio.gather(
                *(
                    _writer(
                        client,
                        accounts[i::writers],
                        started + length,
                        random.Random(rng.random()),
                        writes,
                        errors,
                        every,
                    )
                    for i in range(writers)
                )
            )
            return time.monotonic() - started

        if warmup:
            # JIT compilers, pools and caches warm up on writes that are not counted
            # (their events are still followed into audit below).
            print(f"warming up for {warmup:.0f} s", flush=True)
            await phase(warmup, [], [])
        await asyncio.sleep(2)  # registration's own events settle before measuring CPU
        writes: list[Write] = []
        errors: list[str] = []
        cpu_before = _cpu(pids)
        own_before = _own_cpu()
        pace = f"{rate:.0f} writes/s offered" if rate else "back to back"
        print(f"writing for {seconds:.0f} s, {pace}", flush=True)
        elapsed = await phase(seconds, writes, errors)
        last_write = time.time()

        expected = {(w.task_id, w.version): w for w in writes}
        deadline = time.monotonic() + 120
        seen: dict[tuple[str, int], list[Any]] = defaultdict(list)
        while time.monotonic() < deadline:
            reader.poll(0.5)
            seen.clear()
            for r in reader.records:
                data = r.value.get("data", {})
                if data.get("task_id") and "task" in data:
                    seen[(data["task_id"], data["task"]["version"])].append(r)
            if all(k in seen for k in expected):
                break
        cpu_after = _cpu(pids)  # relay and consumers have caught up with Kafka by now
        # The bench itself (its writers; it reads task-events only afterwards) shares
        # the cores.
        cpu_before["bench (client)"], cpu_after["bench (client)"] = own_before, _own_cpu()

        to_kafka, wrong_key, order_violations = [], 0, 0
        for key, write in expected.items():
            for record in seen.get(key, [])[:1]:
                to_kafka.append(record.timestamp / 1000 - write.done_at)
                wrong_key += record.key != write.user.encode()
        per_task: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        for (task_id, version), records in seen.items():
            for r in records:
                per_task[task_id].append((r.partition, r.offset, version))
        for rows in per_task.values():
            versions = [v for _, _, v in sorted(rows)]
            order_violations += any(b < a for a, b in zip(versions, versions[1:], strict=False))
        kafka_missing = [k for k in expected if k not in seen]
        kafka_dupes = sum(len(v) - 1 for k, v in seen.items() if k in expected)

        # Audit: every event of these users (the writes' and registration's).
        wanted = {r.value["data"]["event_id"]: r for rs in seen.values() for r in rs[:1]}
        audit_deadline = time.monotonic() + 120
        complete_after: float | None = None
        audited: dict[str, dict[str, Any]] = {}
        while time.monotonic() < audit_deadline:
            audited = await _audited(client, accounts)
            if all(e in audited for e in wanted):
                complete_after = time.time() - last_write
                break
            await asyncio.sleep(0.25)
        reader.close()
        # When audit recorded each of them, by its own clock (this machine's), as the
        # audit API lists it (`recorded_at`): the polling above reads every entry of
        # every user per pass, which takes seconds.
        recorded_at = {
            e: datetime.fromisoformat(item["recorded_at"]).timestamp()
            for e, item in audited.items()
            if e in wanted and item.get("recorded_at")
        }
        to_audit = [
            recorded_at[e] - own.done_at
            for e, r in wanted.items()
            if e in recorded_at
            # the writes' own events (not the occurrences recurring made)
            and (
                own := expected.get(
                    (r.value["data"]["task_id"], r.value["data"]["task"]["version"])
                )
            )
        ]
        audit_done = (
            max(recorded_at.values()) - last_write
            if complete_after is not None and recorded_at
            else None
        )

    n = len(writes)
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.system()}, {os.cpu_count()} cores (shared)",
        "writers": writers,
        "users": users,
        "offered writes/s": rate or "as fast as answered",
        "warm-up s": warmup,
        "seconds": round(elapsed, 1),
        "writes": n,
        "errors": len(errors),
        "first errors": errors[:5],
        "writes/s": round(n / elapsed, 1),
        "write latency": summary_ms([w.latency_s for w in writes]),
        "commit -> task-events": summary_ms(to_kafka) if to_kafka else {},
        "task-events key != user": wrong_key,
        "missing on task-events": len(kafka_missing),
        "duplicates on task-events": kafka_dupes,
        "version-order violations": order_violations,
        "commit -> audit": summary_ms(to_audit) if to_audit else {},
        "last write -> audit complete s": (
            round(audit_done, 2) if audit_done is not None else None
        ),
        "audit seen complete by polling after s": (
            round(complete_after, 2) if complete_after is not None else None
        ),
        "missing in audit": sum(e not in audited for e in wanted),
        "cpu s per 1000 writes": {
            name: round((cpu_after[name] - cpu_before.get(name, 0.0)) * 1000 / max(n, 1), 2)
            for name in cpu_after
        },
        "bars": BARS,
    }
    return result


def relay_figures(metrics_url: str) -> dict[str, float]:
    """What todo-api's outbox metrics say about its relay over the run."""
    values: dict[str, float] = defaultdict(float)
    with urllib.request.urlopen(metrics_url, timeout=10) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith("taskwave_outbox_") and " " in line:
                name, value = line.rsplit(" ", 1)
                values[name.split("{")[0]] += float(value)
    batches = values["taskwave_outbox_batch_seconds_count"] or 1.0
    return {
        "batches": values["taskwave_outbox_batch_seconds_count"],
        "events per batch": round(values["taskwave_outbox_published_total"] / batches, 1),
        "mean batch publish ms": round(
            values["taskwave_outbox_batch_seconds_sum"] * 1000 / batches, 1
        ),
        "failed rounds": values["taskwave_outbox_failures_total"],
    }


def report(r: dict[str, Any]) -> None:
    lat, kafka, audit = r["write latency"], r["commit -> task-events"], r["commit -> audit"]
    print(
        f"\n{r['writers']} writers, {r['users']} users, {r['seconds']} s "
        f"({r['offered writes/s']} offered): {r['writes']} writes"
    )
    print(f"writes/s {r['writes/s']}  (bar >= {BARS['writes/s >=']}), errors {r['errors']}")
    print(f"traces kept: {float(r.get('trace sampling', 1)):.0%}")
    print(f"write       p50 {lat['p50']} p95 {lat['p95']} p99 {lat['p99']} ms (p95 bar <= 100)")
    if kafka:
        print(f"commit -> task-events p50 {kafka['p50']} p99 {kafka['p99']} ms (p99 bar <= 100)")
    if audit:
        print(f"commit -> audit       p50 {audit['p50']} p99 {audit['p99']} ms")
    print(
        f"last write -> audit complete {r['last write -> audit complete s']} s (bar <= 2; "
        f"by audit's recorded_at; the bench's polling saw it after "
        f"{r['audit seen complete by polling after s']} s)"
    )
    print(
        f"missing: task-events {r['missing on task-events']}, audit {r['missing in audit']}; "
        f"duplicates {r['duplicates on task-events']}; wrong key {r['task-events key != user']}; "
        f"version-order violations {r['version-order violations']}"
    )
    if relay := r.get("outbox relay"):
        print(
            f"outbox relay: {relay['batches']:.0f} batches, {relay['events per batch']} events "
            f"each, {relay['mean batch publish ms']} ms per bulk publish"
        )
    print("CPU seconds per 1,000 writes:")
    for name, cpu in sorted(r["cpu s per 1000 writes"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:<16} {cpu:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--rate",
        type=float,
        default=BARS["writes/s >="],
        help="writes/s offered on a schedule (default: the bar); 0 = back to back",
    )
    parser.add_argument("--warmup", type=float, default=10, help="uncounted seconds first")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with private_stack() as stack:
        # uvloop, as the functions run: the load generator shares the two cores with
        # what it measures, so it should cost as little as they do per request.
        result = uvloop.run(
            run(
                stack.config.url("todo-api"),
                stack.config.kafka_bootstrap,
                stack_pids(stack),
                args.writers,
                args.users,
                args.seconds,
                args.rate,
                args.warmup,
            )
        )
        result["outbox relay"] = relay_figures(stack.config.metrics_url("todo-api"))
        result["trace sampling"] = stack.config.trace_sampling  # TASKWAVE_TRACE_SAMPLING
    report(result)
    save(result, args.out)


if __name__ == "__main__":
    main()
