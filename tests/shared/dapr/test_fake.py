"""The in-memory fake keeps the Dapr contract our code relies on."""

from __future__ import annotations

import pytest

from shared.dapr import EtagMismatch, Refused, StateOp
from shared.dapr.fake import FakeDapr


async def test_etags_make_writes_conditional() -> None:
    store = FakeDapr().state("s")
    await store.save("k", {"v": 1})
    item = await store.get("k")
    assert item is not None
    assert item.etag
    await store.save("k", {"v": 2}, etag=item.etag)
    with pytest.raises(EtagMismatch):
        await store.save("k", {"v": 3}, etag=item.etag)
    again = await store.get("k")
    assert again is not None
    assert again.value == {"v": 2}


async def test_create_is_insert_only() -> None:
    store = FakeDapr().state("s")
    assert await store.create("k", 1) is True
    assert await store.create("k", 2) is False
    item = await store.get("k")
    assert item is not None
    assert item.value == 1


async def test_transaction_is_all_or_nothing() -> None:
    store = FakeDapr().state("tasks")
    await store.transact([StateOp.upsert("a", {"n": 1}), StateOp.insert("c", 3)])
    with pytest.raises(EtagMismatch):
        await store.transact([StateOp.upsert("b", 1), StateOp.insert("a", {"n": 2})])
    assert await store.get("b") is None
    item = await store.get("a")
    assert item is not None
    assert item.value == {"n": 1}


async def test_a_failing_publisher_publishes_nothing() -> None:
    dapr = FakeDapr()
    dapr.publisher.failing = RuntimeError("broker away")
    with pytest.raises(RuntimeError):
        await dapr.publisher.publish_many("t", [({"a": 1}, "k")])
    dapr.publisher.failing = None
    await dapr.publisher.publish_many("t", [({"a": 1}, "k")])
    assert dapr.publisher.on("t") == [{"a": 1}]


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
    assert [i.value["n"] for i in page] == [3, 2]
    assert token
    rest, token = await store.query(
        {
            "filter": {"EQ": {"owner": "a"}},
            "sort": [{"key": "n", "order": "DESC"}],
            "page": {"limit": 2, "token": token},
        }
    )
    assert [i.value["n"] for i in rest] == [0]
    assert token is None


async def test_text_postgresql_cannot_hold_is_refused_and_writes_nothing() -> None:
    store = FakeDapr().state("kv")
    with pytest.raises(Refused):
        await store.transact([StateOp.insert("a", {"t": "ok"}), StateOp.insert("b", ["a\x00"])])
    for write in (store.save("c", {"t": "\x00"}), store.create("d", {"\x00": 1})):
        with pytest.raises(Refused):
            await write
    assert store.rows == {}
    await store.save("e", {"t": "lone \ud800 surrogate"})  # daprd stores it as U+FFFD
    assert list(store.rows) == ["e"]
