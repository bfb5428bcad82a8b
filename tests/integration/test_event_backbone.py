"""Issue 11's fault tests on the real stack: the outbox (functions/todo_api/outbox.py)
loses nothing and doubles nothing when a transaction fails, the broker freezes or
dies, todo-api dies between commit and publish, or PostgreSQL goes away; and every
record on task-events is keyed by its user.

Each test reads what really reached task-events (raw Kafka records: key, offset,
timestamp) and what audit holds for the users involved (GET /api/v1/audit), and
prints its figures. The broker-outage helper is reused by tests/chaos/.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from functions.todo_api.outbox import Outbox
from functions.todo_api.store import Conflict, TaskStore
from loadtest.stats import summary_ms
from shared.dapr.sidecar import DaprSidecar
from shared.events import TaskCreated, TaskSnapshot
from shared.topics import Topic
from stack.services import Stack
from tests.integration.api import sidecar_state
from tests.integration.faults import (
    Account,
    Ack,
    api_client,
    audit_of,
    by_user,
    frozen,
    is_envelope,
    register,
    settle,
)
from tests.integration.kafka import Record, TopicReader

pytestmark = pytest.mark.integration

AUDIT_TIMEOUT_S = 120.0  # after the fault is over; the machine is shared and loaded


def _task_id(record: Record) -> str | None:
    data = record.value.get("data", {})
    return data.get("task_id") if isinstance(data, dict) else None


def _event_id(record: Record) -> str | None:
    data = record.value.get("data", {})
    return data.get("event_id") if isinstance(data, dict) else None


async def _create(client: httpx.AsyncClient, who: Account, title: str) -> tuple[Ack | None, Any]:
    """One create; (its Ack, None) on 201, else (None, (status, body, seconds))."""
    sent, began = time.time(), time.perf_counter()
    try:
        resp = await client.post("/tasks", json={"title": title}, headers=who.headers)
    except httpx.HTTPError as exc:
        return None, (0, repr(exc), time.perf_counter() - began)
    took = time.perf_counter() - began
    if resp.status_code != 201:
        return None, (resp.status_code, resp.json(), took)
    got = resp.json()
    return Ack(who.id, (got["id"], 1, "task.created"), got, sent, sent + took), None


async def _on_topic(
    reader: TopicReader,
    ids: set[str],
    timeout: float,  # noqa: ASYNC109 - a polling deadline: what came by then is the answer
) -> dict[str, Record]:
    """The first record of each task id, once all are there (or what came by the timeout)."""
    found: dict[str, Record] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for r in await asyncio.to_thread(reader.poll, 0.3):
            tid = _task_id(r)
            if tid in ids and tid not in found:
                found[tid] = r
        reader.records.clear()  # poll() accumulates; we keep only what we need
        if len(found) == len(ids):
            break
    return found


def _wrong_keys(records: list[Record], acks: list[Ack]) -> list[str]:
    owner = {a.key[0]: a.user for a in acks}
    return [
        f"{_task_id(r)}: key {r.key!r}"
        for r in records
        if _task_id(r) in owner and r.key != owner[str(_task_id(r))].encode()
    ]


# -- (1) + (5) ------------------------------------------------------------------------


async def test_a_failed_transaction_leaves_nothing_and_holds_up_nothing(
    stack: Stack, sidecars: dict[str, DaprSidecar], topic_reader: Any
) -> None:
    reader: TopicReader = topic_reader(Topic.TASK_EVENTS.value)
    async with api_client(stack) as client:
        ann, bob = await register(client, "tx"), await register(client, "tx")
        existing, _ = await _create(client, ann, "already here")
        assert existing is not None

        # A create that fails INSIDE the transaction, through todo-api's own sidecar as
        # todo-api writes it: the task row (an insert on a key that exists) and the
        # event's outbox row, in one transaction.
        todo = sidecars["todo-api"]
        tasks = TaskStore(todo.state("tasks"))
        outbox = Outbox({tasks.name: tasks.state}, todo.state("kv"), todo.publisher, owner="t")
        now = datetime.now(UTC)
        clash = TaskSnapshot(
            id=existing.key[0],
            list_id=ann.default_list,
            title="clash",
            created_at=now,
            updated_at=now,
            created_by=ann.id,
        )
        failed = TaskCreated(
            user_id=ann.id, list_id=ann.default_list, task_id=clash.id, task=clash, occurred_at=now
        )
        row, _pending = outbox.pending(tasks.name, failed, now, members=[ann.id])
        with pytest.raises(Conflict):
            await tasks.transact([tasks.insert_op(clash), row])
        assert sidecar_state(stack.config.dapr_url("todo-api"), "tasks", row.key) is None, (
            "the failed transaction left its outbox row behind"
        )
        # The original poison (U+0000 in a title) is refused before storage now.
        bad = await client.post("/tasks", json={"title": "a\u0000b"}, headers=ann.headers)
        assert bad.status_code == 422, bad.text
        assert "title" in bad.text, bad.text

        acks: list[Ack] = []
        for i in range(100):
            ack, problem = await _create(client, (ann, bob)[i % 2], f"after the failure {i}")
            assert ack is not None, problem
            acks.append(ack)

        found = await _on_topic(reader, {a.key[0] for a in acks}, timeout=60)
        missing = [a.key[0] for a in acks if a.key[0] not in found]
        assert not missing, f"{len(missing)} of 100 creates never reached task-events"
        to_kafka = [found[a.key[0]].timestamp / 1000 - a.sent_at for a in acks]
        write = summary_ms([a.latency_s for a in acks])
        kafka = summary_ms(to_kafka)
        print(
            f"\n100 creates after a failed transaction: write p50 {write['p50']} ms p99 "
            f"{write['p99']} ms; request sent -> on task-events p50 {kafka['p50']} ms "
            f"p99 {kafka['p99']} ms max {kafka['max']} ms"
        )
        # Nothing waits behind the failed transaction. Two users writing back to back as
        # fast as todo-api answers (~100 writes/s) outpace a relay that sends one event
        # per user per bulk publish (the order guarantee against a failing broker), so
        # the tail grows with the burst; it is bounded, not wedged.
        assert kafka["p99"] < 5000, kafka
        assert not _wrong_keys(list(found.values()), acks)

        # The failed create's event never appears (more time for a straggler first).
        late = await asyncio.to_thread(reader.poll, 3)
        assert all(_event_id(r) != str(failed.event_id) for r in [*found.values(), *late])
        verdict = await settle(client, [ann, bob], acks, timeout=AUDIT_TIMEOUT_S)
        print(f"audit: {verdict.summary()}, complete after {verdict.caught_up_s} s")
        assert verdict.ok, verdict
        entries = [e for who in (ann, bob) for e in (await _audit_ids(client, who))]
        assert str(failed.event_id) not in entries


async def _audit_ids(client: httpx.AsyncClient, who: Account) -> list[str]:
    got = await audit_of(client, who)
    assert got is not None
    return [e["event_id"] for e in got]


# -- (2) + (5): the broker away during writes ---------------------------------------------


class BrokerOutage:
    """What a broker-outage run saw, for the assertions and the chaos suite's line."""

    def __init__(self) -> None:
        self.acks: list[Ack] = []
        self.failures: list[Any] = []
        self.during: list[float] = []  # write latencies while the broker was away
        self.outage_s = 0.0
        self.back_at = 0.0  # monotonic: broker running again
        self.kafka_after_s: float | None = None  # broker back -> last event on the topic
        self.kafka_duplicates = 0
        self.order_faults: list[str] = []
        self.wrong_keys: list[str] = []
        self.missing_on_topic: list[str] = []


