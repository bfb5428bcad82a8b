"""Password hashing at a bounded cost per replica.

Argon2id is memory-hard on purpose: each hash holds `memory_kib` for its whole run.
Unbounded, 40 concurrent logins took todo-api from 70 MB to 407 MB (over the pod
limit). Here at most `concurrency` hashes run at once, on a pool of that many threads,
so hashing never holds more than concurrency × memory_kib; the rest wait up to
`wait_s` for a slot and are then refused (429, Retry-After), not queued without end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.web.errors import TooManyRequests
from shared.web.metrics import REFUSED

T = TypeVar("T")


class HashBusy(TooManyRequests):
    def __init__(self, retry_after: float) -> None:
        super().__init__("too many sign-ins at once; try again shortly", retry_after)


class Passwords:
    def __init__(
        self,
        *,
        time_cost: int,
        memory_kib: int,
        parallelism: int,
        concurrency: int,
        wait_s: float,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        self.memory_kib = memory_kib
        self.concurrency = concurrency
        self._wait_s = wait_s
        self._slots = asyncio.Semaphore(concurrency)
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="argon2")
        # Verified when the user does not exist, so an unknown name costs (and takes)
        # the same as a wrong password.
        self._dummy = self._hasher.hash("taskwave-timing-equaliser")

    @property
    def peak_bytes(self) -> int:
        """What hashing may hold at once (hashes made with these parameters)."""
        return self.concurrency * self.memory_kib * 1024

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, digest: str | None, password: str) -> bool:
        """Whether `password` matches `digest`; None (no such user) costs the same, False."""

        def check() -> bool:
            try:
                return bool(self._hasher.verify(digest or self._dummy, password))
            except (VerificationError, InvalidHashError):
                return False

        return await self._run(check) and digest is not None

    async def _run(self, work: Callable[..., T], *args: object) -> T:
        try:
            await asyncio.wait_for(self._slots.acquire(), self._wait_s)
        except TimeoutError:
            REFUSED.labels("todo-api", "hash_busy").inc()
            raise HashBusy(self._wait_s) from None
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)
        finally:
            self._slots.release()

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
