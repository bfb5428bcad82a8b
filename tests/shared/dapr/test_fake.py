"""The in-memory fake keeps the Dapr contract our code relies on."""

from __future__ import annotations

import pytest

from shared.dapr import EtagMismatch, StateOp
from shared.dapr.fake import FakeDapr


async def test_etags_make_writes_conditional() -> None:
    store = FakeDapr().state("s")
    await store.save("k", {"v": 1})
    item = await store.get("k")
    assert item is not None and item.etag
    await store.save("k", {"v": 2}, etag=item.etag)
    with pytest.raises(EtagMismatch):
        await store.save("k", {"v": 3}, etag=item.etag)
    again = await store.get("k")
    assert again is not None and again.value == {"v": 2}


async def test_create_is_insert_only() -> None:
    store = FakeDapr().state("s")
    assert await store.create("k", 1) is True
    assert await store.create("k", 2) is False
    item = await store.get("k")
    assert item is not None and item.value == 1


async def test_transaction_is_all_or_nothing_and_feeds_the_outbox() -> None:
    dapr = FakeDapr(outbox={"tasks": "task-events"})
    store = dapr.state("tasks")
    await store.transact(
        [
            StateOp.upsert("a", {"n": 1}),
            StateOp("upsert", "a", {"event": 1}, metadata={"outbox.projection": "true"}),
        ]
    )
    assert dapr.publisher.on("task-events") == [{"event": 1}]
    with pytest.raises(EtagMismatch):
        await store.transact([StateOp.upsert("b", 1), StateOp.insert("a", {"n": 2})])
    assert await store.get("b") is None
    assert dapr.publisher.on("task-events") == [{"event": 1}]


async def test_query_filters_sorts_and_pages() -> None:
    store = FakeDapr().state("s")
    for i, owner in enumerate(["a", "b", "a", "a"]):
        await store.save(f"k{i}", {"owner": owner, "n": i})
    page, token = await store.query(
        {
            "filter": {"EQ": {"owner": "a"}},
            "sort": [{"key": "n", "order": "DESC"}],
            "page": {"limit": 2},
        }
    )
    assert [i.value["n"] for i in page] == [3, 2] and token
    rest, token = await store.query(
        {
            "filter": {"EQ": {"owner": "a"}},
            "sort": [{"key": "n", "order": "DESC"}],
            "page": {"limit": 2, "token": token},
        }
    )
    assert [i.value["n"] for i in rest] == [0] and token is None
