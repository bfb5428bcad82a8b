from __future__ import annotations

from pydantic import Field

from shared.settings import FunctionSettings


class Settings(FunctionSettings):
    app_id: str = "realtime"
    # realtime has its own pub/sub component whose consumer group is unique per
    # replica ({uuid}), so every replica sees every event.
    pubsub: str = "pubsub-fanout"
    queue_size: int = Field(default=1000, ge=1, description="Per-connection send buffer.")
