"""Typed settings every function reads from its environment.

`daprd`/`dapr run` and the Dapr injector set APP_ID, APP_PORT, DAPR_HTTP_PORT and
DAPR_API_TOKEN; everything of ours is prefixed TASKWAVE_.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class FunctionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TASKWAVE_", extra="ignore", frozen=True)

    app_id: str = Field(default="", validation_alias=AliasChoices("APP_ID", "TASKWAVE_APP_ID"))
    host: str = "127.0.0.1"
    port: int = Field(
        default=8000, ge=1, le=65535, validation_alias=AliasChoices("APP_PORT", "TASKWAVE_PORT")
    )
    dapr_http_port: int = Field(
        default=3500, ge=1, le=65535, validation_alias=AliasChoices("DAPR_HTTP_PORT")
    )
    dapr_api_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DAPR_API_TOKEN")
    )
    # Set on both the app and its daprd: the sidecar then sends it as `dapr-api-token`
    # on every call to the app, which proves a call came through our own sidecar. Every
    # route that is not public requires it; an app without it refuses to start.
    app_api_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("APP_API_TOKEN")
    )
    # Prometheus metrics are served on their own port (same host), which only the
    # scraper may reach; the app port has no /metrics.
    metrics_port: int = Field(default=9464, ge=1, le=65535)
    # Request bodies above this are refused (413): by Content-Length before reading,
    # or while reading a chunked body. Dapr's sidecar allows 4 MiB; events are small.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Inbound WebSocket messages above this close the socket (1009) before they are
    # buffered (uvicorn's ws_max_size; realtime checks again).
    ws_max_message_bytes: int = Field(default=4096, ge=256)
    # Proxies whose X-Forwarded-For names the client (uvicorn's forwarded_allow_ips):
    # the client address is what login, registration and socket limits count by.
    forwarded_allow_ips: str = "127.0.0.1,::1"
    # Dapr component names; the same in dapr/ (local) and the Helm chart.
    pubsub: str = "pubsub"
    state_store: str = Field(default="tasks", description="Task rows (todo-api only).")
    kv_store: str = Field(default="kv", description="Accounts, lists, consumers' own data.")
    secret_store: str = "secrets"

    log_level: str = "INFO"
    log_json: bool = True
    otel_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT", "TASKWAVE_OTEL_ENDPOINT"),
    )
