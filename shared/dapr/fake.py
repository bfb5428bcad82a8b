"""In-memory `Dapr` for unit tests of handlers and services (never for integration tests).

It keeps Dapr's observable contract: ETags change on every write, a stale ETag
fails, a transaction applies all or nothing, text PostgreSQL cannot hold (U+0000) is
refused as the sidecar reports it (`Refused`), a publish can be made to fail.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel

from shared.dapr.errors import DaprError, EtagMismatch, Refused
from shared.dapr.interfaces import InvokeResponse, JobSpec, StateItem, StateOp
from shared.dapr.query import field_at


@dataclass
class Published:
    topic: str
    data: dict[str, Any]
    partition_key: str | None
    traceparent: str = ""
    cloudevent_id: str | None = None


class FakeStateStore:
    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: dict[str, tuple[Any, int]] = {}
        self._version = 0
        self.transactions = 0

    def _check(self, key: str, etag: str | None, must_not_exist: bool = False) -> None:
        if must_not_exist and key in self.rows:
            raise EtagMismatch(f"{key} exists", status=409)
        if etag is None:
            return
        current = self.rows.get(key)
        if current is None or str(current[1]) != etag:
            raise EtagMismatch(f"etag mismatch for {key}", status=409)

    def _write(self, key: str, value: Any) -> None:
        _storable(key, value)
        self._version += 1
        self.rows[key] = (copy.deepcopy(value), self._version)

    @property
    def writes(self) -> int:
        """Rows written so far (each upsert of each transaction counts)."""
        return self._version

    async def get(self, key: str) -> StateItem | None:
        row = self.rows.get(key)
        return None if row is None else StateItem(key, copy.deepcopy(row[0]), str(row[1]))

    async def get_bulk(self, keys: list[str]) -> list[StateItem]:
        items = [await self.get(k) for k in keys]
        return [i for i in items if i is not None]

    async def save(self, key: str, value: Any, *, etag: str | None = None) -> None:
        self._check(key, etag)
        self._write(key, value)

    async def create(self, key: str, value: Any) -> bool:
        if key in self.rows:
            return False
        self._write(key, value)
        return True

    async def insert(self, key: str, value: Any) -> bool:
        return await self.create(key, value)

    async def delete(self, key: str, *, etag: str | None = None) -> None:
        self._check(key, etag)
        self.rows.pop(key, None)

    async def transact(self, ops: list[StateOp]) -> None:
        for op in ops:
            self._check(op.key, op.etag, op.must_not_exist)
        # All or nothing: a row the store refuses leaves the others unwritten too.
        for op in ops:
            if op.operation == "upsert":
                _storable(op.key, op.value)
        self.transactions += 1
        for op in ops:
            if op.operation == "upsert":
                self._write(op.key, op.value)
            else:
                self.rows.pop(op.key, None)

    async def query(self, query: dict[str, Any]) -> tuple[list[StateItem], str | None]:
        rows = [
            (k, v) for k, (v, _) in sorted(self.rows.items()) if _matches(v, query.get("filter"))
        ]
        # Stable sorts, least significant key first.
        for spec in reversed(query.get("sort", [])):
            path: str = spec["key"]

            def by(kv: tuple[str, Any], p: str = path) -> tuple[int, str]:
                return _sort_key(field_at(kv[1], p))

            rows.sort(key=by, reverse=spec.get("order", "ASC").upper() == "DESC")
        page = query.get("page", {})
        start = int(page.get("token") or 0)
        limit = int(page.get("limit") or len(rows) or 1)
        chunk = rows[start : start + limit]
        token = str(start + limit) if start + limit < len(rows) else None
        items = [StateItem(k, copy.deepcopy(v), str(self.rows[k][1])) for k, v in chunk]
        return items, token


def _storable(key: str, value: Any) -> None:
    """Raises Refused, as daprd reports PostgreSQL's refusal, when the row holds U+0000
    (JSONB refuses it; a lone surrogate reaches the store as U+FFFD: daprd decodes the
    JSON it is sent)."""
    if _holds_nul(key) or _holds_nul(value):
        raise Refused(
            f"{key}: ERROR: unsupported Unicode escape sequence (SQLSTATE 22P05)", status=500
        )


def _holds_nul(value: Any) -> bool:
    """Whether a JSON value holds U+0000 in a string (PostgreSQL's JSONB refuses it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False


def _sort_key(v: Any) -> tuple[int, str]:
    return (0, "") if v is None else (1, json.dumps(v, sort_keys=True))


def _matches(value: Any, flt: dict[str, Any] | None) -> bool:
    if not flt:
        return True
    ((op, arg),) = flt.items()
    if op == "AND":
        return all(_matches(value, f) for f in arg)
    if op == "OR":
        return any(_matches(value, f) for f in arg)
    ((path, expected),) = arg.items()
    actual = field_at(value, path)
    if op == "EQ":
        return bool(actual == expected)
    if op == "IN":
        return actual in expected
    raise DaprError(f"fake query does not support {op}", status=400)


class FakePublisher:
    def __init__(self) -> None:
        self.messages: list[Published] = []
        # Set to an exception to make every publish fail (a broker outage).
        self.failing: Exception | None = None

    async def publish(
        self,
        topic: str,
        data: BaseModel | dict[str, Any],
        *,
        partition_key: str | None = None,
        cloudevent_id: str | None = None,
    ) -> None:
        if self.failing is not None:
            raise self.failing
        payload = (
            data.model_dump(mode="json") if isinstance(data, BaseModel) else copy.deepcopy(data)
        )
        if cloudevent_id is None and isinstance(data, BaseModel) and "event_id" in payload:
            cloudevent_id = str(payload["event_id"])  # as the sidecar names an event's envelope
        self.messages.append(Published(topic, payload, partition_key, "", cloudevent_id))

    async def publish_many(
        self,
        topic: str,
        messages: Sequence[tuple[BaseModel | dict[str, Any], str | None]],
        *,
        traceparents: Sequence[str] | None = None,
    ) -> None:
        if self.failing is not None:
            raise self.failing
        if traceparents is not None and len(traceparents) != len(messages):
            raise ValueError(f"{len(traceparents)} traceparents for {len(messages)} messages")
        for i, (data, key) in enumerate(messages):
            await self.publish(topic, data, partition_key=key)
            self.messages[-1].traceparent = traceparents[i] if traceparents else ""

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [m.data for m in self.messages if m.topic == topic]


class FakeJobs:
    def __init__(self) -> None:
        self.jobs: dict[str, JobSpec] = {}

    async def schedule(self, job: JobSpec, *, overwrite: bool = True) -> None:
        if not overwrite and job.name in self.jobs:
            raise DaprError(f"job {job.name} exists", status=409)
        self.jobs[job.name] = job

    async def get(self, name: str) -> dict[str, Any] | None:
        job = self.jobs.get(name)
        if job is None:
            return None
        return {"name": job.name, "dueTime": job.due_time.isoformat(), "data": job.data}

    async def delete(self, name: str) -> None:
        self.jobs.pop(name, None)


Route = Callable[[str, str, Any, dict[str, str]], Awaitable[InvokeResponse]]


class FakeInvoker:
    """Routes invocations to in-process callables registered per app id."""

    def __init__(self) -> None:
        self.apps: dict[str, Route] = {}
        self.calls: list[tuple[str, str, str, Any]] = []

    async def invoke(
        self,
        app_id: str,
        method: str,
        *,
        http_method: str = "POST",
        json: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> InvokeResponse:
        self.calls.append((app_id, http_method, method, json))
        route = self.apps.get(app_id)
        if route is None:
            raise DaprError(f"no app {app_id}", status=500)
        if params:
            method = f"{method}?{urlencode(params)}"
        return await route(http_method, method, json, headers or {})


class FakeSecrets:
    def __init__(self, secrets: dict[str, dict[str, str]] | None = None) -> None:
        self.values = secrets or {}

    async def get_secret(self, key: str) -> dict[str, str]:
        if key not in self.values:
            raise DaprError(f"secret {key} not found", status=500)
        return dict(self.values[key])


@dataclass
class FakeDapr:
    secret_values: dict[str, dict[str, str]] = field(default_factory=dict)
    is_ready: bool = True

    def __post_init__(self) -> None:
        self.publisher = FakePublisher()
        self.jobs = FakeJobs()
        self.invoker = FakeInvoker()
        self.secrets = FakeSecrets(self.secret_values)
        self._stores: dict[str, FakeStateStore] = {}

    def state(self, store: str) -> FakeStateStore:
        if store not in self._stores:
            self._stores[store] = FakeStateStore(store)
        return self._stores[store]

    async def ready(self) -> bool:
        return self.is_ready

    async def aclose(self) -> None:
        return None
