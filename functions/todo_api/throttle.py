"""Throttling sign-in and registration, per replica, in memory; time is passed in.

Login: a key (the username, or the client address) gets `free` attempts; after that
each attempt must wait base, 2·base, 4·base … (at most `cap`) after the previous one.
An attempt counts when it starts, so 40 parallel guesses cannot all slip through
before the first one fails; a success forgets the username's failures and gives the
address its attempt back. Registration: a token bucket per client address.

Tables are bounded (least recently used keys go first) and forget a key after `idle`
seconds without attempts. With R replicas an attacker gets at most R times a budget.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from functions.todo_api.settings import Settings
from shared.web.errors import TooManyRequests
from shared.web.metrics import REFUSED


class Throttled(TooManyRequests):
    pass


@dataclass
class _Attempts:
    count: int = 0
    last: float = 0.0


class Backoff:
    def __init__(
        self, *, free: int, base_s: float, cap_s: float, idle_s: float, max_keys: int
    ) -> None:
        self.free = free
        self.base_s = base_s
        self.cap_s = cap_s
        self.idle_s = max(idle_s, cap_s)  # never forget a key that is still waiting
        self.max_keys = max_keys
        self._keys: OrderedDict[str, _Attempts] = OrderedDict()

    def wait(self, key: str, now: float) -> float:
        """Seconds until `key` may try again (0: now)."""
        entry = self._get(key, now)
        if entry is None or entry.count < self.free:
            return 0.0
        gap = min(self.cap_s, self.base_s * 2.0 ** min(entry.count - self.free, 32))
        return max(0.0, entry.last + gap - now)

    def begin(self, key: str, now: float) -> None:
        entry = self._get(key, now)
        if entry is None:
            entry = self._keys[key] = _Attempts()
            while len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)
        entry.count += 1
        entry.last = now

    def forget(self, key: str) -> None:
        self._keys.pop(key, None)

    def refund(self, key: str) -> None:
        entry = self._keys.get(key)
        if entry is not None:
            entry.count = max(0, entry.count - 1)

    def __len__(self) -> int:
        return len(self._keys)

    def _get(self, key: str, now: float) -> _Attempts | None:
        entry = self._keys.get(key)
        if entry is not None and now - entry.last > self.idle_s:
            del self._keys[key]
            return None
        if entry is not None:
            self._keys.move_to_end(key)
        return entry


class LoginThrottle:
    def __init__(self, per_user: Backoff, per_address: Backoff, failure: type[Exception]) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self._failure = failure

    @contextmanager
    def attempt(self, username: str, address: str, now: float) -> Iterator[None]:
        """Raises Throttled while either key must wait; `failure` raised inside counts."""
        user = username.casefold()
        wait = max(self.per_user.wait(user, now), self.per_address.wait(address, now))
        if wait > 0:
            REFUSED.labels("todo-api", "login_throttled").inc()
            raise Throttled("too many sign-in attempts; wait before trying again", wait)
        self.per_user.begin(user, now)
        self.per_address.begin(address, now)
        try:
            yield
        except self._failure:
            raise
        except BaseException:
            # Not the guess's fault (busy, store down): it costs nobody an attempt.
            self.per_user.refund(user)
            self.per_address.refund(address)
            raise
        self.per_user.forget(user)
        self.per_address.refund(address)


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBucket:
    """Registrations: `burst` at once, then one more every 60 / per_minute seconds, per key."""

    def __init__(self, *, burst: int, per_minute: float, max_keys: int) -> None:
        self.burst = burst
        self.rate = per_minute / 60.0
        self.max_keys = max_keys
        self._keys: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str, now: float) -> None:
        """One token for `key`, or Throttled with the time until the next one."""
        bucket = self._keys.get(key)
        if bucket is None:
            bucket = self._keys[key] = _Bucket(float(self.burst), now)
            while len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)
        self._keys.move_to_end(key)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens < 1:
            REFUSED.labels("todo-api", "register_throttled").inc()
            raise Throttled(
                "too many new accounts from your address; try again later",
                (1 - bucket.tokens) / self.rate if self.rate > 0 else 3600,
            )
        bucket.tokens -= 1

    def __len__(self) -> int:
        return len(self._keys)


def from_settings(
    settings: Settings, failure: type[Exception]
) -> tuple[LoginThrottle, TokenBucket]:
    def backoff(free: int) -> Backoff:
        return Backoff(
            free=free,
            base_s=settings.login_backoff_s,
            cap_s=settings.login_backoff_cap_s,
            idle_s=settings.login_backoff_cap_s * 2,
            max_keys=settings.throttle_max_keys,
        )

    logins = LoginThrottle(
        backoff(settings.login_free_per_user), backoff(settings.login_free_per_address), failure
    )
    registrations = TokenBucket(
        burst=settings.register_burst,
        per_minute=settings.register_per_minute,
        max_keys=settings.throttle_max_keys,
    )
    return logins, registrations
