from __future__ import annotations

from starlette.routing import Route

from functions.realtime.hub import Hub
from shared.events import Event
from shared.web.pubsub import Delivery, Outcome, event_endpoint

NAME = "realtime"


def routes(hub: Hub) -> list[Route]:
    async def on_event(event: Event, delivery: Delivery) -> Outcome:
        hub.publish(
            event.user_id, {"topic": delivery.topic, "event": event.model_dump(mode="json")}
        )
        return Outcome.SUCCESS

    endpoint = event_endpoint(NAME, on_event)
    return [
        # Routes named by dapr/subscriptions/realtime.yaml.
        Route("/events/task-updates", endpoint, methods=["POST"]),
        Route("/events/reminders", endpoint, methods=["POST"]),
    ]
