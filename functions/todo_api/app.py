from __future__ import annotations

import httpx
from starlette.applications import Starlette

from functions.todo_api.auth import Accounts
from functions.todo_api.chat.engine import ChatEngine
from functions.todo_api.chat.llm import LlmClient
from functions.todo_api.handlers import NAME, Api
from functions.todo_api.service import TaskService
from functions.todo_api.settings import Settings
from functions.todo_api.store import ListCache, TaskStore
from functions.todo_api.web import web_routes
from shared.dapr import Dapr, DaprError
from shared.dapr.factory import sidecar_for
from shared.tokens import Tokens
from shared.web.app import create_function_app


def create_app(
    settings: Settings | None = None,
    dapr: Dapr | None = None,
    llm_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    settings = settings or Settings()
    sidecar: Dapr = dapr or sidecar_for(settings)
    kv = sidecar.state(settings.kv_store)
    tasks = TaskStore(sidecar.state(settings.state_store))
    service = TaskService(tasks, ListCache(tasks, kv), sidecar.publisher)
    tokens = Tokens(sidecar.secrets, settings.jwt_secret, settings.token_ttl)
    llm = None
    if settings.llm_endpoint:
        secrets = sidecar.secrets

        async def llm_key() -> str | None:
            try:
                return (await secrets.get_secret(settings.llm_secret)).get("apiKey")
            except DaprError:
                return None  # a local model server may need no key

        llm = LlmClient(settings.llm_endpoint, settings.llm_model, llm_key, transport=llm_transport)
    chat = ChatEngine(service, kv, llm)
    api = Api(service, Accounts(kv), tokens, settings, sidecar.invoker, chat)

    async def signing_key_loaded() -> bool:
        return bool(await tokens.key())

    app = create_function_app(
        name=NAME,
        settings=settings,
        dapr=sidecar,
        routes=[*(ep.route() for ep in api.endpoints()), *web_routes()],
        ready_checks={"signing_key": signing_key_loaded},
        on_shutdown=[llm.aclose] if llm else [],
    )
    app.state.api = api
    return app