async def writes_through_a_broker_outage(
    stack: Stack,
    client: httpx.AsyncClient,
    accounts: list[Account],
    reader: TopicReader,
    *,
    outage: Callable[[], Awaitable[None]],
    creates: int = 200,
    rate: float = 10.0,
    start_after_s: float = 2.0,
) -> BrokerOutage:
    """`creates` creates at `rate`/s spread over the accounts (each user one call at a
    time, so its 201s are in commit order), with `outage()` run `start_after_s` into
    them; then every event must reach task-events: keyed by its user, in each user's
    partition in the order of that user's 201s."""
    out = BrokerOutage()
    t0 = time.monotonic()
    away: list[float] = [float("inf"), float("inf")]

    async def user(i: int, who: Account) -> None:
        for k in range(i, creates, len(accounts)):
            delay = t0 + k / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            began = time.monotonic()
            ack, problem = await _create(client, who, f"through the outage {k}")
            if ack is None:
                out.failures.append(problem)
                continue
            out.acks.append(ack)
            if away[0] <= began <= away[1]:
                out.during.append(ack.latency_s)

    async def fault() -> None:
        await asyncio.sleep(start_after_s)
        away[0] = time.monotonic()
        await outage()
        away[1] = out.back_at = time.monotonic()
        out.outage_s = away[1] - away[0]

    await asyncio.gather(fault(), *(user(i, a) for i, a in enumerate(accounts)))

    ids = {a.key[0] for a in out.acks}
    seen: dict[str, list[Record]] = defaultdict(list)
    deadline = time.monotonic() + AUDIT_TIMEOUT_S
    while time.monotonic() < deadline and len(seen) < len(ids):
        for r in await asyncio.to_thread(reader.poll, 0.3):
            tid = _task_id(r)
            if tid in ids:
                seen[str(tid)].append(r)
        reader.records.clear()
    await asyncio.sleep(0)
    for r in await asyncio.to_thread(reader.poll, 2):  # duplicates that come late
        if _task_id(r) in ids:
            seen[str(_task_id(r))].append(r)
    reader.records.clear()
    out.missing_on_topic = sorted(ids - set(seen))
    firsts = {tid: min(rs, key=lambda r: (r.partition, r.offset)) for tid, rs in seen.items()}
    if firsts:
        newest = max(r.timestamp for r in firsts.values()) / 1000
        out.kafka_after_s = round(newest - (time.time() - (time.monotonic() - out.back_at)), 2)
    out.kafka_duplicates = sum(
        len({(r.partition, r.offset) for r in rs}) - 1 for rs in seen.values()
    )
    out.wrong_keys = _wrong_keys(list(firsts.values()), out.acks)
    for uid, acks in by_user(out.acks).items():
        records = [firsts[a.key[0]] for a in acks if a.key[0] in firsts]
        partitions = {r.partition for r in records}
        if len(partitions) > 1:
            out.order_faults.append(f"{uid}: events on partitions {sorted(partitions)}")
        by_offset = [str(_task_id(r)) for r in sorted(records, key=lambda r: r.offset)]
        by_ack = [a.key[0] for a in acks if a.key[0] in firsts]
        if by_offset != by_ack:
            i = next(i for i, (x, y) in enumerate(zip(by_offset, by_ack, strict=True)) if x != y)
            copies = {t[:8]: sorted(r.offset for r in seen[t]) for t in (by_ack[i], by_offset[i])}
            out.order_faults.append(
                f"{uid[:8]}: 201 #{i} is {by_ack[i][:8]} but offset order has {by_offset[i][:8]} "
                f"there (offsets of every copy: {copies})"
            )
    return out


