"""The internal listing routes todo-api calls, audit's history and reminders' delivered
notifications, keep one contract (shared/web/identity.py, shared/web/paging.py): only
todo-api, through its sidecar, may ask, and a bad parameter is a 422 that names it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.testclient import TestClient

from functions.audit.app import create_app as create_audit
from functions.audit.settings import Settings as AuditSettings
from functions.reminders.app import create_app as create_reminders
from functions.reminders.settings import Settings as RemindersSettings
from shared.dapr.fake import FakeDapr
from stack.config import FUNCTIONS

TOKEN = "app-token-of-the-unit-tests"
TODO_API = {"dapr-caller-app-id": "todo-api", "dapr-api-token": TOKEN}
OTHER_APPS = sorted(set(FUNCTIONS) - {"todo-api"})


@dataclass(frozen=True)
class Listing:
    path: str
    app: Callable[[SecretStr], Starlette]
    # What else the route reads (audit: the lists todo-api says the caller is in).
    scope: dict[str, str]

    def client(self) -> TestClient:
        """The function's app with our app token, sending no header of its own."""
        return TestClient(self.app(SecretStr(TOKEN)))


def _audit(token: SecretStr) -> Starlette:
    return create_audit(AuditSettings(app_api_token=token), FakeDapr())


def _reminders(token: SecretStr) -> Starlette:
    return create_reminders(RemindersSettings(app_api_token=token), FakeDapr())


LISTINGS = [
    pytest.param(Listing("/internal/v1/audit", _audit, {"list_ids": "l1"}), id="audit"),
    pytest.param(Listing("/internal/v1/notifications", _reminders, {}), id="reminders"),
]


@pytest.mark.parametrize("listing", LISTINGS)
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),  # not through our sidecar: refused at the edge
        ({"dapr-caller-app-id": "todo-api"}, 401),
        ({"dapr-caller-app-id": "todo-api", "dapr-api-token": "forged"}, 401),
        # every other app, through its sidecar: not todo-api
        *(({"dapr-caller-app-id": app, "dapr-api-token": TOKEN}, 403) for app in OTHER_APPS),
    ],
)
def test_only_todo_api_through_the_sidecar_may_ask(
    listing: Listing, headers: dict[str, str], status: int
) -> None:
    resp = listing.client().get(listing.path, params={"user_id": "alice"}, headers=headers)
    assert resp.status_code == status
    assert resp.json()["error"]["code"] == ("unauthorized" if status == 401 else "forbidden")


@pytest.mark.parametrize("listing", LISTINGS)
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "user_id"),
        ({"user_id": "a", "limit": "0"}, "limit"),
        ({"user_id": "a", "limit": "501"}, "limit"),
        ({"user_id": "a", "limit": "ten"}, "limit"),
        ({"user_id": "a", "cursor": "bm90IGpzb24"}, "cursor"),  # base64, but not JSON
        ({"user_id": "a", "cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_bad_parameters_are_422(listing: Listing, params: dict[str, str], field: str) -> None:
    resp = listing.client().get(listing.path, params=params | listing.scope, headers=TODO_API)
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"] == field
