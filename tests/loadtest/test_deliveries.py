"""The bookkeeping behind the shared-list benchmarks: who should have got which change."""

from __future__ import annotations

from loadtest.deliveries import Change, Socket, change_key, tally


def _event(task_id: str, version: int, seq: int, kind: str = "task.updated") -> dict[str, object]:
    return {
        "type": "event",
        "seq": seq,
        "event": {"type": kind, "task_id": task_id, "list_id": "L", "task": {"version": version}},
    }


def test_change_key_is_task_and_version_of_task_events_only() -> None:
    assert change_key({"type": "task.completed", "task_id": "t", "task": {"version": 3}}) == (
        "t",
        3,
    )
    assert change_key({"type": "list.member_added", "task_id": "t"}) is None


def test_socket_records_task_events_and_counts_the_rest() -> None:
    sock = Socket("ann#0", "ann")
    assert sock.record(_event("t", 1, 5, "task.created"), 1.5) == ("t", 1)
    assert sock.record({"type": "ping", "at": "now"}, 2.0) is None
    assert sock.record({"type": "event", "seq": 6, "event": {"type": "list.updated"}}, 2.1) is None
    assert sock.got == [(("t", 1), 1.5, 5)]
    assert sock.seen == {"task.created": 1, "ping": 1, "list.updated": 1}


def test_tally_counts_missing_duplicates_strangers_and_order() -> None:
    changes = [
        Change(("t", 1), "L", "ann", started=10.0),
        Change(("t", 2), "L", "bob", started=20.0),
    ]
    ann, bob, eve = Socket("ann#0", "ann"), Socket("bob#0", "bob"), Socket("eve#0", "eve")
    ann.record(_event("t", 1, 1), 10.1)
    ann.record(_event("t", 2, 2), 20.3)
    ann.record(_event("t", 2, 2), 20.4)  # a duplicate, and not above the seq before it
    bob.record(_event("t", 1, 7), 10.2)  # bob never got ("t", 2)
    bob.record(_event("x", 1, 8), 30.0)  # no such change
    eve.record(_event("t", 1, 1), 10.5)  # eve is no member

    result = tally(changes, [ann, bob, eve], {"L": ["ann", "bob"]})

    assert (result.expected, result.delivered, result.missing) == (4, 3, 1)
    assert result.missing_keys == [("bob#0", ("t", 2))]
    assert (result.duplicates, result.unexpected, result.unknown) == (1, 1, 1)
    assert result.out_of_order == 1
    assert [round(s, 3) for s in result.latency["ann#0"]] == [0.1, 0.3]  # first copy only
    assert [round(s, 3) for s in result.latency["bob#0"]] == [0.2]


def test_tally_leaves_own_changes_out_of_latency_when_asked() -> None:
    changes = [Change(("t", 1), "L", "ann", 0.0), Change(("t", 2), "L", "bob", 1.0)]
    ann = Socket("ann#0", "ann")
    ann.record(_event("t", 1, 1), 0.05)
    ann.record(_event("t", 2, 2), 1.25)

    result = tally(changes, [ann], {"L": ["ann", "bob"]}, others_only=True)

    assert result.delivered == 2
    assert result.missing == 0
    assert result.latency == {"ann#0": [0.25]}
    summary = result.summary()
    assert summary["latency ms"] == {"n": 1, "p50": 250.0, "p95": 250.0, "p99": 250.0, "max": 250.0}
