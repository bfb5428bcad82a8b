from __future__ import annotations

import socket
from datetime import timedelta

from pydantic import Field

from shared.settings import FunctionSettings


class Settings(FunctionSettings):
    app_id: str = "todo-api"
    # Apps allowed on the internal routes (Dapr's dapr-caller-app-id).
    internal_callers: frozenset[str] = Field(default=frozenset({"recurring", "reminders"}))
    # The secret (in the `secrets` store) holding `signingKey` for bearer tokens.
    jwt_secret: str = "jwt"
    token_ttl: timedelta = timedelta(hours=12)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Where browsers reach realtime's WebSocket; relative URLs resolve against the page.
    websocket_url: str = "/ws"
    # Optional LLM chat backend (OpenAI-compatible); off unless an endpoint is set. The
    # key is read from the secret store: secret `llm_secret`, value `apiKey`.
    llm_endpoint: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_secret: str = "llm"
    audit_app_id: str = "audit"
    reminders_app_id: str = "reminders"
    # The outbox (functions/todo_api/outbox.py). Its relay publishes right after each
    # commit; the sweeper looks every `outbox_sweep_s` for rows nobody relays (an indexed
    # lookup of pending rows, helm/taskwave/migrations/) and renews this replica's heartbeat. A
    # row of another replica is adopted once its heartbeat is `outbox_orphan_s` old.
    outbox_sweep_s: float = Field(default=3.0, gt=0)
    outbox_orphan_s: float = Field(default=15.0, gt=0)
    outbox_batch: int = Field(default=256, ge=1, le=5000)
    # Events kept in memory for the relay; past it (a long broker outage) the store is
    # the queue and the sweeper publishes from it in commit order.
    outbox_max_queue: int = Field(default=20_000, ge=1)
    # This replica's name on its outbox rows: stable across restarts of one pod (the
    # host name), so a restarted process takes its own rows back at once.
    replica_id: str = Field(default_factory=lambda: socket.gethostname())
    # Tests only: while this file exists the relay holds, as if the replica had stalled
    # between commit and publish.
    outbox_hold_file: str | None = None
