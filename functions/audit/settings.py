from __future__ import annotations

from pydantic import Field

from shared.settings import FunctionSettings


class Settings(FunctionSettings):
    app_id: str = "audit"
    # Apps allowed on the internal routes (Dapr's dapr-caller-app-id).
    internal_callers: frozenset[str] = Field(default=frozenset({"todo-api"}))
