from __future__ import annotations

from pydantic import Field

from shared.settings import FunctionSettings


class Settings(FunctionSettings):
    app_id: str = "realtime"
    # realtime has its own pub/sub component whose consumer group is unique per
    # replica, so every replica sees every event.
    pubsub: str = "pubsub-fanout"
    jwt_secret: str = "jwt"
    queue_size: int = Field(default=1000, ge=1, description="Per-connection send buffer.")
    retention: int = Field(default=1000, ge=1, description="Messages kept per user for resume.")
    heartbeat_s: float = Field(default=20.0, gt=0)
    auth_timeout_s: float = Field(default=10.0, gt=0)
