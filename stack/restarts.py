"""When to restart a process that exited on its own: Kubernetes' CrashLoopBackOff, locally.

Pure bookkeeping over a clock the caller passes in, so the policy is tested without
real processes or real waiting (tests/stack/test_restarts.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Backoff:
    """1 s, 2 s, 4 s … capped; a run that lasted `reset_after` seconds starts over.

    Kubernetes waits 10 s doubling to 5 min and resets after 10 min of running; the
    local stack restarts sooner because a developer is watching (and a chaos test waits).
    """

    first: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    reset_after: float = 60.0

    def delay(self, crashes: int) -> float:
        """Seconds to wait before the next start after `crashes` exits in a row (≥ 1)."""
        if crashes < 1:
            raise ValueError("delay() is for a process that exited at least once")
        # Bounded exponent: a long crash loop must not overflow the float.
        return min(self.cap, self.first * self.factor ** min(crashes - 1, 64))


class State(StrEnum):
    RUNNING = "running"
    BACKOFF = "backoff"  # exited; waiting out its delay before the next start
    EXITED = "exited"  # exited and will not be restarted (start-up, or restarts off)


@dataclass
class RestartBook:
    """Restart bookkeeping for one process: what `status` shows, what the monitor obeys."""

    policy: Backoff
    started_at: float
    restarts: int = 0
    crashes_in_a_row: int = 0
    last_exit: int | None = None
    restart_at: float | None = None
    gave_up: bool = False

    @property
    def state(self) -> State:
        if self.gave_up:
            return State.EXITED
        return State.BACKOFF if self.restart_at is not None else State.RUNNING

    def exited(self, code: int, now: float, *, restart: bool = True) -> float | None:
        """Record an exit nobody asked for; returns the delay before the next start,
        or None when it stays down."""
        self.last_exit = code
        if not restart:
            self.gave_up = True
            self.restart_at = None
            return None
        if now - self.started_at >= self.policy.reset_after:
            self.crashes_in_a_row = 0  # it had been healthy: the loop starts over
        self.crashes_in_a_row += 1
        delay = self.policy.delay(self.crashes_in_a_row)
        self.restart_at = now + delay
        return delay

    def due(self, now: float) -> bool:
        return self.restart_at is not None and now >= self.restart_at

    def restarted(self, now: float) -> None:
        self.restarts += 1
        self.started_at = now
        self.restart_at = None

    def uptime(self, now: float) -> float | None:
        return now - self.started_at if self.state is State.RUNNING else None
