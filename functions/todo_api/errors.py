"""What a use case can refuse, independent of HTTP (handlers map them to status codes)."""

from __future__ import annotations


class NotFound(Exception):
    """Missing, or not the caller's to see: the two are indistinguishable on purpose (404)."""


class Forbidden(Exception):
    """The caller sees it but their role does not allow this (403)."""


class PreconditionFailed(Exception):
    """If-Match named a version that is no longer current (412)."""


class Refused(Exception):
    """A request that conflicts with the current state, e.g. deleting a default list (409)."""

    def __init__(self, message: str, code: str = "conflict") -> None:
        super().__init__(message)
        self.code = code


class UnknownUser(Exception):
    """No account has that username (422 on the field that named it)."""
