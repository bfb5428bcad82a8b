"""Unit tests build todo-api over the in-memory fakes without running its lifespan,
so nothing relays the outbox in the background: tests relay it when they look."""

from __future__ import annotations

import asyncio

from starlette.testclient import TestClient

from functions.todo_api.outbox import Outbox


def relay(client: TestClient) -> None:
    """Publish everything committed so far, as the relay would right after the commit."""
    outbox: Outbox = client.app.state.outbox  # type: ignore[attr-defined]
    asyncio.run(outbox.drain())