async def _broker_outage_case(stack: Stack, reader: TopicReader, how: str) -> None:
    async def freeze() -> None:
        with frozen(stack, "kafka"):
            await asyncio.sleep(20)

    async def kill() -> None:
        pid = await asyncio.to_thread(stack.kill, "kafka")
        await asyncio.to_thread(stack.wait_restarted, "kafka", pid, 120)

    async with api_client(stack, timeout=60) as client:
        accounts = [await register(client, "kf") for _ in range(4)]
        run = await writes_through_a_broker_outage(
            stack, client, accounts, reader, outage=freeze if how == "frozen" else kill
        )
        verdict = await settle(client, accounts, run.acks, timeout=AUDIT_TIMEOUT_S)
    during = summary_ms(run.during) if run.during else {}
    print(
        f"\nKafka {how} for {run.outage_s:.1f} s during 200 creates at 10/s: "
        f"{len(run.acks)} x 201, {len(run.failures)} failed; write latency while away "
        f"p50 {during.get('p50')} p99 {during.get('p99')} max {during.get('max')} ms "
        f"(n={during.get('n')}); all on task-events {run.kafka_after_s} s after the broker "
        f"was back ({run.kafka_duplicates} duplicate records on the topic); audit "
        f"{verdict.summary()}, complete {verdict.caught_up_s} s after the topic"
    )
    assert not run.failures, run.failures[:5]
    assert len(run.acks) == 200
    assert not run.missing_on_topic, f"{len(run.missing_on_topic)} events never reached Kafka"
    assert not run.wrong_keys, run.wrong_keys[:5]
    assert verdict.ok, verdict
    # A killed broker used to reorder one user's events here (outbox._one_per_key says why).
    assert not run.order_faults, run.order_faults


