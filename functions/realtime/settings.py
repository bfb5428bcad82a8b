from __future__ import annotations

from pydantic import Field

from shared.settings import FunctionSettings


class Settings(FunctionSettings):
    app_id: str = "realtime"
    # realtime has its own pub/sub component whose consumer group is unique per
    # replica, so every replica sees every event.
    pubsub: str = "pubsub-fanout"
    # The public keys that verify bearer tokens ({kid: PEM}); realtime never holds the
    # private key, so it cannot mint a token (shared/tokens.py).
    jwt_public_secret: str = "jwt-public"
    queue_size: int = Field(default=1000, ge=1, description="Per-connection send buffer.")
    # What is kept for resume: per user by count and bytes, in all by bytes, and a user
    # with no socket and no event for retention_idle_s is forgotten (a resume resyncs).
    retention: int = Field(default=1000, ge=1, description="Messages kept per user for resume.")
    retention_user_bytes: int = Field(default=256 * 1024, ge=1024)
    retention_total_bytes: int = Field(default=64 * 1024 * 1024, ge=1024 * 1024)
    retention_idle_s: float = Field(default=900.0, gt=0)
    # Open sockets (authenticating ones included) per client address, and per user once
    # authenticated; beyond, the socket is refused (4429). Inbound messages are capped
    # by FunctionSettings.ws_max_message_bytes (4 KiB; close 1009).
    max_sockets_per_address: int = Field(default=200, ge=1)
    max_sockets_per_user: int = Field(default=20, ge=1)
    heartbeat_s: float = Field(default=20.0, gt=0)
    # An open socket's token is asked about again (todo-api, which knows sign-outs) this
    # often; it closes (4401) when signed out, and when the token expires.
    token_recheck_s: float = Field(default=15.0, gt=0)
    todo_api_app_id: str = "todo-api"
    auth_timeout_s: float = Field(default=10.0, gt=0)
