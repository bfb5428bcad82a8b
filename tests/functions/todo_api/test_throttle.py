"""Sign-in and registration throttling: pure tables, time passed in."""

from __future__ import annotations

import pytest

from functions.todo_api.throttle import Backoff, LoginThrottle, Throttled, TokenBucket


class Wrong(Exception):
    pass


def _backoff(free: int = 3, max_keys: int = 100) -> Backoff:
    return Backoff(free=free, base_s=1.0, cap_s=8.0, idle_s=60.0, max_keys=max_keys)


def test_backoff_doubles_after_the_free_attempts_up_to_the_cap() -> None:
    b = _backoff()
    now = 100.0
    for _ in range(3):
        assert b.wait("k", now) == 0
        b.begin("k", now)
    waits = []
    for _ in range(6):
        wait = b.wait("k", now)
        waits.append(wait)
        now += wait
        assert b.wait("k", now) == 0
        b.begin("k", now)
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_backoff_forgets_idle_keys_and_bounds_its_table() -> None:
    b = _backoff(free=1, max_keys=10)
    b.begin("k", 0.0)
    assert b.wait("k", 0.5) == pytest.approx(0.5)
    assert b.wait("k", 61.0) == 0
    assert len(b) == 0
    for i in range(50):
        b.begin(f"k{i}", 70.0)
    assert len(b) == 10


def _login(free_user: int = 3, free_address: int = 5) -> LoginThrottle:
    return LoginThrottle(_backoff(free_user), _backoff(free_address), Wrong)


def _guess(t: LoginThrottle, user: str, address: str, now: float, ok: bool = False) -> None:
    with t.attempt(user, address, now):
        if not ok:
            raise Wrong()


def test_a_username_is_throttled_from_any_address_and_a_success_clears_it() -> None:
    t = _login()
    for i in range(3):
        with pytest.raises(Wrong):
            _guess(t, "Ann", f"10.0.0.{i}", 0.0)
    with pytest.raises(Throttled) as throttled:
        _guess(t, "ann", "10.0.0.9", 0.0, ok=True)  # names are case-insensitive
    assert throttled.value.status == 429
    assert throttled.value.retry_after == 1
    assert throttled.value.headers == {"Retry-After": "1"}
    _guess(t, "ann", "10.0.0.9", 1.0, ok=True)
    assert t.per_user.wait("ann", 1.0) == 0
    assert len(t.per_user) == 0


def test_an_address_is_throttled_across_usernames() -> None:
    t = _login(free_address=5)
    for i in range(5):
        with pytest.raises(Wrong):
            _guess(t, f"user{i}", "10.1.1.1", 0.0)
    with pytest.raises(Throttled):
        _guess(t, "someone-else", "10.1.1.1", 0.0)
    _guess(t, "someone-else", "10.1.1.2", 0.0, ok=True)  # another address is unaffected


def test_parallel_guesses_count_when_they_start() -> None:
    """Attempts in flight count, so a burst cannot pass before the first one fails."""
    t = _login(free_address=5)
    started = []
    for i in range(40):
        try:
            cm = t.attempt(f"u{i}", "10.2.2.2", 0.0)
            cm.__enter__()
            started.append(cm)
        except Throttled:
            pass
    assert len(started) == 5


def test_an_attempt_that_fails_for_another_reason_costs_nothing() -> None:
    t = _login(free_user=1)
    with pytest.raises(RuntimeError), t.attempt("ann", "10.3.3.3", 0.0):
        raise RuntimeError("store down")
    _guess(t, "ann", "10.3.3.3", 0.0, ok=True)


def test_registration_bucket_allows_a_burst_then_a_steady_rate() -> None:
    bucket = TokenBucket(burst=3, per_minute=6, max_keys=100)
    for _ in range(3):
        bucket.take("10.0.0.1", 0.0)
    with pytest.raises(Throttled) as throttled:
        bucket.take("10.0.0.1", 0.0)
    assert throttled.value.retry_after == 10  # one every 10 s
    bucket.take("10.0.0.2", 0.0)  # per address
    bucket.take("10.0.0.1", 10.0)
    with pytest.raises(Throttled):
        bucket.take("10.0.0.1", 12.0)
