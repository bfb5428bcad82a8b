"""Password hashing at a bounded cost: at most N at once, the rest wait briefly, then 429."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

import pytest
import yaml

from functions.todo_api.passwords import HashBusy, Passwords
from functions.todo_api.settings import Settings
from stack.config import ROOT


def _passwords(concurrency: int = 2, wait_s: float = 0.2) -> Passwords:
    return Passwords(
        time_cost=1, memory_kib=8 * 1024, parallelism=1, concurrency=concurrency, wait_s=wait_s
    )


async def test_hash_and_verify() -> None:
    pw = _passwords()
    digest = await pw.hash("a long passphrase")
    assert "m=8192,t=1,p=1" in digest
    assert await pw.verify(digest, "a long passphrase")
    assert not await pw.verify(digest, "wrong")
    assert not await pw.verify(None, "a long passphrase")  # no such user: same cost, False
    assert not await pw.verify("not a hash", "x")


async def test_at_most_n_hashes_run_at_once_and_the_rest_get_429() -> None:
    pw = _passwords(concurrency=2, wait_s=0.2)
    running = 0
    peak = 0
    lock = threading.Lock()

    def slow(_: str) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.5)
        with lock:
            running -= 1
        return "x"

    pw._hasher = SimpleNamespace(hash=slow)  # type: ignore[assignment]
    results = await asyncio.gather(*(pw.hash("p") for _ in range(8)), return_exceptions=True)
    busy = [r for r in results if isinstance(r, HashBusy)]
    assert peak == 2
    assert results.count("x") == 2
    assert len(busy) == 6
    assert busy[0].status == 429
    assert busy[0].headers == {"Retry-After": "1"}
    await pw.aclose()


def test_default_parameters_fit_the_pod_with_room() -> None:
    values = yaml.safe_load((ROOT / "helm" / "taskwave" / "values.yaml").read_text())
    limit = values["functions"]["todo-api"]["resources"]["limits"]["memory"]
    assert limit.endswith("Mi")
    s = Settings()
    peak = s.hash_concurrency * s.argon2_memory_kib * 1024
    process = 120 * 1024**2  # todo-api's own RSS, generously (measured ~70-90 MB)
    assert process + peak <= 0.75 * int(limit[:-2]) * 1024**2
    assert s.argon2_memory_kib >= 19 * 1024  # OWASP's floor for Argon2id


@pytest.mark.parametrize("concurrency", [1, 3])
def test_peak_bytes(concurrency: int) -> None:
    assert _passwords(concurrency).peak_bytes == concurrency * 8 * 1024 * 1024
