from __future__ import annotations

from functions.realtime.hub import Hub


def test_fan_out_reaches_every_device_of_the_user_only() -> None:
    hub = Hub(queue_size=10)
    phone, laptop, other = hub.connect("u1"), hub.connect("u1"), hub.connect("u2")
    assert hub.publish("u1", {"n": 1}) == 2
    assert phone.queue.get_nowait() == {"n": 1} and laptop.queue.get_nowait() == {"n": 1}
    assert other.queue.empty()
    hub.disconnect(phone)
    assert hub.publish("u1", {"n": 2}) == 1 and hub.connections == 2


def test_a_slow_device_overflows_alone() -> None:
    hub = Hub(queue_size=2)
    slow, fast = hub.connect("u1"), hub.connect("u1")
    for n in range(3):
        hub.publish("u1", {"n": n})
        if not fast.queue.empty():
            fast.queue.get_nowait()
    assert slow.overflowed and not fast.overflowed
