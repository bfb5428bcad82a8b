"""Unit tests build apps as a deployed function runs: with the app API token set
(APP_API_TOKEN, which the Dapr sidecar sends as `dapr-api-token`). tests/conftest.py
imports this first, so every Settings() sees it; a token from the shell is kept."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

APP_TOKEN = os.environ.setdefault("APP_API_TOKEN", "unit-tests-app-api-token")
# Headers of a call that came through the sidecar.
FROM_SIDECAR = {"dapr-api-token": APP_TOKEN}


def bulk_delivery(
    *cloudevents: dict[str, Any],
    topic: str = "task-events",
    offsets: Sequence[int] | None = None,
    partition: int = 0,
    raw: bool = False,
) -> dict[str, Any]:
    """What daprd POSTs to a bulk subscription's route: one entry per Kafka message of
    one partition, each with where Kafka stored it (offsets 0, 1, ... unless given).
    `raw`: for a subscription with rawPayload, each message as stored, base64."""
    where = list(offsets) if offsets is not None else list(range(len(cloudevents)))
    assert len(where) == len(cloudevents)
    return {
        "id": "bulk-1",
        "type": "com.dapr.event.sent.bulk",
        "topic": topic,
        "pubsubname": "pubsub",
        "entries": [
            {
                "entryId": str(i),
                "event": base64.b64encode(json.dumps(ce).encode()).decode() if raw else ce,
                "contentType": "application/octet-stream"
                if raw
                else "application/cloudevents+json",
                "metadata": {"__partition": str(partition), "__offset": str(offset)},
            }
            for i, (ce, offset) in enumerate(zip(cloudevents, where, strict=True))
        ],
    }


def cloudevent(
    data: BaseModel | dict[str, Any] | Any, topic: str = "task-events", ce_id: str | None = None
) -> dict[str, Any]:
    """The CloudEvent daprd POSTs for one message: Dapr's envelope around our event."""
    return {
        "specversion": "1.0",
        "id": ce_id or str(uuid.uuid4()),
        "source": "todo-api",
        "type": "com.dapr.event.sent",
        "datacontenttype": "application/json",
        "topic": topic,
        "pubsubname": "pubsub",
        "data": data.model_dump(mode="json") if isinstance(data, BaseModel) else data,
    }
