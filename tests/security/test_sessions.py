"""A signed-out token is worthless: todo-api refuses it (401) and realtime closes the
sockets opened with it (4401) within its re-check period; a token in the socket's URL
is not taken at all."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from stack.services import Stack
from tests.integration.api import User, feed

pytestmark = pytest.mark.integration

RECHECK_S = 15  # realtime's token_recheck_s


async def _closed_within(ws: object, seconds: float) -> int | None:
    """The close code if the socket closes within `seconds` (pings are read past)."""
    deadline = time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.wait_for(ws.recv(), left)  # type: ignore[attr-defined]
    except TimeoutError:
        return None
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else -1
    return None


@pytest.mark.parametrize("route", ["/auth/signout", "/auth/signout-all"])
async def test_a_signed_out_token_gets_401_and_its_socket_is_closed(
    stack: Stack, route: str
) -> None:
    user = User(stack.config.url("todo-api"))
    stolen = user.token  # what an attacker copied before the user signed out
    async with feed(stack.config.url("realtime"), user) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        started = time.monotonic()
        assert user.http.post(route).status_code == 204
        again = user.http.get("/me", headers={"authorization": f"Bearer {stolen}"})
        assert again.status_code == 401
        code = await _closed_within(ws, RECHECK_S + 10)
        print(f"\nsocket closed {time.monotonic() - started:.1f} s after {route}")
        assert code == 4401
    # Nor does a new socket open with it.
    async with feed(stack.config.url("realtime"), user) as ws:
        assert await _closed_within(ws, 10) == 4401


async def test_a_token_in_the_websocket_url_is_not_taken(stack: Stack) -> None:
    user = User(stack.config.url("todo-api"))
    url = stack.config.url("realtime").replace("http://", "ws://") + f"/ws?token={user.token}"
    async with connect(url) as ws:
        # No auth frame: the URL's token is ignored, so the socket times out unauthenticated.
        assert await _closed_within(ws, 20) == 4408
    async with httpx.AsyncClient(timeout=5) as client:
        assert (await client.get(stack.config.url("realtime") + "/healthz")).status_code == 200
