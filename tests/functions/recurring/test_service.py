from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.recurring.service import Recurrer, next_request
from shared.dapr import DaprError, InvokeResponse
from shared.dapr.fake import FakeInvoker
from shared.delivery import Retryable, Unprocessable
from shared.events import TaskCompleted, TaskSnapshot
from shared.internal_api import occurrence_id
from tests.factories import series_completion

NOW = datetime(2026, 6, 1, 10, tzinfo=UTC)


def _completed(recurrence: dict[str, Any] | None, occurrence: int = 1) -> TaskCompleted:
    return series_completion(recurrence, at=NOW, occurrence=occurrence)


def _tomorrow(task: TaskSnapshot, now: datetime) -> datetime | None:
    assert task.due_at is not None
    return task.due_at + timedelta(days=1)


def test_the_next_occurrence_has_a_deterministic_id_and_keeps_the_task() -> None:
    req = next_request(_completed({"frequency": "daily"}, occurrence=4), _tomorrow, NOW)
    assert req is not None
    assert req.task_id == occurrence_id("s1", 5)
    assert req.occurrence == 5
    assert (req.title, req.list_id, req.user_id) == ("standup", "l1", "u1")
    assert req.due_at == NOW + timedelta(days=1)


def test_the_request_names_the_completion_it_follows() -> None:
    req = next_request(_completed({"frequency": "daily"}), _tomorrow, NOW)
    assert req is not None
    assert (req.completed_at, req.completed_version) == (NOW, 1)


def test_the_next_occurrence_stays_the_creators_whoever_completed_this_one() -> None:
    """Its reminders go to the series' creator, not to the member who completed it."""
    done = _completed({"frequency": "daily"})
    by_other = done.model_copy(update={"task": done.task.model_copy(update={"created_by": "u0"})})
    req = next_request(by_other, _tomorrow, NOW)
    assert req is not None
    assert (req.user_id, req.created_by) == ("u1", "u0")


def test_no_request_without_recurrence_or_after_the_series_ends() -> None:
    assert next_request(_completed(None), _tomorrow, NOW) is None
    assert next_request(_completed({"frequency": "daily"}), lambda t, n: None, NOW) is None


async def _run(status: int | Exception) -> tuple[type[Exception] | None, FakeInvoker]:
    """What on_completed raised (None: nothing, done), and the calls it made."""
    invoker = FakeInvoker()

    async def todo_api(
        method: str, path: str, body: Any, headers: dict[str, str]
    ) -> InvokeResponse:
        if isinstance(status, Exception):
            raise status
        return InvokeResponse(status, {}, {})

    invoker.apps["todo-api"] = todo_api
    try:
        await Recurrer(invoker, _tomorrow, "todo-api").on_completed(
            _completed({"frequency": "daily"}), NOW
        )
    except (Retryable, Unprocessable) as exc:
        return type(exc), invoker
    return None, invoker


async def test_errors_follow_todo_api_answers() -> None:
    assert (await _run(201))[0] is None
    assert (await _run(200))[0] is None  # already created: a replay
    assert (await _run(422))[0] is Unprocessable
    assert (await _run(503))[0] is Retryable
    assert (await _run(429))[0] is Retryable
    assert (await _run(DaprError("down")))[0] is Retryable
    _, invoker = await _run(201)
    app, method, path, _ = invoker.calls[0]
    assert (app, method, path) == ("todo-api", "PUT", f"internal/v1/tasks/{occurrence_id('s1', 2)}")


async def test_an_unusable_recurrence_is_unprocessable() -> None:
    def broken(task: TaskSnapshot, now: datetime) -> datetime | None:
        raise ValueError("the series cannot continue")

    with pytest.raises(Unprocessable, match="unusable recurrence"):
        await Recurrer(FakeInvoker(), broken, "todo-api").on_completed(
            _completed({"rrule": "FREQ=DAILY"}), NOW
        )
