from __future__ import annotations

from starlette.applications import Starlette

from functions.todo_api.auth import Accounts
from functions.todo_api.chat.engine import ChatEngine
from functions.todo_api.handlers import NAME, Api
from functions.todo_api.service import TaskService
from functions.todo_api.settings import Settings
from functions.todo_api.store import ListCache, TaskStore
from functions.todo_api.web import web_routes
from shared.dapr import Dapr
from shared.dapr.factory import sidecar_for
from shared.tokens import Tokens
from shared.web.app import create_function_app


def create_app(settings: Settings | None = None, dapr: Dapr | None = None) -> Starlette:
    settings = settings or Settings()
    sidecar: Dapr = dapr or sidecar_for(settings)
    kv = sidecar.state(settings.kv_store)
    tasks = TaskStore(sidecar.state(settings.state_store))
    service = TaskService(tasks, ListCache(tasks, kv), sidecar.publisher)
    tokens = Tokens(sidecar.secrets, settings.jwt_secret, settings.token_ttl)
    api = Api(service, Accounts(kv), tokens, settings, sidecar.invoker, ChatEngine(service, kv))

    async def signing_key_loaded() -> bool:
        return bool(await tokens.key())

    app = create_function_app(
        name=NAME,
        settings=settings,
        dapr=sidecar,
        routes=[*(ep.route() for ep in api.endpoints()), *web_routes()],
        ready_checks={"signing_key": signing_key_loaded},
    )
    app.state.api = api
    return app
