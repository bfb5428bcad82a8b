from __future__ import annotations

from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from functions.realtime.hub import Hub
from functions.realtime.settings import Settings
from functions.realtime.ws import SocketLimits, serve_socket
from shared.events import Event
from shared.tokens import Tokens
from shared.web.pubsub import Delivery, Outcome, event_endpoint

NAME = "realtime"


def routes(hub: Hub, tokens: Tokens, settings: Settings) -> list[BaseRoute]:
    limits = SocketLimits(
        max_message_bytes=settings.ws_max_message_bytes,
        per_address=settings.max_sockets_per_address,
        per_user=settings.max_sockets_per_user,
    )

    async def on_update(event: Event, delivery: Delivery) -> Outcome:
        # A shared list's change comes once per member, keyed by (and addressed to) them.
        hub.publish(
            event.recipient or event.user_id,
            {
                "type": "event",
                "seq": delivery.offset,
                "partition": delivery.partition,
                "topic": delivery.topic,
                "event": event.model_dump(mode="json"),
            },
        )
        return Outcome.SUCCESS

    async def socket(ws: WebSocket) -> None:
        await serve_socket(
            ws,
            hub,
            tokens,
            limits,
            heartbeat_s=settings.heartbeat_s,
            auth_timeout_s=settings.auth_timeout_s,
        )

    return [
        # Route named by dapr/subscriptions/realtime.yaml. task-updates is the one
        # client-facing feed (reminders publish their reminder.due there too), so a
        # user's stream lives in one partition and its offsets order it.
        Route("/events/task-updates", event_endpoint(NAME, on_update), methods=["POST"]),
        WebSocketRoute("/ws", socket),
    ]
