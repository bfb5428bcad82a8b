"""The WebSocket at /ws: authenticate, resume, then stream the user's changes.

Protocol (JSON text frames):
  client → {"type": "auth", "token": "...", "after": <seq>|null}   (the first frame: never
           in the URL, which proxies and access logs keep; a client that sent
           `Authorization: Bearer` on the handshake may leave `token` out)
  server → {"type": "hello", "user_id", "seq": <latest known>|null}
           {"type": "event", "seq", "topic", "event": {...}}      (in seq order)
           {"type": "resync", "reason"}   — missed events are not all known here: reload
           {"type": "ping", "at"}         — heartbeat
Close codes: 4401 bad or missing token, or (later) expired or signed out, 4408 no auth
in time, 1013 the token cannot be checked now (try again later), 4409 too slow
(resync), 1009 a message above the size limit (before or after
auth), 4429 too many sockets for the user. Too many sockets from one address are refused
at the handshake (403).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Gauge
from starlette.websockets import WebSocket, WebSocketDisconnect

from functions.realtime.hub import Connection, Hub
from shared.tokens import BadToken
from shared.web.auth import BearerTokens, SignedIn, Unavailable
from shared.web.edge import client_address
from shared.web.metrics import REFUSED

log = logging.getLogger(__name__)

CONNECTIONS = Gauge("taskwave_websocket_connections", "Open WebSocket connections.")

BAD_TOKEN, AUTH_TIMEOUT, TOO_SLOW, TOO_MANY = 4401, 4408, 4409, 4429
TOO_BIG, TRY_LATER = 1009, 1013  # RFC 6455: message too big; try again later


class MessageTooBig(Exception):
    pass


@dataclass
class SocketLimits:
    """Caps on what one client can hold open or send (per replica)."""

    max_message_bytes: int
    per_address: int
    per_user: int
    _open: Counter[str] = field(default_factory=Counter)

    def admit(self, address: str) -> bool:
        if self._open[address] >= self.per_address:
            return False
        self._open[address] += 1
        return True

    def release(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]


async def _receive(ws: WebSocket, limit: int) -> str | bytes:
    """The next client message, refused above `limit` bytes (uvicorn refuses it first
    when it runs the socket: ws_max_size)."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    data: str | bytes = message.get("text") or message.get("bytes") or b""
    if len(data) > limit or (isinstance(data, str) and len(data.encode()) > limit):
        raise MessageTooBig()
    return data


