"""Dapr behind small interfaces: one sidecar implementation, one in-memory fake."""

from shared.dapr.errors import DaprError, EtagMismatch, NotFound, Refused
from shared.dapr.interfaces import (
    Dapr,
    Invoker,
    InvokeResponse,
    Jobs,
    JobSpec,
    Publisher,
    Secrets,
    StateItem,
    StateOp,
    StateStore,
)

__all__ = [
    "Dapr",
    "DaprError",
    "EtagMismatch",
    "InvokeResponse",
    "Invoker",
    "JobSpec",
    "Jobs",
    "NotFound",
    "Publisher",
    "Refused",
    "Secrets",
    "StateItem",
    "StateOp",
    "StateStore",
]
