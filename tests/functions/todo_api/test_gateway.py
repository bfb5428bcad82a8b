"""The gateway to logs other functions keep: who may see what is decided from the
caller's memberships, pages pass through, a bad cursor is the client's 422, anything
else is Unavailable."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from functions.todo_api.auth import User
from functions.todo_api.gateway import MAX_HISTORY, Gateway, Unavailable
from shared.dapr import InvokeResponse
from shared.dapr.fake import FakeInvoker

ANN = User(
    id="u-ann",
    username="ann",
    timezone="UTC",
    default_list="L1",
    roles={"L2": "editor", "L1": "owner"},
)


def _gateway(answer: Any) -> tuple[Gateway, list[dict[str, list[str]]]]:
    asked: list[dict[str, list[str]]] = []
    invoker = FakeInvoker()

    async def app(verb: str, path: str, body: Any, headers: dict[str, str]) -> InvokeResponse:
        assert verb == "GET"
        asked.append(parse_qs(urlsplit(path).query))
        answered: InvokeResponse = answer(asked[-1]) if callable(answer) else answer
        return answered

    invoker.apps["audit"] = invoker.apps["reminders"] = app
    return Gateway(invoker, "audit", "reminders"), asked


async def test_audit_is_scoped_to_the_callers_lists_whatever_the_query_says() -> None:
    gateway, asked = _gateway(InvokeResponse(200, {"items": [], "next_cursor": None}, {}))
    page = await gateway.audit(ANN, {"limit": "5", "user_id": "someone-else", "list_ids": "X"})
    assert (page.status, page.body) == (200, {"items": [], "next_cursor": None})
    assert asked == [{"limit": ["5"], "user_id": ["u-ann"], "list_ids": ["L1,L2"]}]


async def test_a_bad_cursor_is_passed_on_and_anything_else_is_unavailable() -> None:
    bad = {"error": {"code": "validation_error", "message": "bad cursor", "details": []}}
    gateway, _ = _gateway(InvokeResponse(422, bad, {}))
    page = await gateway.notifications(ANN, {"cursor": "zz"})
    assert (page.status, page.body) == (422, bad)
    for answer in (InvokeResponse(500, {}, {}), InvokeResponse(422, "text", {})):
        gateway, _ = _gateway(answer)
        with pytest.raises(Unavailable) as down:
            await gateway.audit(ANN, {})
        assert down.value.what == "audit log"
    with pytest.raises(Unavailable):  # the app is not there at all (DaprError)
        await Gateway(FakeInvoker(), "audit", "reminders").notifications(ANN, {})


async def test_a_tasks_history_reads_every_page_up_to_the_cap() -> None:
    def pages(query: dict[str, list[str]]) -> InvokeResponse:
        n = int(query.get("cursor", ["0"])[0])
        items = [{"event_id": f"e{n + i}"} for i in range(500)]
        return InvokeResponse(200, {"items": items, "next_cursor": str(n + 500)}, {})

    gateway, asked = _gateway(pages)
    history = await gateway.task_history(ANN, "t1")
    assert len(history) == MAX_HISTORY
    assert len(asked) == MAX_HISTORY // 500
    assert all(q["task_id"] == ["t1"] and q["list_ids"] == ["L1,L2"] for q in asked)