async def test_writes_stay_up_while_kafka_is_frozen_and_every_event_follows_in_order(
    stack: Stack, topic_reader: Any
) -> None:
    await _broker_outage_case(stack, topic_reader(Topic.TASK_EVENTS.value), "frozen")


async def test_writes_stay_up_while_kafka_is_killed_and_restarted(
    stack: Stack, topic_reader: Any
) -> None:
    await _broker_outage_case(stack, topic_reader(Topic.TASK_EVENTS.value), "killed")


# -- (3) todo-api dies between commit and publish -------------------------------------


async def test_the_sweeper_publishes_what_a_killed_todo_api_committed(
    stack: Stack, topic_reader: Any
) -> None:
    hold = stack.config.outbox_hold_file
    assert hold is not None, "the test stack starts todo-api with TASKWAVE_OUTBOX_HOLD_FILE"
    reader: TopicReader = topic_reader(Topic.TASK_EVENTS.value)
    async with api_client(stack) as client:
        accounts = [await register(client, "sw") for _ in range(2)]
        await asyncio.sleep(1)  # registration's events out before the relay is held
        hold.touch()
        try:
            acks = []
            for i in range(20):
                ack, problem = await _create(client, accounts[i % 2], f"committed, held {i}")
                assert ack is not None, problem
                acks.append(ack)
            ids = {a.key[0] for a in acks}
            early = await _on_topic(reader, ids, timeout=1.5)
            assert not early, "the relay published while held: the test proves nothing"
            pid = await asyncio.to_thread(stack.kill, "todo-api")
            killed = time.time()
        finally:
            hold.unlink(missing_ok=True)
        await asyncio.to_thread(stack.wait_restarted, "todo-api", pid, 90)
        ready = time.time()
        found = await _on_topic(reader, ids, timeout=60)
        assert len(found) == len(ids), f"{len(ids) - len(found)} committed events never published"
        last = max(r.timestamp for r in found.values()) / 1000
        print(
            f"\ntodo-api SIGKILLed with {len(ids)} committed, unpublished events: ready again "
            f"{ready - killed:.1f} s after the kill; all on task-events {last - ready:.2f} s "
            f"after it was ready ({last - killed:.1f} s after the kill)"
        )
        assert last - ready <= 10.0
        assert not _wrong_keys(list(found.values()), acks)
        verdict = await settle(client, accounts, acks, timeout=AUDIT_TIMEOUT_S)
        print(f"audit: {verdict.summary()}")
        assert verdict.ok, verdict


# -- (4) PostgreSQL away ------------------------------------------------------------------


class StoreOutage:
    def __init__(self) -> None:
        self.refused: list[tuple[int, Any, float]] = []  # (status, body, seconds)
        self.reads: list[tuple[int, Any, float]] = []
        self.acks: list[Ack] = []
        self.back_after_s = 0.0  # start_process -> first 201


