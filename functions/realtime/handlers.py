from __future__ import annotations

import logging

from starlette.routing import BaseRoute, Route, WebSocketRoute

from functions.realtime.hub import Hub
from functions.realtime.settings import Settings
from functions.realtime.ws import SessionCheck, SocketLimits, SocketServer
from shared.dapr import DaprError, Invoker
from shared.delivery import as_sent
from shared.events import Event
from shared.tokens import BadToken, Claims, Tokens
from shared.web.auth import BearerTokens
from shared.web.pubsub import DeadLetters, Delivery, bulk_event_endpoint

NAME = "realtime"
SESSION_CHECK = "internal/v1/sessions/check"
log = logging.getLogger(__name__)


def session_check(invoker: Invoker, settings: Settings) -> SessionCheck:
    async def still_valid(token: str) -> bool | None:
        """todo-api knows sign-outs (the token version and ids in the user row)."""
        try:
            resp = await invoker.invoke(
                settings.todo_api_app_id, SESSION_CHECK, json={"token": token}
            )
        except DaprError as exc:
            log.warning("todo-api unreachable for a token check: %s", exc)
            return None
        if resp.status != 200 or not isinstance(resp.body, dict):
            return None
        return bool(resp.body.get("valid"))

    return still_valid


def sessions(tokens: Tokens, check: SessionCheck | None) -> BearerTokens[str]:
    """Who a token stands for (their user id): signed by a published key, unexpired, and
    not signed out as far as todo-api can tell now."""

    async def resolve(token: str) -> tuple[str, Claims] | None:
        try:
            claims = await tokens.claims(token)
        except BadToken:
            return None
        if check is not None and await check(token) is False:
            return None
        return claims.user_id, claims

    return BearerTokens(resolve)


def routes(
    hub: Hub,
    authenticated: BearerTokens[str],
    settings: Settings,
    dead_letters: DeadLetters,
    check: SessionCheck | None = None,
) -> list[BaseRoute]:
    limits = SocketLimits(
        max_message_bytes=settings.ws_max_message_bytes,
        per_address=settings.max_sockets_per_address,
        per_user=settings.max_sockets_per_user,
    )

    async def on_updates(received: list[tuple[Event, Delivery]]) -> None:
        # One partition's messages in offset order (Dapr batches per partition claim):
        # published in that order, so each user's stream stays ordered by its seq. Never
        # fails part-way but through a bug; then the batch is redelivered whole and the
        # hub skips the seqs it already has.
        for event, delivery in received:
            # A shared list's change comes once per member, keyed by (and addressed to) them.
            hub.publish(
                event.recipient or event.user_id,
                {
                    "type": "event",
                    "seq": delivery.offset,
                    "partition": delivery.partition,
                    "topic": delivery.topic,
                    "event": as_sent(event, delivery),
                },
            )

    sockets = SocketServer(
        hub,
        authenticated,
        limits,
        heartbeat_s=settings.heartbeat_s,
        auth_timeout_s=settings.auth_timeout_s,
        check=check,
        recheck_s=settings.token_recheck_s,
    )

    return [
        # Route named by dapr/subscriptions/realtime.yaml, a bulk subscription: one
        # request per partition's batch instead of one per event. task-updates is the one
        # client-facing feed (reminders publish their reminder.due there too), so a
        # user's stream lives in one partition and its offsets order it. What does not
        # validate is dead-lettered here (to task-updates-dlq, which audit keeps).
        Route(
            "/events/task-updates",
            # No batch span: publishing to the hub does no I/O, so the delivery's own
            # span stands for the batch.
            bulk_event_endpoint(NAME, on_updates, dead_letters.keep, batch_span=False),
            methods=["POST"],
        ),
        WebSocketRoute("/ws", sockets.serve),
    ]
