"""The chat's memory store: one row per conversation of one user, read back as saved."""

from __future__ import annotations

from functions.todo_api.chat.conversation import Memory
from functions.todo_api.chat.memory_store import ConversationStore
from shared.dapr.fake import FakeDapr


async def test_memory_round_trips_per_user_and_conversation() -> None:
    kv = FakeDapr().state("kv")
    store = ConversationStore(kv)
    assert await store.load("ann", "c1") == Memory()
    kept = Memory(last=["t1", "t2"], focus="t1", list_focus="L")
    await store.save("ann", "c1", kept)
    assert await store.load("ann", "c1") == kept
    # Another user naming the same conversation id reads nothing of ann's.
    assert await store.load("bob", "c1") == Memory()
    assert await store.load("ann", "c2") == Memory()
    assert len(kv.rows) == 1


async def test_a_row_of_an_older_shape_loads_what_it_can() -> None:
    kv = FakeDapr().state("kv")
    store = ConversationStore(kv)
    await store.save("ann", "c1", Memory(focus="t9"))
    ((key, (value, _)),) = kv.rows.items()
    await kv.save(key, {"focus": value["focus"], "gone_field": 1})
    assert await store.load("ann", "c1") == Memory(focus="t9")
