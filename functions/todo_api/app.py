from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from starlette.applications import Starlette

from functions.todo_api.auth import Accounts
from functions.todo_api.chat.engine import ChatEngine
from functions.todo_api.chat.llm import LlmClient
from functions.todo_api.handlers import NAME, Api
from functions.todo_api.http import API
from functions.todo_api.lists import Lists, ListService
from functions.todo_api.outbox import KvOutbox
from functions.todo_api.passwords import Passwords
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
    outbox = KvOutbox(kv, sidecar.publisher)
    lists = Lists(kv)
    service = TaskService(tasks, ListCache(tasks, kv), sidecar.publisher, lists)
    list_service = ListService(kv, outbox, service.purge_list)
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
    chat = ChatEngine(service, kv, llm, list_service)
    passwords = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        concurrency=settings.hash_concurrency,
        wait_s=settings.hash_wait_s,
    )
    accounts = Accounts(kv, outbox, passwords)
    api = Api(service, list_service, accounts, tokens, settings, sidecar.invoker, chat)
    sweeper: list[asyncio.Task[None]] = []

    async def start_sweeper() -> None:
        sweeper.append(
            asyncio.create_task(
                outbox.run_sweeper(
                    timedelta(seconds=settings.outbox_sweep_s),
                    timedelta(seconds=settings.outbox_grace_s),
                )
            )
        )

    async def stop_sweeper() -> None:
        for task in sweeper:
            task.cancel()

    app = create_function_app(
        name=NAME,
        settings=settings,
        dapr=sidecar,
        routes=[*(ep.route() for ep in api.endpoints()), *web_routes()],
        # The REST API (bearer tokens) and the web page; /internal/ is the sidecar's.
        public=(f"{API}/", "/", "/static/"),
        ready_checks={"signing_key": tokens.ready},
        on_startup=[start_sweeper],
        on_shutdown=[stop_sweeper, passwords.aclose, *([llm.aclose] if llm else [])],
    )
    app.state.api = api
    app.state.outbox = outbox
    return app
