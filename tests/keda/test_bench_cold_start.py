"""The cold-start benchmark's arithmetic (the measuring itself needs a running stack)."""

from __future__ import annotations

from keda.bench_cold_start import Cycle, lag_of, summarise


def test_lag_counts_from_the_committed_offset_or_the_oldest_message() -> None:
    assert lag_of((0, 10), 7) == 3
    assert lag_of((4, 10), -1001) == 6  # no offset committed yet: initialOffset oldest
    assert lag_of((0, 10), 10) == 0


def test_first_lag_to_drained_includes_the_time_before_the_start() -> None:
    cycles = [
        Cycle(lag_seen_before_start=0.1, first_handled={"audit": 2.0}, drained={"audit": 3.0}),
        Cycle(lag_seen_before_start=0.3, first_handled={"audit": 4.0}, drained={"audit": 5.0}),
    ]
    audit = summarise(cycles, [0.2])["functions"]["audit"]
    assert audit["start -> first event handled"] == {"n": 2, "p50_ms": 3000, "max_ms": 4000}
    assert audit["first lag -> lag drained"] == {"n": 2, "p50_ms": 4200, "max_ms": 5300}
    assert summarise(cycles, [])["functions"]["recurring"]["start -> lag drained"] == {"n": 0}
