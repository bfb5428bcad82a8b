"""The WebSocket at /ws: authenticate, resume, then stream the user's changes.

Protocol (JSON text frames):
  client → {"type": "auth", "token": "...", "after": <seq>|null}   (or ?token=&after= in the URL)
  server → {"type": "hello", "user_id", "seq": <latest known>|null}
           {"type": "event", "seq", "topic", "event": {...}}      (in seq order)
           {"type": "resync", "reason"}   — missed events are not all known here: reload
           {"type": "ping", "at"}         — heartbeat
Close codes: 4401 bad or missing token, 4408 no auth in time, 4409 too slow (resync).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Gauge
from starlette.websockets import WebSocket, WebSocketDisconnect

from functions.realtime.hub import Connection, Hub
from shared.tokens import BadToken, Tokens

log = logging.getLogger(__name__)

CONNECTIONS = Gauge("taskwave_websocket_connections", "Open WebSocket connections.")

BAD_TOKEN, AUTH_TIMEOUT, TOO_SLOW = 4401, 4408, 4409


def _after(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


async def _credentials(ws: WebSocket, timeout: float) -> tuple[str, int | None]:
    token = ws.query_params.get("token")
    after = _after(ws.query_params.get("after"))
    if token:
        return token, after
    first = json.loads(await asyncio.wait_for(ws.receive_text(), timeout))
    if not isinstance(first, dict) or first.get("type") != "auth":
        raise BadToken("the first message must be {type: auth}")
    return str(first.get("token", "")), _after(first.get("after"))


async def serve_socket(
    ws: WebSocket, hub: Hub, tokens: Tokens, *, heartbeat_s: float, auth_timeout_s: float
) -> None:
    await ws.accept()
    try:
        token, after = await _credentials(ws, auth_timeout_s)
        user_id = await tokens.verify(token)
    except TimeoutError:
        await ws.close(AUTH_TIMEOUT, "authenticate within the time limit")
        return
    except (BadToken, ValueError, WebSocketDisconnect) as exc:
        with contextlib.suppress(RuntimeError):
            await ws.close(BAD_TOKEN, "invalid or missing token")
        log.info("websocket refused: %s", exc)
        return

    conn = hub.connect(user_id)  # before the backlog: nothing falls in between
    CONNECTIONS.inc()
    try:
        await ws.send_json({"type": "hello", "user_id": user_id, "seq": hub.latest(user_id)})
        if after is not None:
            missed = hub.since(user_id, after)
            if missed is None:
                await ws.send_json({"type": "resync", "reason": "history not available"})
            else:
                sent = {m["seq"] for m in missed}
                for message in missed:
                    await ws.send_json(message)
                # Anything queued meanwhile that the backlog already covered goes once.
                conn.skip = sent
        await _pump(ws, conn, heartbeat_s)
    except WebSocketDisconnect:
        pass
    finally:
        hub.disconnect(conn)
        CONNECTIONS.dec()


async def _pump(ws: WebSocket, conn: Connection, heartbeat_s: float) -> None:
    receiver = asyncio.create_task(_drain_client(ws))
    try:
        while True:
            if conn.overflowed:
                await ws.send_json({"type": "resync", "reason": "too slow"})
                await ws.close(TOO_SLOW, "too slow; resync")
                return
            getter = asyncio.create_task(conn.queue.get())
            done, _ = await asyncio.wait(
                {getter, receiver}, timeout=heartbeat_s, return_when=asyncio.FIRST_COMPLETED
            )
            if receiver in done:
                getter.cancel()
                return
            if getter not in done:
                getter.cancel()
                await ws.send_json({"type": "ping", "at": datetime.now(UTC).isoformat()})
                continue
            message = getter.result()
            if message.get("seq") not in conn.skip:
                await ws.send_json(message)
    finally:
        receiver.cancel()


async def _drain_client(ws: WebSocket) -> None:
    """Reads (and ignores) client frames so a disconnect is noticed promptly."""
    while True:
        msg = await ws.receive()
        if msg["type"] == "websocket.disconnect":
            return
