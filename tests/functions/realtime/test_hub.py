from __future__ import annotations

from typing import Any

from functions.realtime.hub import Hub


def msg(seq: int, partition: int = 0) -> dict[str, Any]:
    return {"type": "event", "seq": seq, "partition": partition, "event": {"n": seq}}


def test_fan_out_reaches_every_device_of_the_user_only() -> None:
    hub = Hub(queue_size=10)
    phone, laptop, other = hub.connect("u1"), hub.connect("u1"), hub.connect("u2")
    assert hub.publish("u1", msg(1)) == 2
    assert phone.queue.get_nowait()["seq"] == 1 and laptop.queue.get_nowait()["seq"] == 1
    assert other.queue.empty()
    hub.disconnect(phone)
    assert hub.publish("u1", msg(2)) == 1 and hub.connections == 2


def test_a_slow_device_overflows_alone() -> None:
    hub = Hub(queue_size=2)
    slow, fast = hub.connect("u1"), hub.connect("u1")
    for n in range(3):
        hub.publish("u1", msg(n))
        if not fast.queue.empty():
            fast.queue.get_nowait()
    assert slow.overflowed and not fast.overflowed


def test_resume_returns_exactly_what_was_missed_in_order() -> None:
    hub = Hub(queue_size=10, retention=100)
    for seq in (10, 14, 15, 20):  # one user's offsets in a shared partition: gaps are fine
        hub.publish("u1", msg(seq))
    assert [m["seq"] for m in hub.since("u1", 14) or []] == [15, 20]
    assert hub.since("u1", 20) == []
    assert hub.latest("u1") == 20


def test_redelivered_messages_are_not_retained_or_sent_twice() -> None:
    hub = Hub(queue_size=10)
    conn = hub.connect("u1")
    hub.publish("u1", msg(5))
    assert hub.publish("u1", msg(5)) == 0
    assert conn.queue.qsize() == 1 and len(hub.since("u1", 4) or []) == 1


def test_unknown_history_means_resync() -> None:
    hub = Hub(queue_size=10, retention=3)
    for seq in range(100, 110):
        hub.publish("u1", msg(seq))
    assert hub.since("u1", 100) is None  # pruned: only the newest 3 are kept
    assert [m["seq"] for m in hub.since("u1", 106) or []] == [107, 108, 109]
    assert hub.since("u1", 50) is None  # before this replica's first offset
    assert hub.since("stranger", 0) is None


def test_a_second_copy_of_an_event_at_another_offset_is_not_sent_again() -> None:
    """The outbox publishes at least once: after a broker fault the same event may sit
    at two offsets of the user's partition."""
    hub = Hub(queue_size=10, retention=2)
    phone = hub.connect("u1")

    def event(seq: int, event_id: str) -> dict[str, Any]:
        return {"type": "event", "seq": seq, "partition": 0, "event": {"event_id": event_id}}

    assert hub.publish("u1", event(1, "a")) == 1
    assert hub.publish("u1", event(2, "b")) == 1
    assert hub.publish("u1", event(3, "a")) == 0  # the retry's copy of "a"
    assert [phone.queue.get_nowait()["seq"] for _ in range(2)] == [1, 2] and phone.queue.empty()
    assert [m["seq"] for m in hub.since("u1", 0) or []] == [1, 2]
    # Once "a" has left the retention window its id is forgotten with it.
    assert hub.publish("u1", event(4, "c")) == 1
    assert hub.publish("u1", event(5, "a")) == 1
