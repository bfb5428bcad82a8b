"""Smoke test of a running taskwave (a cluster's ingress, or `make up`): register, log in,
open the WebSocket, create a task and see it arrive live, complete it and see that too,
then find both events in the audit log, and delete the task again. Exit status 0 when
all of it worked.

Against a shared environment (staging, production) it signs in as one dedicated smoke
account, SMOKE_USERNAME / SMOKE_PASSWORD (registered on first use), so a deploy leaves
no new user behind, and it deletes its task even when a check fails. Without them
(minikube, `make up`) it registers a throw-away user.

  python scripts/smoke.py --base-url http://$(minikube ip)
  python scripts/smoke.py --base-url http://127.0.0.1:8000 --ws-url ws://127.0.0.1:8004/ws

Standard library plus `websockets` (scripts/smoke-requirements.txt).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

API = "/api/v1"


class SmokeError(Exception):
    pass


def say(message: str) -> None:
    print(f"[smoke] {message}", flush=True)


def call(
    base: str, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{API}{path}", data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, raw.decode(errors="replace")


def expect(status: int, wanted: int, what: str, body: Any) -> None:
    if status != wanted:
        raise SmokeError(f"{what}: HTTP {status} (wanted {wanted}): {body}")


async def wait_for_ws(
    ws: Any,
    task_id: str,
    event_type: str,
    timeout: float,  # noqa: ASYNC109 - its end is a SmokeError naming what did not arrive
) -> float:
    """Seconds until a WebSocket message about `task_id` of `event_type` arrives."""
    started = time.monotonic()
    deadline = started + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            raw = await asyncio.wait_for(ws.recv(), timeout=left)
        except TimeoutError:
            break
        text = raw if isinstance(raw, str) else raw.decode()
        if task_id in text and event_type in text:
            return time.monotonic() - started
    raise SmokeError(f"no {event_type} for task {task_id} on the WebSocket within {timeout:.0f} s")


def sign_in(base: str, user: str | None, password: str | None) -> tuple[str, str]:
    """(username, token): the dedicated account when given (registered on first use),
    else a new throw-away user."""
    if not (user and password):
        user, password = f"smoke-{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    credentials = {"username": user, "password": password}
    status, body = call(base, "POST", "/auth/token", credentials)
    if status == 401:
        status, body = call(base, "POST", "/auth/register", credentials)
        expect(status, 201, "register", body)
        say(f"registered {user}")
        status, body = call(base, "POST", "/auth/token", credentials)
    expect(status, 200, "token", body)
    return user, body["access_token"]


async def run(args: argparse.Namespace) -> None:
    base = args.base_url.rstrip("/")
    user, token = sign_in(base, args.username, args.password)
    say(f"logged in as {user}")
    created: list[str] = []
    try:
        await check(args, base, token, created)
    finally:
        # Leave nothing behind in a shared environment (the account stays, for reuse).
        for task_id in created:
            status, body = call(base, "DELETE", f"/tasks/{task_id}", token=token)
            if status not in (204, 404):
                say(f"could not delete task {task_id}: HTTP {status} {body}")
            else:
                say(f"deleted task {task_id}")


async def check(args: argparse.Namespace, base: str, token: str, created: list[str]) -> None:
    import websockets

    ws_url = args.ws_url
    if not ws_url:
        # todo-api's /config names the WebSocket, relative to the page or absolute.
        status, config = call(base, "GET", "/config", token=token)
        configured = config.get("websocket_url", "/ws") if status == 200 else "/ws"
        ws_base = base.replace("http", "ws", 1)
        ws_url = configured if "://" in configured else ws_base + configured
    async with websockets.connect(ws_url, open_timeout=15) as ws:
        # The token goes in the first frame, never in the URL (access logs keep URLs).
        await ws.send(json.dumps({"type": "auth", "token": token}))
        say(f"WebSocket open: {ws_url}")
        due = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        status, task = call(
            base,
            "POST",
            "/tasks",
            {"title": "smoke test", "due_at": due, "reminders": [{"before": "PT15M"}]},
            token,
        )
        expect(status, 201, "create task", task)
        task_id = task["id"]
        created.append(task_id)
        seconds = await wait_for_ws(ws, task_id, "task.created", args.ws_timeout)
        say(f"created {task_id}; the WebSocket had it after {seconds:.2f} s")

        status, body = call(base, "POST", f"/tasks/{task_id}/complete", {}, token)
        expect(status, 200, "complete task", body)
        seconds = await wait_for_ws(ws, task_id, "task.completed", args.ws_timeout)
        say(f"completed; the WebSocket had it after {seconds:.2f} s")

    status, body = call(base, "GET", f"/tasks/{task_id}", token=token)
    expect(status, 200, "get task", body)
    if body.get("status") != "completed":
        raise SmokeError(f"task status is {body.get('status')!r} after completing it")

    # audit may be scaled to zero: KEDA starts it on the lag these events created.
    started = time.monotonic()
    while True:
        status, body = call(base, "GET", f"/audit?task_id={task_id}", token=token)
        text = json.dumps(body) if status == 200 else ""
        if "task.created" in text and "task.completed" in text:
            say(f"audit has both events after {time.monotonic() - started:.1f} s")
            break
        if time.monotonic() - started > args.audit_timeout:
            raise SmokeError(f"audit log of {task_id} after {args.audit_timeout} s: {body}")
        await asyncio.sleep(3)
    say("OK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="where todo-api answers (the ingress)")
    parser.add_argument("--ws-url", help="the WebSocket URL (default: from /config, or /ws)")
    parser.add_argument("--ws-timeout", type=float, default=60)
    parser.add_argument("--audit-timeout", type=float, default=180)
    parser.add_argument(
        "--username", default=os.environ.get("SMOKE_USERNAME"), help="dedicated smoke account"
    )
    parser.add_argument("--password", default=os.environ.get("SMOKE_PASSWORD"))
    args = parser.parse_args()
    try:
        asyncio.run(run(args))
    except (SmokeError, OSError) as err:
        print(f"[smoke] FAILED: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
