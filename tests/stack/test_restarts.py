"""CrashLoopBackOff, locally: the delays and the bookkeeping, on a clock we move by hand."""

from __future__ import annotations

import pytest

from stack.restarts import Backoff, RestartBook, State


def test_delays_double_from_one_second_up_to_the_cap() -> None:
    policy = Backoff()
    assert [policy.delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]
    # A crash loop that never ends never overflows.
    assert policy.delay(10_000) == 30
    with pytest.raises(ValueError, match="at least once"):
        policy.delay(0)


def test_a_custom_policy_is_obeyed() -> None:
    policy = Backoff(first=0.5, factor=3, cap=10)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.5, 4.5, 10]


def test_a_crash_loop_backs_off_and_counts_restarts() -> None:
    book = RestartBook(Backoff(), started_at=100.0)
    now = 100.0
    delays = []
    for _ in range(4):
        now += 2  # it dies two seconds after each start
        delay = book.exited(-9, now)
        assert delay is not None
        delays.append(delay)
        states = [book.state]
        assert not book.due(now + delay - 0.01)
        now += delay
        assert book.due(now)
        book.restarted(now)
        assert states + [book.state] == [State.BACKOFF, State.RUNNING]
    assert delays == [1, 2, 4, 8]
    assert (book.restarts, book.crashes_in_a_row, book.last_exit) == (4, 4, -9)


def test_a_run_that_stayed_up_long_enough_resets_the_backoff() -> None:
    book = RestartBook(Backoff(reset_after=60), started_at=0.0)
    assert book.exited(1, 5.0) == 1
    book.restarted(6.0)
    assert book.exited(1, 7.0) == 2
    book.restarted(9.0)
    # Up for 60 s: the next crash is a first crash again, but still counted.
    assert book.exited(137, 69.0) == 1
    assert (book.restarts, book.crashes_in_a_row, book.last_exit) == (2, 1, 137)
    book.restarted(70.0)
    assert book.uptime(75.0) == 5.0


def test_with_restarts_off_an_exit_stays_down() -> None:
    book = RestartBook(Backoff(), started_at=0.0)
    assert book.exited(2, 1.0, restart=False) is None
    assert book.state is State.EXITED
    assert not book.due(1_000.0)
    assert book.uptime(2.0) is None
    assert (book.restarts, book.last_exit) == (0, 2)
