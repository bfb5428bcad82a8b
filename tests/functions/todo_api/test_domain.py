from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.todo_api import domain
from functions.todo_api.models import TaskCreate, TaskPatch

NOW = datetime(2026, 1, 31, 8, tzinfo=UTC)


def _task(**fields: object):  # type: ignore[no-untyped-def]
    body = TaskCreate.model_validate({"title": "t", **fields})
    return domain.new_task(
        body, task_id="id1", list_id="l1", user_id="u1", user_tz="Europe/Berlin", now=NOW
    )


def test_new_task_takes_the_users_zone_and_starts_a_series() -> None:
    task = _task(due_at=NOW.isoformat(), recurrence={"frequency": "monthly"})
    assert task.timezone == "Europe/Berlin"
    assert task.series_id == "id1"
    assert task.series_start == NOW
    assert task.occurrence == 1
    assert _task().series_id is None


def test_patch_reports_only_real_changes_and_bumps_the_version() -> None:
    task = _task(priority="low")
    same, changed = domain.apply_patch(task, TaskPatch(priority="low"), NOW)
    assert changed == []
    assert same is task
    later = NOW + timedelta(hours=1)
    new, changed = domain.apply_patch(task, TaskPatch(priority="high", title="x"), later)
    assert changed == ["priority", "title"]
    assert new.version == 2
    assert new.updated_at == later


def test_moving_the_due_date_restarts_the_series_anchor() -> None:
    task = _task(due_at=NOW.isoformat(), recurrence={"frequency": "monthly"})
    moved = NOW + timedelta(days=3)
    new, _ = domain.apply_patch(task, TaskPatch.model_validate({"due_at": moved.isoformat()}), NOW)
    assert new.series_start == moved
    assert new.series_id == "id1"
    stopped, _ = domain.apply_patch(task, TaskPatch.model_validate({"recurrence": None}), NOW)
    assert stopped.series_start is None
    assert stopped.series_id is None


def test_clearing_the_due_date_with_relative_reminders_is_refused() -> None:
    task = _task(due_at=NOW.isoformat(), reminders=[{"before": "PT5M"}])
    with pytest.raises(domain.InvalidChange):
        domain.apply_patch(task, TaskPatch.model_validate({"due_at": None}), NOW)


def test_complete_and_reopen_are_idempotent() -> None:
    task = _task()
    done = domain.complete(task, NOW)
    assert done is not None
    assert done.status == "completed"
    assert done.completed_at == NOW
    assert domain.complete(done, NOW) is None
    again = domain.reopen(done, NOW)
    assert again is not None
    assert again.completed_at is None
    assert again.version == 3
    assert domain.reopen(again, NOW) is None


def test_overdue_is_computed_when_presented() -> None:
    task = _task(due_at=(NOW - timedelta(minutes=1)).isoformat())
    assert domain.present(task, NOW)["overdue"] is True
    done = domain.complete(task, NOW)
    assert done is not None
    assert domain.present(done, NOW)["overdue"] is False
    assert "created_by" not in domain.present(task, NOW)