def _after(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# Whether a token still holds: True / False, or None when that cannot be known now
# (todo-api unreachable: the socket stays open until the next check).
SessionCheck = Callable[[str], Awaitable[bool | None]]


async def _credentials(ws: WebSocket, limit: int) -> tuple[str, int | None]:
    first = json.loads(await _receive(ws, limit))
    if not isinstance(first, dict) or first.get("type") != "auth":
        raise BadToken("the first message must be {type: auth}")
    return str(first.get("token", "")), _after(first.get("after"))


@dataclass(frozen=True)
class SocketServer:
    """Serves /ws: what every socket shares (made once, at startup)."""

    hub: Hub
    sessions: BearerTokens[str]
    limits: SocketLimits
    heartbeat_s: float
    auth_timeout_s: float
    check: SessionCheck | None = None
    recheck_s: float = 30.0

    async def serve(self, ws: WebSocket) -> None:
        address = client_address(ws)
        if not self.limits.admit(address):
            REFUSED.labels("realtime", "ws_sockets").inc()
            await ws.close(TOO_MANY)  # before accepting: the handshake gets 403
            return
        try:
            await _serve(ws, self)
        finally:
            self.limits.release(address)


async def _serve(ws: WebSocket, server: SocketServer) -> None:
    hub, sessions, limits = server.hub, server.sessions, server.limits
    await ws.accept()
    try:
        async with asyncio.timeout(server.auth_timeout_s):  # the first frame, not the check
            token, after = await _credentials(ws, limits.max_message_bytes)
        # The first frame's token, through the same backend as a handshake header's
        # (which the edge already checked: ws.user).
        user = await sessions.sign_in(ws, token) if token else ws.scope.get("user")
        if not isinstance(user, SignedIn):
            raise BadToken("invalid, expired, signed-out or missing token")
        user_id, claims = str(user.principal), user.claims
    except TimeoutError:
        await ws.close(AUTH_TIMEOUT, "authenticate within the time limit")
        return
    except MessageTooBig:
        REFUSED.labels("realtime", "ws_too_big").inc()
        await ws.close(TOO_BIG, "message too big")
        return
    except Unavailable as exc:
        log.warning("websocket token not checked now: %s", exc)
        await ws.close(TRY_LATER, "try again shortly")
        return
    except (BadToken, ValueError, WebSocketDisconnect) as exc:
        with contextlib.suppress(RuntimeError):
            await ws.close(BAD_TOKEN, "invalid or missing token")
        log.info("websocket refused: %s", exc)
        return
    if hub.devices(user_id) >= limits.per_user:
        REFUSED.labels("realtime", "ws_sockets").inc()
        await ws.close(TOO_MANY, "too many open sockets for this user")
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
                sent = {f.seq for f in missed if f.seq is not None}
                for frame in missed:
                    await ws.send_text(frame.text)
                # Anything queued meanwhile that the backlog already covered goes once.
                conn.skip = sent
        session = _Session(user.token, claims.expires_at, server.check, server.recheck_s)
        await _pump(ws, conn, server.heartbeat_s, limits.max_message_bytes, session)
    except WebSocketDisconnect:
        pass
    finally:
        hub.disconnect(conn)
        CONNECTIONS.dec()


@dataclass
class _Session:
    """The socket's token: it closes when the token expires or is signed out."""

    token: str
    expires_at: datetime
    check: SessionCheck | None
    recheck_s: float
    next_check: float = 0.0

    def __post_init__(self) -> None:
        self.next_check = time.monotonic() + self.recheck_s

    def wait(self, heartbeat_s: float) -> float:
        """How long the pump may wait before it must look at the session again."""
        left = (self.expires_at - datetime.now(UTC)).total_seconds()
        until_check = self.next_check - time.monotonic() if self.check else heartbeat_s
        return max(0.0, min(heartbeat_s, left, until_check))

    async def ended(self) -> str | None:
        """Why the socket must close now, or None."""
        if datetime.now(UTC) >= self.expires_at:
            return "token expired"
        if self.check is not None and time.monotonic() >= self.next_check:
            self.next_check = time.monotonic() + self.recheck_s
            try:
                valid = await asyncio.wait_for(self.check(self.token), self.recheck_s)
            except Exception as exc:  # unknown now: asked again at the next check
                log.warning("could not re-check a socket's token: %s", exc)
                valid = None
            if valid is False:
                return "signed out"
        return None


async def _pump(
    ws: WebSocket, conn: Connection, heartbeat_s: float, limit: int, session: _Session
) -> None:
    receiver = asyncio.create_task(_drain_client(ws, limit))
    last_sent = time.monotonic()
    try:
        while True:
            if conn.overflowed:
                await ws.send_json({"type": "resync", "reason": "too slow"})
                await ws.close(TOO_SLOW, "too slow; resync")
                return
            if reason := await session.ended():
                await ws.close(BAD_TOKEN, reason)
                return
            getter = asyncio.create_task(conn.queue.get())
            done, _ = await asyncio.wait(
                {getter, receiver},
                timeout=session.wait(max(0.0, heartbeat_s - (time.monotonic() - last_sent))),
                return_when=asyncio.FIRST_COMPLETED,
            )
            if receiver in done:
                getter.cancel()
                if isinstance(receiver.exception(), MessageTooBig):
                    REFUSED.labels("realtime", "ws_too_big").inc()
                    await ws.close(TOO_BIG, "message too big")
                return
            if getter not in done:
                getter.cancel()
                if time.monotonic() - last_sent >= heartbeat_s:
                    await ws.send_json({"type": "ping", "at": datetime.now(UTC).isoformat()})
                    last_sent = time.monotonic()
                continue
            frame = getter.result()
            if frame.seq not in conn.skip:
                await ws.send_text(frame.text)  # encoded once for every device
                last_sent = time.monotonic()
    finally:
        receiver.cancel()


async def _drain_client(ws: WebSocket, limit: int) -> None:
    """Reads (and ignores) client frames so a disconnect is noticed promptly."""
    try:
        while True:
            await _receive(ws, limit)
    except WebSocketDisconnect:
        return
