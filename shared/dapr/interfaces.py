"""The Dapr building blocks taskwave uses, as small async interfaces.

Handlers and services depend on these protocols only; `DaprSidecar` talks to a
real daprd, `FakeDapr` keeps everything in memory for unit tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel


@dataclass(frozen=True)
class StateItem:
    key: str
    value: Any
    etag: str | None


@dataclass(frozen=True)
class StateOp:
    """One operation of a state transaction; `etag` makes it conditional."""

    operation: Literal["upsert", "delete"]
    key: str
    value: Any = None
    etag: str | None = None
    # Insert only: the transaction fails if the key already exists.
    must_not_exist: bool = False

    @classmethod
    def upsert(cls, key: str, value: Any, etag: str | None = None) -> StateOp:
        return cls("upsert", key, value, etag)

    @classmethod
    def insert(cls, key: str, value: Any) -> StateOp:
        return cls("upsert", key, value, must_not_exist=True)

    @classmethod
    def delete(cls, key: str, etag: str | None = None) -> StateOp:
        return cls("delete", key, None, etag)


class StateStore(Protocol):
    @property
    def name(self) -> str: ...

    async def get(self, key: str) -> StateItem | None: ...

    async def get_bulk(self, keys: list[str]) -> list[StateItem]: ...

    async def save(self, key: str, value: Any, *, etag: str | None = None) -> None: ...

    async def create(self, key: str, value: Any) -> bool:
        """Insert if absent; False (and nothing written) when the key exists. Reads first:
        for writes whose duplicates are common (a refused insert is slow to refuse)."""
        ...

    async def insert(self, key: str, value: Any) -> bool:
        """As `create`, in one call: for writes that are new nearly always."""
        ...

    async def delete(self, key: str, *, etag: str | None = None) -> None: ...

    async def transact(self, ops: list[StateOp]) -> None: ...

    async def query(self, query: dict[str, Any]) -> tuple[list[StateItem], str | None]:
        """Dapr state Query API: returns the page and the next page token."""
        ...


class Publisher(Protocol):
    async def publish(
        self,
        topic: str,
        data: BaseModel | dict[str, Any],
        *,
        partition_key: str | None = None,
        cloudevent_id: str | None = None,
    ) -> None:
        """`cloudevent_id` names the envelope (our events name it after their event id)."""
        ...

    async def publish_many(
        self,
        topic: str,
        messages: Sequence[tuple[BaseModel | dict[str, Any], str | None]],
        *,
        traceparents: Sequence[str] | None = None,
    ) -> None:
        """(data, partition key) pairs in one call; raises unless all were published.
        `traceparents`, one per message ("" for none), puts each message in the trace
        of the action that made it, not in the trace of this call."""
        ...


@dataclass(frozen=True)
class JobSpec:
    name: str
    due_time: datetime
    data: dict[str, Any]
    # Retries when the app does not answer the callback: constant interval.
    max_retries: int = 10
    retry_interval_s: float = 2.0


class Jobs(Protocol):
    async def schedule(self, job: JobSpec, *, overwrite: bool = True) -> None: ...

    async def get(self, name: str) -> dict[str, Any] | None: ...

    async def delete(self, name: str) -> None: ...


@dataclass(frozen=True)
class InvokeResponse:
    status: int
    body: Any
    headers: dict[str, str]


class Invoker(Protocol):
    async def invoke(
        self,
        app_id: str,
        method: str,
        *,
        http_method: str = "POST",
        json: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> InvokeResponse: ...


class Secrets(Protocol):
    async def get_secret(self, key: str) -> dict[str, str]: ...


class Dapr(Protocol):
    """Everything a function may ask of its sidecar."""

    @property
    def publisher(self) -> Publisher: ...

    @property
    def jobs(self) -> Jobs: ...

    @property
    def invoker(self) -> Invoker: ...

    @property
    def secrets(self) -> Secrets: ...

    def state(self, store: str) -> StateStore: ...

    async def ready(self) -> bool:
        """The sidecar is up and its components are initialised."""
        ...

    async def aclose(self) -> None: ...