async def postgres_outage(
    stack: Stack, client: httpx.AsyncClient, accounts: list[Account], *, seconds: float
) -> StoreOutage:
    """PostgreSQL stopped for `seconds` while the accounts keep trying to create (and read);
    then started again and written to until a create succeeds."""
    out = StoreOutage()
    await asyncio.to_thread(stack.stop_process, "postgres")
    stopped = time.monotonic()
    k = 0
    while time.monotonic() - stopped < seconds:
        who = accounts[k % len(accounts)]
        k += 1
        ack, problem = await _create(client, who, f"while the store is away {k}")
        if ack is not None:
            out.acks.append(ack)  # committed before the stop took effect
        else:
            out.refused.append(problem)
        began = time.perf_counter()
        resp = await client.get("/tasks", headers=who.headers)
        out.reads.append((resp.status_code, resp.json(), time.perf_counter() - began))
        await asyncio.sleep(0.3)
    began = time.monotonic()
    await asyncio.to_thread(stack.start_process, "postgres")
    while time.monotonic() - began < 120:
        ack, _ = await _create(client, accounts[0], "the store is back")
        if ack is not None:
            out.acks.append(ack)
            break
        await asyncio.sleep(0.2)
    out.back_after_s = time.monotonic() - began
    for i, who in enumerate(accounts * 3):
        ack, problem = await _create(client, who, f"after the outage {i}")
        assert ack is not None, problem
        out.acks.append(ack)
    return out


async def test_postgres_away_writes_answer_503_and_nothing_is_half_written(stack: Stack) -> None:
    async with api_client(stack, timeout=60) as client:
        accounts = [await register(client, "pg") for _ in range(2)]
        before = []
        for i in range(6):
            ack, problem = await _create(client, accounts[i % 2], f"before {i}")
            assert ack is not None, problem
            before.append(ack)
        run = await postgres_outage(stack, client, accounts, seconds=10)
        verdict = await settle(client, accounts, before + run.acks, timeout=AUDIT_TIMEOUT_S)
    refused = summary_ms([s for _, _, s in run.refused]) if run.refused else {}
    statuses = Counter(status for status, _, _ in run.refused)
    read_statuses = Counter(status for status, _, _ in run.reads)
    print(
        f"\nPostgreSQL stopped 10 s: {len(run.refused)} creates refused {dict(statuses)} in "
        f"p50 {refused.get('p50')} ms max {refused.get('max')} ms; reads {dict(read_statuses)}; "
        f"first 201 {run.back_after_s:.1f} s after the restart began; audit "
        f"{verdict.summary()}, complete after {verdict.caught_up_s} s"
    )
    if run.refused:
        print(f"  e.g. {run.refused[0][1]}")
    assert run.refused, "no write was tried while PostgreSQL was away"
    assert set(statuses) == {503}, statuses
    assert all(is_envelope(body) for _, body, _ in run.refused)
    assert refused["max"] < 15_000, "a refusal took too long"
    assert all(s == 503 and is_envelope(b) for s, b, _ in run.reads if s != 200)
    assert verdict.ok, verdict


async def test_every_task_event_is_keyed_by_its_user(stack: Stack, topic_reader: Any) -> None:
    """(5) on its own too: creates, renames, completions and deletes of two users."""
    reader: TopicReader = topic_reader(Topic.TASK_EVENTS.value)
    async with api_client(stack) as client:
        ann, bob = await register(client, "key"), await register(client, "key")
        owners: dict[str, str] = {}
        for who in (ann, bob):
            for i in range(3):
                ack, problem = await _create(client, who, f"keyed {i}")
                assert ack is not None, problem
                tid = ack.key[0]
                owners[tid] = who.id
                h = who.headers
                assert (
                    await client.patch(f"/tasks/{tid}", json={"title": "x"}, headers=h)
                ).is_success
                assert (await client.post(f"/tasks/{tid}/complete", headers=h)).is_success
                assert (await client.delete(f"/tasks/{tid}", headers=h)).is_success
    records = reader.wait_for(lambda v: v.get("data", {}).get("task_id") in owners, count=24)
    assert len(records) >= 24
    wrong = [r for r in records if r.key != owners[str(_task_id(r))].encode()]
    assert not wrong, [(r.key, _task_id(r)) for r in wrong]
    print(f"\n{len(records)} task events of 2 users, every one keyed by its user")
