"""Strict-Transport-Security only where TLS is on (the chart sets hsts_max_age_s)."""

from __future__ import annotations

from starlette.testclient import TestClient

from functions.todo_api.app import create_app
from functions.todo_api.settings import Settings
from shared.dapr.fake import FakeDapr
from tests.keys import token_secrets

SECRETS = token_secrets()


def test_hsts_is_sent_when_configured_and_not_otherwise() -> None:
    on = TestClient(create_app(Settings(hsts_max_age_s=600), FakeDapr(secret_values=SECRETS)))
    off = TestClient(create_app(Settings(), FakeDapr(secret_values=SECRETS)))
    for path in ("/", "/api/v1/me", "/healthz"):
        assert on.get(path).headers["strict-transport-security"] == (
            "max-age=600; includeSubDomains"
        )
        assert "strict-transport-security" not in off.get(path).headers
