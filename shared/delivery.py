"""One delivery of an event as a consumer's service sees it, and the errors by which the
service says what should become of an event it could not handle. No transport here:
shared/web/pubsub.py turns a return into SUCCESS and these errors into RETRY or DROP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.events import Event

DLQ_SUFFIX = "-dlq"  # shared.topics.dead_letter's naming


@dataclass(frozen=True)
class Delivery:
    """What Dapr tells us about one delivery, besides the event itself."""

    cloudevent_id: str
    topic: str
    pubsub: str
    envelope: dict[str, Any]
    # Where Kafka stored it (Dapr passes them as `__partition` / `__offset` headers):
    # the same numbers on every consumer, so they can order and resume streams.
    partition: int | None = None
    offset: int | None = None

    @property
    def failed_on(self) -> str:
        """The topic the event was first delivered on (a dead letter names its own)."""
        return self.topic.removesuffix(DLQ_SUFFIX)


def as_sent(event: Event, delivery: Delivery) -> dict[str, Any]:
    """The event as its producer wrote it (it validated as `event`), rather than dumped
    again from the model: the same JSON, without the cost per event."""
    data = delivery.envelope.get("data")
    return data if isinstance(data, dict) else event.model_dump(mode="json")


class Retryable(Exception):
    """Not now: the same event later may well succeed (a dependency is away, or refused
    for the moment). The event is delivered again."""


class Unprocessable(Exception):
    """Never: no redelivery can make this event work (it names something impossible, or
    a dependency refuses it for good). The event goes to the dead-letter topic."""
