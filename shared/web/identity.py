"""Service identity for internal routes: only named Dapr apps, only through the sidecar.

The app token is checked at the edge (shared/web/edge.py) for every internal route;
it is checked here again so an internal handler never relies on the app's wiring.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection

from pydantic import SecretStr
from starlette.requests import Request

from shared.web.errors import ApiError


def from_sidecar(request: Request, app_api_token: SecretStr | None) -> bool:
    if app_api_token is None:
        return False  # fail closed: no token configured proves nothing
    sent = request.headers.get("dapr-api-token", "")
    return hmac.compare_digest(sent.encode(), app_api_token.get_secret_value().encode())


def require_caller(
    request: Request, allowed: Collection[str], app_api_token: SecretStr | None
) -> str:
    """The calling app id (Dapr's `dapr-caller-app-id`), if it is allowed; else 403."""
    caller = request.headers.get("dapr-caller-app-id", "")
    if not from_sidecar(request, app_api_token) or caller not in allowed:
        raise ApiError(403, "this route is for taskwave services only", code="forbidden")
    return caller
