"""Counting what a handling asks of its sidecar."""

from __future__ import annotations

from typing import Any

from shared.dapr.fake import FakeDapr


class Counted:
    """Counts the sidecar calls a handling makes (state, jobs, publishes); a fake's
    method that calls another (insert -> create) is one call."""

    def __init__(self, dapr: FakeDapr) -> None:
        self.calls: list[str] = []
        self._depth = 0
        store = dapr.state("kv")
        for name in ("get", "get_bulk", "save", "insert", "create", "transact", "delete"):
            self._wrap(store, name, f"state.{name}")
        for name in ("schedule", "delete"):
            self._wrap(dapr.jobs, name, f"jobs.{name}")
        for name in ("publish", "publish_many"):
            self._wrap(dapr.publisher, name, name)
        self._wrap(dapr.invoker, "invoke", "invoke")

    def _wrap(self, target: Any, name: str, label: str) -> None:
        inner = getattr(target, name)

        async def counted(*args: Any, **kwargs: Any) -> Any:
            if not self._depth:
                self.calls.append(label)
            self._depth += 1
            try:
                return await inner(*args, **kwargs)
            finally:
                self._depth -= 1

        setattr(target, name, counted)

    def take(self) -> list[str]:
        taken, self.calls = self.calls, []
        return sorted(taken)
