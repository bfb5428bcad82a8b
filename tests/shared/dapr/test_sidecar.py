"""What the sidecar client sends to daprd, checked on the wire (httpx's mock transport)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from shared.dapr.sidecar import SidecarPublisher, _Http

TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _publisher(seen: list[httpx.Request]) -> SidecarPublisher:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://dapr")
    return SidecarPublisher(_Http(client), "pubsub")


async def test_bulk_entries_carry_their_own_traceparent() -> None:
    seen: list[httpx.Request] = []
    await _publisher(seen).publish_many(
        "task-events", [({"a": 1}, "u1"), ({"a": 2}, "u2")], traceparents=[TP, ""]
    )
    (request,) = seen
    assert request.url.path == "/v1.0-alpha1/publish/bulk/pubsub/task-events"
    entries: list[dict[str, Any]] = json.loads(request.content)
    # Dapr's per-entry override of the CloudEvent's traceparent; none for "" (Dapr then
    # gives the entry a child of this request's span).
    assert entries[0]["metadata"] == {"partitionKey": "u1", "cloudevent.traceparent": TP}
    assert entries[1]["metadata"] == {"partitionKey": "u2"}


async def test_traceparents_must_match_the_messages() -> None:
    with pytest.raises(ValueError, match="1 traceparents for 2 messages"):
        await _publisher([]).publish_many("t", [({}, None), ({}, None)], traceparents=[TP])
