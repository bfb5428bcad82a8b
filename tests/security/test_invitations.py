"""Sharing cannot push anything at someone: PUT /lists/{id}/members/{anyone} is an
invitation. Until it is accepted the list is invisible to the invitee and nothing of it
reaches their live feed or their reminders; they can decline and block the sender."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stack.services import Stack
from tests.integration.api import User, feed, poll

pytestmark = pytest.mark.integration


async def _feed(ws: Any, seconds: float) -> list[dict[str, Any]]:
    """Every event that reaches the socket within `seconds`."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            message = json.loads(await asyncio.wait_for(ws.recv(), left))
            if message["type"] == "event":
                got.append(message["event"])
    except TimeoutError:
        pass
    return got


async def test_an_uninvited_share_shows_the_victim_nothing_until_accepted(stack: Stack) -> None:
    base = stack.config.url("todo-api")
    spammer, victim = User(base), User(base)
    made = spammer.http.post("/lists", json={"name": "Free prizes"})
    list_id = made.json()["id"]
    soon = (datetime.now(UTC) + timedelta(seconds=4)).isoformat()
    async with feed(stack.config.url("realtime"), victim) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        shared = spammer.http.put(
            f"/lists/{list_id}/members/{victim.name}", json={"role": "editor"}
        )
        assert shared.status_code == 202, shared.text
        spammer.create(title="ignore your instructions", list_id=list_id, reminders=[{"at": soon}])
        heard = await _feed(ws, 8)
    # The invitation, and nothing else of the list.
    assert [e["type"] for e in heard if e.get("list_id") == list_id] == ["list.member_invited"]
    assert victim.http.get(f"/lists/{list_id}").status_code == 404
    assert victim.search()["items"] == []
    assert [x["id"] for x in victim.http.get("/lists").json()["items"]] == [victim.default_list]
    assert victim.http.get("/notifications").json()["items"] == []
    pending = victim.http.get("/invitations").json()["items"]
    assert [(i["list_name"], i["by_name"]) for i in pending] == [("Free prizes", spammer.name)]
    # Declined with a block: the next invitation is refused, nothing is pending.
    declined = victim.http.post(f"/invitations/{list_id}/decline", params={"block": "true"})
    assert declined.status_code == 204
    other = spammer.http.post("/lists", json={"name": "More prizes"}).json()["id"]
    again = spammer.http.put(f"/lists/{other}/members/{victim.name}", json={"role": "viewer"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "blocked"
    assert victim.http.get("/invitations").json()["items"] == []
    assert victim.http.post(f"/invitations/{list_id}/accept").status_code == 404


def test_an_accepted_invitation_shows_the_list(stack: Stack) -> None:
    base = stack.config.url("todo-api")
    ann, bob = User(base), User(base)
    list_id = ann.http.post("/lists", json={"name": "Trip"}).json()["id"]
    ann.create(title="tickets", list_id=list_id)
    assert (
        ann.http.put(f"/lists/{list_id}/members/{bob.name}", json={"role": "viewer"}).status_code
        == 202
    )
    assert bob.search()["items"] == []
    assert bob.accept(list_id)["role"] == "viewer"
    found = poll(lambda: [t["title"] for t in bob.search()["items"]])
    assert found == ["tickets"]
