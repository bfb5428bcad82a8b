"""The error envelope `{"error": {"code", "message", "details"}}` (DESIGN §3); no stack traces."""

from __future__ import annotations

import logging
import math
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shared.dapr.errors import DaprError

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    422: "validation_error",
    428: "precondition_required",
    429: "too_many_requests",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.details = details
        self.headers = headers


class TooManyRequests(ApiError):
    """429 with `Retry-After` (whole seconds, at least 1): come back later, not at once."""

    def __init__(self, message: str, retry_after: float) -> None:
        wait = max(1, math.ceil(retry_after))
        super().__init__(
            429, message, details={"retry_after": wait}, headers={"Retry-After": str(wait)}
        )
        self.retry_after = wait


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code or _CODES.get(status, "error"), "message": message}}
    body["error"]["details"] = details if details is not None else {}
    return JSONResponse(body, status_code=status, headers=headers)


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


async def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(
        exc.status, exc.message, code=exc.code, details=exc.details, headers=exc.headers
    )


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    details = validation_details(exc)
    fields = ", ".join(d["field"] for d in details)
    return error_response(422, f"invalid fields: {fields}", details=details)


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(
        exc.status_code, str(exc.detail), headers=dict(exc.headers) if exc.headers else None
    )


async def _dapr_error(request: Request, exc: Exception) -> Response:
    """A sidecar that is away, or a store or broker behind it that is (status 0 or 5xx,
    e.g. PostgreSQL stopped): the service is unavailable for now, a 503 the client may
    retry, not a 500. Anything else Dapr refuses is our bug: 500."""
    assert isinstance(exc, DaprError)
    if exc.status == 0 or exc.status >= 500 or exc.status == 429:
        log.warning("dependency unavailable on %s %s: %s", request.method, request.url.path, exc)
        response = error_response(
            503, "a service taskwave depends on is unavailable right now; try again shortly"
        )
        response.headers["retry-after"] = "1"
        return response
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal error", code="internal")


EXCEPTION_HANDLERS = {
    ApiError: _api_error,
    ValidationError: _validation_error,
    HTTPException: _http_error,
    DaprError: _dapr_error,
    Exception: _unexpected,
}
