"""A caller that holds the app token (a compromised recurring, through its own sidecar)
still cannot make todo-api write into someone's list: the next occurrence is made from
todo-api's own stored task, and a request that does not match it is refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.internal_api import OccurrenceRequest, occurrence_path
from stack.services import Stack
from tests.integration.api import User, poll

pytestmark = pytest.mark.integration


def _invoke_as_recurring(stack: Stack, request: OccurrenceRequest) -> httpx.Response:
    url = stack.config.dapr_url("recurring")
    return httpx.put(
        f"{url}/v1.0/invoke/todo-api/method/{occurrence_path(request.task_id)}",
        json=request.model_dump(mode="json"),
        timeout=10,
    )


def test_a_forged_occurrence_request_for_another_users_list_changes_nothing(
    stack: Stack,
) -> None:
    base = stack.config.url("todo-api")
    victim, attacker = User(base), User(base)
    due = datetime.now(UTC) + timedelta(hours=1)
    own = attacker.create(title="mine", due_at=due.isoformat(), recurrence={"frequency": "daily"})
    done = attacker.http.post(f"/tasks/{own['id']}/complete")
    assert done.status_code == 200, done.text

    def planted(**fields: Any) -> OccurrenceRequest:
        """An occurrence request that would put a task into the victim's list."""
        return OccurrenceRequest(
            user_id=victim.id,
            list_id=victim.default_list,
            title="planted: click this link",
            **fields,
        )

    redirected = {"series_id": own["series_id"], "previous_task_id": own["id"]}
    forged = [
        # a series that does not exist, into the victim's list
        planted(series_id=str(uuid.uuid4()), occurrence=2, previous_task_id=str(uuid.uuid4())),
        # the attacker's own real series, redirected into the victim's list (a later
        # occurrence, and the very next one)
        planted(occurrence=5, created_by=victim.id, **redirected),
        planted(occurrence=2, created_by=victim.id, **redirected),
    ]
    for request in forged:
        resp = _invoke_as_recurring(stack, request)
        assert resp.status_code in (404, 422), (resp.status_code, resp.text)
        assert victim.http.get(f"/tasks/{request.task_id}").status_code == 404
    assert victim.search()["items"] == []
    # The attacker's real completion still makes its next occurrence, in their own list,
    # with their own title: recurring's legitimate request is what todo-api stored.
    made = poll(lambda: [t for t in attacker.search()["items"] if t["occurrence"] == 2])
    assert made
    assert made[0]["title"] == "mine"
    assert made[0]["list_id"] == attacker.default_list
