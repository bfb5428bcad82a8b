from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
from starlette.applications import Starlette

from functions.todo_api.auth import Accounts, Sessions
from functions.todo_api.chat.engine import ChatEngine
from functions.todo_api.chat.llm import LlmClient
from functions.todo_api.gateway import Gateway
from functions.todo_api.http import API, account
from functions.todo_api.limits import Limits
from functions.todo_api.list_cache import ListCache
from functions.todo_api.lists import Lists, ListService
from functions.todo_api.mcp_app import PATH as MCP_PATH
from functions.todo_api.mcp_app import TaskwaveMcp
from functions.todo_api.outbox import Outbox
from functions.todo_api.passwords import Passwords
from functions.todo_api.routes import Routes
from functions.todo_api.service import TaskService
from functions.todo_api.settings import Settings
from functions.todo_api.store import TaskStore
from functions.todo_api.undo_service import UndoService
from functions.todo_api.web import Hsts, web_routes
from shared.dapr import Dapr, DaprError
from shared.dapr.factory import sidecar_for
from shared.tokens import Tokens
from shared.web.app import create_function_app
from shared.web.auth import BearerTokens

NAME = "todo-api"


def create_app(
    settings: Settings | None = None,
    dapr: Dapr | None = None,
    llm_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    settings = settings or Settings()
    sidecar: Dapr = dapr or sidecar_for(settings)
    kv = sidecar.state(settings.kv_store)
    tasks = TaskStore(sidecar.state(settings.state_store))
    lists = Lists(kv)
    cache = ListCache(tasks)
    outbox = Outbox(
        {tasks.name: tasks.state, kv.name: kv},
        kv,
        sidecar.publisher,
        # Two processes of one host (the local stack's replicas) are two replicas.
        owner=f"{settings.replica_id}:{settings.port}",
        batch=settings.outbox_batch,
        max_queue=settings.outbox_max_queue,
        orphan_after=timedelta(seconds=settings.outbox_orphan_s),
        held=(lambda: Path(hold).exists()) if (hold := settings.outbox_hold_file) else None,
        audience=lists.audience,
        adopted=cache.touched,
    )
    limits = Limits(
        tasks_per_account=settings.max_tasks_per_account,
        lists_owned=settings.max_lists_owned,
        members_per_list=settings.max_members_per_list,
        lists_joined=settings.max_lists_joined,
        jobs_per_user=settings.max_jobs_per_user,
    )
    service = TaskService(tasks, cache, outbox, lists, limits)
    list_service = ListService(kv, outbox, service.purge_list, limits)
    tokens = Tokens(
        sidecar.secrets,
        public=settings.jwt_public_secret,
        signing=settings.jwt_secret,
        ttl=settings.token_ttl,
    )
    llm = None
    if settings.llm_endpoint:
        secrets = sidecar.secrets

        async def llm_key() -> str | None:
            try:
                return (await secrets.get_secret(settings.llm_secret)).get("apiKey")
            except DaprError:
                return None  # a local model server may need no key

        llm = LlmClient(settings.llm_endpoint, settings.llm_model, llm_key, transport=llm_transport)

    gateway = Gateway(sidecar.invoker, settings.audit_app_id, settings.reminders_app_id)
    undo = UndoService(service, gateway, kv)  # the route's, and the chat's "undo that"
    chat = ChatEngine(service, kv, llm, list_service, undo)
    passwords = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        concurrency=settings.hash_concurrency,
        wait_s=settings.hash_wait_s,
    )
    accounts = Accounts(kv, outbox, passwords)
    sessions = Sessions(tokens, accounts)
    api = Routes(
        service=service,
        lists=list_service,
        accounts=accounts,
        sessions=sessions,
        chat=chat,
        gateway=gateway,
        undo=undo,
        kv=kv,
        settings=settings,
    )
    mcp = TaskwaveMcp(service, list_service, account)
    background: list[asyncio.Task[None]] = []

    async def start_relay() -> None:
        background.append(
            asyncio.create_task(outbox.run(timedelta(seconds=settings.outbox_sweep_s)))
        )
        background.append(asyncio.create_task(cache.run_renewer()))

    async def stop_relay() -> None:
        for task in background:
            task.cancel()
        # A last chance for what was just committed; the rest waits for the sweeper.
        await outbox.drain(timeout_s=2.0)

    app = create_function_app(
        name=NAME,
        settings=settings,
        dapr=sidecar,
        routes=[*api.routes(), *web_routes(), *mcp.routes()],
        # The REST API and MCP (bearer tokens), the web page; /internal/ is the sidecar's.
        public=(f"{API}/", "/", "/static/", MCP_PATH, f"{MCP_PATH}/"),
        ready_checks={"token_keys": tokens.ready},
        # Bearer tokens become request.user before any handler (REST and /mcp alike).
        authentication=BearerTokens(sessions.resolve),
        on_startup=[start_relay, mcp.start],
        on_shutdown=[mcp.stop, stop_relay, passwords.aclose, *([llm.aclose] if llm else [])],
    )
    if settings.hsts_max_age_s:
        app.add_middleware(Hsts, max_age_s=settings.hsts_max_age_s)
    app.state.api = api
    app.state.outbox = outbox
    return app
