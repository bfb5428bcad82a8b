from __future__ import annotations


class DaprError(RuntimeError):
    """The sidecar refused or failed a request; `status` is its HTTP status (0: unreachable)."""

    def __init__(self, message: str, *, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class EtagMismatch(DaprError):
    """A conditional write lost the race: someone changed the item first."""


class NotFound(DaprError):
    pass


class Refused(DaprError):
    """The store refused the data itself (PostgreSQL: a data exception, SQLSTATE class 22,
    e.g. U+0000 in text): the same write fails however often it is retried, unlike an
    outage (the sidecar or the store away), which the same write outlives."""
