"""Issue 19 point 2 on the real stack: todo-api keeps serving reads and writes while
audit, recurring, reminders and realtime are all down; what needs them says so
politely (503 with the error envelope, which the history page shows as its polite
"unavailable" state: tests/browser/test_history_ui.py); their work catches up when
they return.
(A sidecar restarting under its app -> /readyz 503 then 200, without an app restart,
is checked for every function in tests/chaos/.)"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from shared.internal_api import occurrence_id
from stack.services import Stack
from tests.integration.faults import (
    Ack,
    api_client,
    is_envelope,
    open_sockets,
    register,
    settle,
)

pytestmark = pytest.mark.integration

OTHERS = ("recurring", "reminders", "audit", "realtime")


async def test_todo_api_serves_while_every_other_function_is_down(stack: Stack) -> None:
    async with api_client(stack) as client:
        ann = await register(client, "dg")
        h = ann.headers
        for fn in OTHERS:
            await asyncio.to_thread(stack.stop_function, fn)
        down_at = time.monotonic()
        acks: list[Ack] = []
        try:
            ready = await client.get(stack.config.url("todo-api") + "/readyz")
            assert ready.status_code == 200, ready.text

            due = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0).isoformat()
            daily = {"frequency": "daily", "interval": 1}
            made = await client.post(
                "/tasks",
                json={"title": "water plants", "due_at": due, "recurrence": daily},
                headers=h,
            )
            assert made.status_code == 201, made.text
            task = made.json()
            acks.append(Ack(ann.id, (task["id"], 1, "task.created"), task, 0, 0))
            renamed = await client.patch(
                f"/tasks/{task['id']}", json={"title": "water the plants"}, headers=h
            )
            assert renamed.status_code == 200, renamed.text
            acks.append(Ack(ann.id, (task["id"], 2, "task.updated"), renamed.json(), 0, 0))
            done = await client.post(f"/tasks/{task['id']}/complete", headers=h)
            assert done.status_code == 200, done.text
            acks.append(Ack(ann.id, (task["id"], 3, "task.completed"), done.json(), 0, 0))
            assert (await client.get(f"/tasks/{task['id']}", headers=h)).status_code == 200
            found = await client.get("/tasks", params={"q": "plants"}, headers=h)
            assert found.status_code == 200, found.text
            assert found.json()["items"], found.text
            chat = await client.post("/chat", json={"message": "add buy milk tomorrow"}, headers=h)
            assert chat.status_code == 200, chat.text

            # What needs a function that is away says so, in the envelope, quickly.
            for path, what in (("/audit", "audit log"), ("/notifications", "notification list")):
                began = time.perf_counter()
                resp = await client.get(path, headers=h)
                took = time.perf_counter() - began
                body = resp.json()
                print(
                    f"\nGET {path} while its function is down: {resp.status_code} {body} "
                    f"in {took * 1000:.0f} ms"
                )
                assert resp.status_code == 503, body
                assert is_envelope(body), body
                assert what in body["error"]["message"]
                assert "unavailable" in body["error"]["message"]
                assert took < 10, "a refusal should not keep the page waiting"
        finally:
            for fn in OTHERS:
                await asyncio.to_thread(stack.start_function, fn)
            for fn in OTHERS:
                await asyncio.to_thread(stack.wait_function, fn)
        back = time.monotonic()

        # Their work catches up: audit holds each event once, the next occurrence exists.
        nxt = occurrence_id(task["series_id"] or task["id"], 2)
        verdict = await settle(client, [ann], acks, timeout=120, occurrences={nxt})
        print(
            f"every other function down {back - down_at:.1f} s; caught up "
            f"{verdict.caught_up_s} s after they were back: {verdict.summary()}"
        )
        assert verdict.ok, verdict
        assert (await client.get(f"/tasks/{nxt}", headers=h)).status_code == 200
        # And realtime serves sockets again.
        sockets = await open_sockets(stack, client, [ann])
        await sockets[0].close()
