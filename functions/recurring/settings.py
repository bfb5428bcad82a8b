from __future__ import annotations

from shared.settings import FunctionSettings


class Settings(FunctionSettings):
    app_id: str = "recurring"
    todo_api_app_id: str = "todo-api"
