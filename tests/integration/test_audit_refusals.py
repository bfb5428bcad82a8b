"""On the real stack: an event that validates but the state store refuses (U+0000 in a
title, from a producer other than todo-api, which refuses it at the edge) is
dead-lettered by audit, kept in audit's dead letters, and retried by nobody; the events
around it, on the same partition, are recorded."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from functions.audit.service import dead_letter_key, event_key
from shared.events import TaskCreated, TaskSnapshot
from shared.topics import Topic, dead_letter
from stack.services import Stack
from tests.integration.api import poll, sidecar_state

pytestmark = pytest.mark.integration


def _event(user: str, title: str) -> dict[str, Any]:
    """A valid task.created as JSON, with `title` put in after validation (as another
    producer would write it)."""
    now = datetime.now(UTC)
    task_id = str(uuid.uuid4())
    task = TaskSnapshot(id=task_id, list_id=f"l-{user}", title="x", created_at=now, updated_at=now)
    data = TaskCreated(user_id=user, list_id=f"l-{user}", task_id=task_id, task=task)
    body = data.model_dump(mode="json")
    body["task"]["title"] = title
    return body


def _publish(stack: Stack, event: dict[str, Any]) -> None:
    """Straight to task-events through todo-api's sidecar (its publish API), keyed by the
    user: the events of one test share a partition. json.dumps escapes what UTF-8
    cannot carry (a lone surrogate), as any JSON producer may."""
    resp = httpx.post(
        f"{stack.config.dapr_url('todo-api')}/v1.0/publish/pubsub/{Topic.TASK_EVENTS.value}",
        params={
            "metadata.cloudevent.id": event["event_id"],
            "metadata.partitionKey": event["user_id"],
        },
        content=json.dumps(event).encode(),
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert resp.status_code == 204, resp.text


def _retries(stack: Stack) -> float:
    """Deliveries audit has asked to have again, on any topic."""
    text = httpx.get(stack.config.metrics_url("audit"), timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("taskwave_events_total{")
        and 'function="audit"' in line
        and 'outcome="retry"' in line
    )


def _recorded(stack: Stack, key: str) -> Any:
    return sidecar_state(stack.config.dapr_url("audit"), "kv", key)


def test_an_event_the_store_refuses_is_dead_lettered_and_the_partition_moves_on(
    stack: Stack, topic_reader: Any
) -> None:
    dlq = topic_reader(dead_letter(Topic.TASK_EVENTS))
    retries = _retries(stack)
    user = f"refused-{uuid.uuid4().hex[:8]}"
    bad = _event(user, "nul \x00 in the title")
    # A lone surrogate never reaches the store as one: daprd decodes the JSON it is
    # sent (U+FFFD in its place), so this one is stored like any other.
    odd = _event(user, "lone \ud800 surrogate")
    good = _event(user, "plain")
    for event in (bad, odd):
        _publish(stack, event)
    dead = dlq.wait_for(lambda v: v.get("id") == bad["event_id"], timeout=60)
    assert dead, "the refused event never reached task-events-dlq"
    assert dead[0].value["data"]["task"]["title"] == "nul \x00 in the title"
    # Behind it, on the same partition: recorded.
    _publish(stack, good)
    started = time.monotonic()
    assert poll(lambda: _recorded(stack, event_key(good["event_id"])), 60, 0.2)
    print(f"\nthe valid event behind it recorded {time.monotonic() - started:.1f} s after")
    odd_row = _recorded(stack, event_key(odd["event_id"]))
    assert odd_row is not None
    assert odd_row["event"]["task"]["title"] == "lone \ufffd surrogate"
    assert _recorded(stack, event_key(bad["event_id"])) is None

    # audit keeps the dead letter, as JSON text the store can hold.
    kept = poll(lambda: _recorded(stack, dead_letter_key(bad["event_id"])), 60, 0.2)
    assert kept is not None, "audit never kept the dead letter"
    assert kept["topic"] == Topic.TASK_EVENTS.value
    assert json.loads(kept["data_json"])["task"]["title"] == "nul \x00 in the title"
    # Nothing was asked to be delivered again: the refusal was handled, not retried.
    assert _retries(stack) == retries
    # Nor is it dead-lettered more than once (no redelivery of its batch).
    dlq.poll(2)
    assert len([r for r in dlq.records if r.value.get("id") == bad["event_id"]]) == 1
