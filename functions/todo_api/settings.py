from __future__ import annotations

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
    # The kv outbox's sweeper: how often it looks, and how old a pending event must be
    # before it is taken for abandoned (its request normally delivers it in milliseconds).
    # Each sweep is one Query API call over the kv table (no index on `kind`): not too often.
    outbox_sweep_s: float = Field(default=30.0, gt=0)
    outbox_grace_s: float = Field(default=15.0, ge=0)
