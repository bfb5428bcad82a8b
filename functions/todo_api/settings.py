from __future__ import annotations

import socket
from datetime import timedelta

from pydantic import Field

from shared.settings import FunctionSettings


class Settings(FunctionSettings):
    app_id: str = "todo-api"
    # Apps allowed on the internal routes (Dapr's dapr-caller-app-id).
    internal_callers: frozenset[str] = Field(default=frozenset({"recurring", "reminders"}))
    # Who may ask whether a token still holds (open sockets close when it does not).
    session_callers: frozenset[str] = Field(default=frozenset({"realtime"}))
    # Secrets (in the `secrets` store) for bearer tokens: the private key that signs
    # ({kid, privateKey}) and the public keys that verify ({kid: PEM}); shared/tokens.py.
    jwt_secret: str = "jwt"
    jwt_public_secret: str = "jwt-public"
    token_ttl: timedelta = timedelta(hours=12)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Password hashing (Argon2id). Peak memory of hashing is hash_concurrency ×
    # argon2_memory_kib (4 × 32 MiB = 128 MiB beside ~100 MiB of process: room in the
    # chart's 384 Mi). Hashes made earlier keep their own parameters when verified.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=32 * 1024, ge=8 * 1024)
    argon2_parallelism: int = Field(default=1, ge=1)
    # At most this many hashes at once per replica; a sign-in or registration waits at
    # most hash_wait_s for a slot, then gets 429 with Retry-After.
    hash_concurrency: int = Field(default=4, ge=1)
    hash_wait_s: float = Field(default=1.0, gt=0)
    # Sign-in throttling (per replica): after login_free_per_user attempts for a
    # username, or login_free_per_address from one client address, each further one
    # waits login_backoff_s, then twice that, ... at most login_backoff_cap_s (429 with
    # Retry-After). A success clears the username and refunds the address.
    login_free_per_user: int = Field(default=5, ge=1)
    login_free_per_address: int = Field(default=20, ge=1)
    login_backoff_s: float = Field(default=1.0, gt=0)
    login_backoff_cap_s: float = Field(default=300.0, gt=0)
    # Registration: register_burst accounts at once per client address, then
    # register_per_minute (429 with Retry-After beyond).
    register_burst: int = Field(default=20, ge=1)
    register_per_minute: float = Field(default=10.0, gt=0)
    # Chat messages per user: chat_burst at once, then chat_per_minute (429 beyond); each
    # may cost LLM calls.
    chat_burst: int = Field(default=10, ge=1)
    chat_per_minute: float = Field(default=20.0, gt=0)
    # Keys each throttle table remembers (least recently used go first).
    throttle_max_keys: int = Field(default=100_000, ge=100)
    # Per-account limits (functions/todo_api/limits.py; 409 limit_reached beyond).
    max_tasks_per_account: int = Field(default=10_000, ge=1)
    max_lists_owned: int = Field(default=100, ge=1)
    max_members_per_list: int = Field(default=50, ge=2)
    max_lists_joined: int = Field(default=200, ge=1)
    max_jobs_per_user: int = Field(default=2_000, ge=1)
    # Strict-Transport-Security on every response when > 0 (the chart sets it when the
    # ingress terminates TLS; never over plain HTTP locally).
    hsts_max_age_s: int = Field(default=0, ge=0)
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
