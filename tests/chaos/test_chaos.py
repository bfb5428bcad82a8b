"""Issue 19's chaos suite on the real stack: one fault per case while writes flow, then
every event must be in audit exactly once, every next occurrence must exist once, no
task may be half-written, and each user's realtime socket must have seen every change
in order (it reconnects and resumes as a browser does).

Each case: three fresh users, one socket each, a writer at ~6 calls/s (creates,
renames, searches, a daily repeating task created and completed), 2 s of writes, the
fault, 2 s more once healed, then the checks. It prints one line (restart time,
events lost, duplicates, catch-up time = last write -> everything consistent) and
tests/chaos/conftest.py saves the lines to loadtest/results/chaos.json.

The broker cases reuse the event-backbone helpers (tests/integration/faults.py);
tests/integration/test_event_backbone.py checks per-user offset order on Kafka itself.

    .venv/bin/python -m pytest -q tests/chaos -o addopts="-raP"     # ~7 min
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from functions.reminders.jobs import fired_key, job_name
from shared.dapr.sidecar import DaprSidecar
from shared.topics import Topic
from stack.services import Stack
from tests.integration.api import sidecar_state
from tests.integration.faults import (
    Writer,
    api_client,
    frozen,
    is_envelope,
    next_occurrences,
    open_sockets,
    register,
    settle,
)
from tests.integration.kafka import TopicReader

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

APPS = ("todo-api", "recurring", "reminders", "audit", "realtime")
SETTLE_TIMEOUT_S = 120.0  # a killed consumer's partitions wait out its Kafka session
RATE = 6.0  # calls/s across the users


@dataclass
class Outcome:
    restart_s: float  # fault began -> the process is running and ready again
    note: str = ""


Fault = Callable[[], Awaitable[Outcome]]


async def _readyz(url: str) -> int:
    try:
        async with httpx.AsyncClient(timeout=2) as c:
            return (await c.get(f"{url}/readyz")).status_code
    except httpx.HTTPError:
        return 0


async def _kill(stack: Stack, name: str) -> Outcome:
    began = time.monotonic()
    pid = await asyncio.to_thread(stack.kill, name)
    await asyncio.to_thread(stack.wait_restarted, name, pid, 120)
    return Outcome(time.monotonic() - began)


async def _kill_sidecar(stack: Stack, fn: str) -> Outcome:
    """SIGKILL of `fn`'s daprd: its app stays up, answers /readyz 503 while the sidecar
    is away and 200 once it is back, without being restarted itself."""
    app_pid = stack.process(fn).pid
    url = stack.config.url(fn)
    began = time.monotonic()
    pid = await asyncio.to_thread(stack.kill, f"{fn}-dapr")
    seen: Counter[int] = Counter()
    recovered: float | None = None
    deadline = began + 120
    while time.monotonic() < deadline:
        status = await _readyz(url)
        seen[status] += 1
        if status == 200 and stack.process(f"{fn}-dapr").pid != pid:
            recovered = time.monotonic()
            break
        await asyncio.sleep(0.1)
    await asyncio.to_thread(stack.wait_restarted, f"{fn}-dapr", pid, 60)
    assert recovered is not None, f"{fn} /readyz never 200 again ({dict(seen)})"
    assert seen[503] > 0, f"{fn} never said not ready while its sidecar was away: {dict(seen)}"
    assert stack.process(fn).pid == app_pid, f"{fn} itself was restarted"
    return Outcome(recovered - began, f"/readyz {dict(seen)}")


async def _run_case(
    stack: Stack,
    results: dict[str, dict[str, Any]],
    case: str,
    fault: Fault,
    *,
    refusals: frozenset[int] = frozenset(),
) -> None:
    """Writes flow, `fault()` runs, writes flow on; then every check. `refusals` are the
    statuses a write may get during this fault (none at all unless given); a socket
    receiving an older version of a task after a newer one fails the case."""
    async with api_client(stack) as client:
        accounts = [await register(client, "cx") for _ in range(3)]
        sockets = await open_sockets(stack, client, accounts)
        writer = Writer(client, accounts, RATE)
        writer.start()
        try:
            await asyncio.sleep(2)
            outcome = await fault()
            healed = time.time()
            await asyncio.sleep(2)
        finally:
            await writer.stop()
        last_write = time.monotonic()
        verdict = await settle(
            client,
            accounts,
            writer.acks,
            timeout=SETTLE_TIMEOUT_S,
            occurrences=next_occurrences(writer),
            sockets=sockets,
        )
        caught_up = time.monotonic() - last_write if verdict.ok else None
        for s in sockets:
            await s.close()
    statuses = Counter(f.status for f in writer.failures)
    lat = writer.latencies()
    line = (
        f"{case:<24} restart {outcome.restart_s:5.1f} s  lost {len(verdict.lost)}  "
        f"duplicates {len(verdict.duplicates)}  catch-up "
        + (f"{caught_up:5.1f} s" if caught_up is not None else "  n/a")
        + f"  ({len(writer.acks)} writes, write p99 {lat.get('p99')} ms, refused "
        f"{dict(statuses) or 0}, reconnects {sum(s.reconnects for s in sockets)}, "
        f"resyncs {sum(s.resyncs for s in sockets)}, stale {len(verdict.socket_stale)}"
        f"{', ' + outcome.note if outcome.note else ''})"
    )
    print(f"\n{line}")
    results[case] = {
        "restart_s": round(outcome.restart_s, 2),
        "lost": len(verdict.lost),
        "duplicates": len(verdict.duplicates),
        "catch_up_s": round(caught_up, 2) if caught_up is not None else None,
        "writes": len(writer.acks),
        "refused": dict(statuses),
        "write_latency_ms": lat,
        "occurrences": len(next_occurrences(writer)),
        "socket_reconnects": sum(s.reconnects for s in sockets),
        "socket_resyncs": sum(s.resyncs for s in sockets),
        "socket_stale": len(verdict.socket_stale),
        "note": outcome.note,
        "line": line,
    }
    assert verdict.ok, verdict
    assert set(statuses) <= refusals, writer.failures[:5]
    for f in writer.failures:
        if f.status:
            assert is_envelope(f.body), f
    assert len(writer.acks) >= 10, "too few writes to mean anything"
    assert any(a.sent_at >= healed for a in writer.acks), "no write succeeded after the fault"
    assert not verdict.socket_stale, f"older versions after newer ones: {verdict.socket_stale}"


# -- each function app, each sidecar ------------------------------------------------------


@pytest.mark.parametrize("fn", APPS)
async def test_sigkill_of_an_app(stack: Stack, chaos_results: dict[str, Any], fn: str) -> None:
    # Only todo-api's own death refuses writes (no answer while it restarts); every
    # other app is away without the writer noticing.
    refusals = frozenset({0, 503}) if fn == "todo-api" else frozenset()
    await _run_case(stack, chaos_results, f"kill {fn}", lambda: _kill(stack, fn), refusals=refusals)


@pytest.mark.parametrize("fn", APPS)
async def test_sigkill_of_a_sidecar(stack: Stack, chaos_results: dict[str, Any], fn: str) -> None:
    refusals = frozenset({503}) if fn == "todo-api" else frozenset()
    await _run_case(
        stack, chaos_results, f"kill {fn}-dapr", lambda: _kill_sidecar(stack, fn), refusals=refusals
    )


# -- PostgreSQL, Kafka ----------------------------------------------------------------------


async def test_postgres_stopped_for_10_s(stack: Stack, chaos_results: dict[str, Any]) -> None:
    async def outage() -> Outcome:
        began = time.monotonic()
        await asyncio.to_thread(stack.stop_process, "postgres")
        await asyncio.sleep(10)
        await asyncio.to_thread(stack.start_process, "postgres")
        return Outcome(time.monotonic() - began, "stopped 10 s")

    # 503 with the error envelope while it is away (checked by _run_case), nothing else.
    await _run_case(
        stack, chaos_results, "postgres stopped 10 s", outage, refusals=frozenset({503})
    )


async def test_kafka_frozen(stack: Stack, chaos_results: dict[str, Any]) -> None:
    async def outage() -> Outcome:
        began = time.monotonic()
        with frozen(stack, "kafka"):
            await asyncio.sleep(15)
        return Outcome(time.monotonic() - began, "SIGSTOP 15 s")

    await _run_case(stack, chaos_results, "kafka frozen 15 s", outage)


async def test_kafka_killed(stack: Stack, chaos_results: dict[str, Any]) -> None:
    await _run_case(stack, chaos_results, "kill kafka", lambda: _kill(stack, "kafka"))


# -- the Dapr scheduler -------------------------------------------------------------------


async def test_scheduler_stopped_while_reminders_fall_due(
    stack: Stack,
    chaos_results: dict[str, Any],
    sidecars: dict[str, DaprSidecar],
    topic_reader: Any,
) -> None:
    """20 reminders fall due while the scheduler is stopped for 30 s: each fires once
    after it is back, late by at most the outage and a few seconds."""
    outage_s = 30.0
    reader: TopicReader = topic_reader(Topic.REMINDERS.value)
    jobs = sidecars["reminders"].jobs
    names: list[str] = []
    times: list[datetime] = []
    stopped_at: list[datetime] = []

    async def outage() -> Outcome:
        async with api_client(stack) as client:
            who = await register(client, "rm")
            start = datetime.now(UTC)
            for i in range(20):
                at = start + timedelta(seconds=14 + i * 0.75)  # inside the outage below
                resp = await client.post(
                    "/tasks",
                    json={"title": f"remind me {i}", "reminders": [{"at": at.isoformat()}]},
                    headers=who.headers,
                )
                assert resp.status_code == 201, resp.text
                names.append(job_name(resp.json()["id"], 0))
                times.append(at)
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            got = await asyncio.gather(*(jobs.get(n) for n in names))
            if all(got):
                break
            await asyncio.sleep(0.3)
        else:
            raise AssertionError("the reminders were not scheduled in time for the test")
        began = time.monotonic()
        await asyncio.to_thread(stack.stop_process, "scheduler")
        stopped_at.append(datetime.now(UTC))
        assert stopped_at[0] < min(times), "the first reminder fell due before the outage"
        await asyncio.sleep(outage_s)
        await asyncio.to_thread(stack.start_process, "scheduler")
        return Outcome(time.monotonic() - began, f"stopped {outage_s:.0f} s, 20 reminders due")

    await _run_case(stack, chaos_results, "scheduler stopped 30 s", outage)

    def fired() -> list[Any]:
        return [
            sidecar_state(stack.config.dapr_url("reminders"), "kv", fired_key(n, 1)) for n in names
        ]

    deadline = time.monotonic() + 60
    rows = fired()
    while not all(rows) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        rows = fired()
    assert all(rows), f"{sum(not r for r in rows)} of 20 reminders never fired"
    late = [
        (datetime.fromisoformat(r["fired_at"]) - at).total_seconds()
        for r, at in zip(rows, times, strict=True)
    ]
    await asyncio.to_thread(reader.poll, 3)  # a second delivery would show by now
    due = Counter(
        r.value["data"]["job_name"]
        for r in reader.records
        if r.value.get("data", {}).get("type") == "reminder.due"
        and r.value["data"].get("job_name") in names
    )
    print(
        f"scheduler outage: 20 reminders fired {min(late):.1f}..{max(late):.1f} s after their "
        f"time (outage {outage_s:.0f} s); reminder.due per job {sorted(set(due.values()))}"
    )
    case = chaos_results["scheduler stopped 30 s"]
    case["reminders_late_s"] = [round(min(late), 1), round(max(late), 1)]
    case["line"] += f" reminders late {min(late):.1f}..{max(late):.1f} s"
    assert max(late) <= outage_s + 8, late
    assert sorted(due) == sorted(names), due
    assert set(due.values()) == {1}, due
