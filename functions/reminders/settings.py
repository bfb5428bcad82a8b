from __future__ import annotations

from pydantic import Field

from shared.settings import FunctionSettings


class Settings(FunctionSettings):
    app_id: str = "reminders"
    # Apps allowed on the internal routes (Dapr's dapr-caller-app-id).
    internal_callers: frozenset[str] = Field(default=frozenset({"todo-api"}))
    # Asked, when a reminder fires, who is in the task's list now.
    todo_api_app_id: str = "todo-api"
    # The scheduler retries a failed callback (app restarting, Kafka briefly away) at this
    # interval; five minutes in all before it gives the reminder up.
    job_max_retries: int = Field(default=150, ge=0)
    job_retry_interval_s: float = Field(default=2.0, gt=0)
