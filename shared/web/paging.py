"""An internal listing route's answer over shared/paging.py: the page the query string
asks for, or a 422 that names the bad parameter (a bad cursor included)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from shared.paging import BadPageParams, Page, PageRequest, page_request
from shared.web.errors import ApiError


def page_error(exc: BadPageParams) -> ApiError:
    return ApiError(422, str(exc), details=[{"field": exc.field, "message": str(exc)}])


async def page_body(
    query: Mapping[str, str], fetch: Callable[[PageRequest], Awaitable[Page]]
) -> dict[str, Any]:
    """An internal listing route's answer: the page asked for in `query`, or a 422 that
    names the bad parameter (a bad cursor included)."""
    try:
        return (await fetch(page_request(query))).body()
    except BadPageParams as exc:
        raise page_error(exc) from exc
