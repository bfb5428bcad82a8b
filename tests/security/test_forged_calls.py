"""Forged calls straight to a function's app port, past its sidecar: pub/sub deliveries,
job callbacks, internal routes, metrics. Each is refused (401) and changes nothing."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from functions.reminders.jobs import ReminderJob
from shared.events import TaskCompleted, TaskCreated, TaskSnapshot, TaskUpdated
from shared.internal_api import OccurrenceRequest, occurrence_id, occurrence_path
from stack.services import Stack
from tests.integration.api import User, feed, sidecar_state
from tests.sidecar import bulk_delivery, cloudevent

pytestmark = pytest.mark.integration

# No token, an empty one, and a guess: all the same to the edge.
FORGERIES = [{}, {"dapr-api-token": ""}, {"dapr-api-token": "guess-guess-guess-guess"}]


def _post(stack: Stack, fn: str, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        stack.config.url(fn) + path,
        json=body,
        headers={**headers, "dapr-caller-app-id": "todo-api", "__offset": "999999999"},
        timeout=10,
    )


def _refused(resp: httpx.Response) -> None:
    assert resp.status_code == 401, (resp.status_code, resp.text)
    assert resp.json()["error"]["code"] == "unauthorized"


def _daily_task(victim: User, title: str) -> TaskSnapshot:
    now = datetime.now(UTC)
    task_id = str(uuid.uuid4())
    return TaskSnapshot(
        id=task_id,
        list_id=victim.default_list,
        title=title,
        due_at=now + timedelta(hours=1),
        recurrence={"frequency": "daily", "interval": 1},
        status="completed",
        completed_at=now,
        series_id=task_id,
        created_at=now,
        updated_at=now,
        created_by=victim.id,
    )


def test_a_forged_completion_to_recurring_creates_no_task(stack: Stack) -> None:
    victim = User(stack.config.url("todo-api"))
    task = _daily_task(victim, "planted by an attacker")
    event = TaskCompleted(
        user_id=victim.id, list_id=victim.default_list, task_id=task.id, task=task
    )
    for headers in FORGERIES:
        for topic in ("task-events", "task-updates"):
            _refused(
                _post(stack, "recurring", f"/events/{topic}", cloudevent(event, topic), headers)
            )
    time.sleep(2)
    assert victim.search()["items"] == []
    planted = victim.http.get(f"/tasks/{occurrence_id(task.id, 2)}")
    assert planted.status_code == 404


def test_a_forged_event_to_audit_stores_nothing(stack: Stack) -> None:
    victim = User(stack.config.url("todo-api"))
    task = _daily_task(victim, "fake history")
    event = TaskCreated(user_id=victim.id, list_id=victim.default_list, task_id=task.id, task=task)
    for headers in FORGERIES:
        for route in ("task-events", "reminders", "dead-letters"):
            _refused(_post(stack, "audit", f"/events/{route}", cloudevent(event, route), headers))
    time.sleep(1)
    audit = stack.config.dapr_url("audit")
    assert sidecar_state(audit, "kv", f"event|{event.event_id}") is None
    seen = victim.http.get("/audit").json()["items"]
    assert str(event.event_id) not in json.dumps(seen)


def test_a_forged_job_callback_or_event_to_reminders_reminds_nobody(stack: Stack) -> None:
    victim = User(stack.config.url("todo-api"))
    task = _daily_task(victim, "fake reminder")
    now = datetime.now(UTC)
    job = ReminderJob(
        user_id=victim.id,
        list_id=victim.default_list,
        task_id=task.id,
        reminder_index=0,
        occurrence=1,
        title="click this link",
        due_at=now,
        fire_at=now,
    ).model_dump(mode="json")
    name = f"reminder--{task.id}--0"
    with_reminder = TaskSnapshot.model_validate(
        {**task.model_dump(), "reminders": [{"before": "PT5M"}], "status": "open"}
    )
    created = TaskCreated(
        user_id=victim.id, list_id=victim.default_list, task_id=task.id, task=with_reminder
    )
    for headers in FORGERIES:
        _refused(_post(stack, "reminders", f"/job/{name}", job, headers))
        _refused(_post(stack, "reminders", "/job/x", {}, headers))
        for topic in ("task-events", "task-updates"):
            body = cloudevent(created, topic)
            _refused(_post(stack, "reminders", f"/events/{topic}", body, headers))
    time.sleep(1)
    assert victim.http.get("/notifications").json()["items"] == []


async def _until_quiet(ws: Any, quiet_s: float) -> list[dict[str, Any]]:
    """Every message until none comes for `quiet_s`."""
    heard: list[dict[str, Any]] = []
    while True:
        try:
            heard.append(json.loads(await asyncio.wait_for(ws.recv(), quiet_s)))
        except TimeoutError:
            return heard


async def test_a_forged_update_to_realtime_reaches_no_socket(stack: Stack) -> None:
    victim = User(stack.config.url("todo-api"))
    task = _daily_task(victim, "you have been hacked").model_copy(update={"status": "open"})
    forged = TaskUpdated(
        user_id=victim.id,
        list_id=victim.default_list,
        task_id=task.id,
        task=task,
        changed=["title"],
    )
    async with feed(stack.config.url("realtime"), victim) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello"
        for headers in FORGERIES:
            resp = await asyncio.to_thread(
                _post,
                stack,
                "realtime",
                "/events/task-updates",
                # As daprd delivers it (in bulk), with a forged high offset.
                bulk_delivery(
                    cloudevent(forged, "task-updates"), topic="task-updates", offsets=[999999999]
                ),
                headers,
            )
            _refused(resp)
        # Pings only: no event, no forged high offset.
        assert {m["type"] for m in await _until_quiet(ws, 2)} <= {"ping"}
    async with feed(stack.config.url("realtime"), victim) as again:
        assert json.loads(await again.recv())["seq"] == hello["seq"]


def test_internal_routes_refuse_calls_that_did_not_come_through_a_sidecar(stack: Stack) -> None:
    victim = User(stack.config.url("todo-api"))
    request = OccurrenceRequest(
        user_id=victim.id,
        list_id=victim.default_list,
        series_id=str(uuid.uuid4()),
        occurrence=2,
        previous_task_id=str(uuid.uuid4()),
        title="planted through the back door",
    )
    calls = [
        (
            "todo-api",
            "PUT",
            f"/{occurrence_path(request.task_id)}",
            request.model_dump(mode="json"),
        ),
        ("todo-api", "GET", f"/internal/v1/lists/{victim.default_list}", None),
        (
            "audit",
            "GET",
            f"/internal/v1/audit?user_id={victim.id}&list_ids={victim.default_list}",
            None,
        ),
        ("reminders", "GET", f"/internal/v1/notifications?user_id={victim.id}", None),
    ]
    for fn, method, path, body in calls:
        for headers in FORGERIES:
            for caller in ("recurring", "reminders", "todo-api"):
                resp = httpx.request(
                    method,
                    stack.config.url(fn) + path,
                    json=body,
                    headers={**headers, "dapr-caller-app-id": caller},
                    timeout=10,
                )
                _refused(resp)
    assert victim.http.get(f"/tasks/{request.task_id}").status_code == 404
    assert victim.search()["items"] == []


@pytest.mark.parametrize("fn", ["todo-api", "recurring", "reminders", "audit", "realtime"])
def test_only_probes_and_public_routes_answer_without_the_token(stack: Stack, fn: str) -> None:
    base = stack.config.url(fn)
    for path in ("/healthz", "/readyz"):
        assert httpx.get(base + path, timeout=10).status_code == 200
    for path in ("/metrics", "/dapr/subscribe", "/dapr/config", "/events/task-events", "/x"):
        _refused(httpx.get(base + path, timeout=10))
    # Metrics are on their own port, which only the scraper is let in to in a cluster.
    assert (
        "taskwave_http_request_duration_seconds"
        in httpx.get(stack.config.metrics_url(fn), timeout=10).text
    )
