from __future__ import annotations

from shared.dapr.sidecar import DaprSidecar
from shared.settings import FunctionSettings


def sidecar_for(settings: FunctionSettings) -> DaprSidecar:
    token = settings.dapr_api_token.get_secret_value() if settings.dapr_api_token else None
    return DaprSidecar(
        http_port=settings.dapr_http_port,
        pubsub=settings.pubsub,
        secret_store=settings.secret_store,
        api_token=token,
    )
