from __future__ import annotations

from starlette.routing import Route

from functions.recurring.service import Recurrer
from shared.events import Event, TaskCompleted
from shared.web.pubsub import DeadLetters, Delivery, event_endpoint

NAME = "recurring"


def routes(recurrer: Recurrer, dead_letters: DeadLetters) -> list[Route]:
    async def on_event(event: Event, _: Delivery) -> None:
        if not isinstance(event, TaskCompleted) or not event.primary:
            return  # other members' feed copies: one is enough
        # The completion's own time, not the clock: a replay computes the same date.
        await recurrer.on_completed(event, event.occurred_at)

    # The route dapr/subscriptions/recurring.yaml names: its rule lets only completions
    # of repeating tasks through, so recurring dead-letters what it DROPs itself. A
    # redelivered completion finds the next occurrence made (its id is deterministic).
    endpoint = event_endpoint(NAME, on_event, dead_letters)
    return [Route("/events/task-events", endpoint, methods=["POST"])]
