from __future__ import annotations

import json
from typing import Any

from functions.realtime.hub import Hub, Retention


def msg(seq: int, partition: int = 0) -> dict[str, Any]:
    return {"type": "event", "seq": seq, "partition": partition, "event": {"n": seq}}


def test_fan_out_reaches_every_device_of_the_user_only() -> None:
    hub = Hub(queue_size=10)
    phone, laptop, other = hub.connect("u1"), hub.connect("u1"), hub.connect("u2")
    assert hub.publish("u1", msg(1)) == 2
    assert phone.queue.get_nowait().seq == 1
    assert laptop.queue.get_nowait().seq == 1
    assert other.queue.empty()
    hub.disconnect(phone)
    assert hub.publish("u1", msg(2)) == 1
    assert hub.connections == 2


def test_a_slow_device_overflows_alone() -> None:
    hub = Hub(queue_size=2)
    slow, fast = hub.connect("u1"), hub.connect("u1")
    for n in range(3):
        hub.publish("u1", msg(n))
        if not fast.queue.empty():
            fast.queue.get_nowait()
    assert slow.overflowed
    assert not fast.overflowed


def test_resume_returns_exactly_what_was_missed_in_order() -> None:
    hub = Hub(queue_size=10, retention=100)
    for seq in (10, 14, 15, 20):  # one user's offsets in a shared partition: gaps are fine
        hub.publish("u1", msg(seq))
    assert [m.seq for m in hub.since("u1", 14) or []] == [15, 20]
    assert hub.since("u1", 20) == []
    assert hub.latest("u1") == 20


def test_redelivered_messages_are_not_retained_or_sent_twice() -> None:
    hub = Hub(queue_size=10)
    conn = hub.connect("u1")
    hub.publish("u1", msg(5))
    assert hub.publish("u1", msg(5)) == 0
    assert conn.queue.qsize() == 1
    assert len(hub.since("u1", 4) or []) == 1


def test_unknown_history_means_resync() -> None:
    hub = Hub(queue_size=10, retention=3)
    for seq in range(100, 110):
        hub.publish("u1", msg(seq))
    assert hub.since("u1", 100) is None  # pruned: only the newest 3 are kept
    assert [m.seq for m in hub.since("u1", 106) or []] == [107, 108, 109]
    assert hub.since("u1", 50) is None  # before this replica's first offset
    assert hub.since("stranger", 0) is None


def big(seq: int, size: int, partition: int = 0) -> dict[str, Any]:
    return {**msg(seq, partition), "pad": "x" * size}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_users_history_is_bounded_in_bytes() -> None:
    hub = Hub(queue_size=10, retention=Retention(count=1000, user_bytes=10_000))
    for seq in range(1, 101):
        hub.publish("u1", big(seq, 1000))
    # Each message is about 1,070 bytes: nine fit in 10,000.
    assert [m.seq for m in hub.since("u1", 91) or []] == list(range(92, 101))
    assert hub.since("u1", 90) is None
    assert hub.since("u1", 50) is None  # dropped for its bytes: resync
    assert hub.retained_bytes <= 10_000


def test_all_histories_together_are_bounded_least_recently_written_first() -> None:
    hub = Hub(queue_size=10, retention=Retention(user_bytes=100_000, total_bytes=50_000))
    for n in range(20):
        hub.publish(f"u{n}", big(n + 1, 5000))
    assert hub.retained_bytes <= 50_000
    assert hub.streams < 20
    assert hub.since("u0", 0) is None  # forgotten: resync
    assert [m.seq for m in hub.since("u19", 19) or []] == [20]


def test_idle_users_are_forgotten_but_connected_ones_kept() -> None:
    clock = Clock()
    hub = Hub(queue_size=10, retention=Retention(idle_s=100), clock=clock)
    hub.publish("idle", msg(1))
    hub.publish("online", msg(2))
    hub.connect("online")
    clock.now += 101
    hub.publish("active", msg(3))
    assert hub.streams == 2
    assert hub.since("idle", 0) is None
    assert [m.seq for m in hub.since("online", 1) or []] == [2]


def test_a_stream_started_again_cannot_vouch_for_what_it_forgot() -> None:
    clock = Clock()
    hub = Hub(queue_size=10, retention=Retention(idle_s=100), clock=clock)
    hub.publish("u1", msg(5))
    hub.publish("u1", msg(7))
    clock.now += 101
    hub.publish("u2", msg(8))  # sweeps u1 away
    hub.publish("u1", msg(9))
    assert hub.since("u1", 5) is None  # 7 was forgotten: resync, not a silent gap
    assert [m.seq for m in hub.since("u1", 7) or []] == [9]


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
    assert [phone.queue.get_nowait().seq for _ in range(2)] == [1, 2]
    assert phone.queue.empty()
    assert [m.seq for m in hub.since("u1", 0) or []] == [1, 2]
    # Once "a" has left the retention window its id is forgotten with it.
    assert hub.publish("u1", event(4, "c")) == 1
    assert hub.publish("u1", event(5, "a")) == 1


def test_a_message_is_encoded_once_for_every_device_and_the_replay() -> None:
    hub = Hub(queue_size=10)
    phone, laptop = hub.connect("u1"), hub.connect("u1")
    hub.publish("u1", msg(1))
    sent = phone.queue.get_nowait()
    assert laptop.queue.get_nowait() is sent
    assert json.loads(sent.text) == msg(1)
    assert hub.since("u1", 0) == [sent]  # what a resume replays: the same text
    assert hub.retained_bytes == len(sent.text.encode())
