"""What a consumer's service reads off one delivery."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.delivery import Delivery, as_sent
from shared.events import TaskCreated, TaskSnapshot

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_an_event_as_sent_is_the_producers_json_or_else_the_model_dumped() -> None:
    task = TaskSnapshot(id="t1", list_id="l1", title="x", created_at=NOW, updated_at=NOW)
    event = TaskCreated(user_id="u1", list_id="l1", task_id="t1", task=task)
    sent = event.model_dump(mode="json") | {"extra": "kept as written"}
    delivery = Delivery("c1", "task-events", "pubsub", {"data": sent})
    assert as_sent(event, delivery) is sent
    # Data Dapr did not decode (a string) or none at all: the validated event.
    for envelope in ({"data": "text"}, {}):
        delivery = Delivery("c1", "task-events", "pubsub", envelope)
        assert as_sent(event, delivery) == event.model_dump(mode="json")
