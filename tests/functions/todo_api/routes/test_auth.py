"""Sign-out revokes tokens on the server: one token (POST /auth/signout) or every
token issued so far (POST /auth/signout-all); realtime asks whether a token holds."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.testclient import TestClient

from functions.todo_api.app import create_app
from shared.dapr.fake import FakeDapr
from tests.keys import token_secrets
from tests.sidecar import FROM_SIDECAR

API = "/api/v1"
CREDS = {"username": "ann", "password": "a passphrase"}


def _client() -> TestClient:
    client = TestClient(create_app(dapr=FakeDapr(secret_values=token_secrets())))
    assert client.post(f"{API}/auth/register", json=CREDS).status_code == 201
    return client


def _sign_in(client: TestClient) -> dict[str, str]:
    token = client.post(f"{API}/auth/token", json=CREDS).json()["access_token"]
    return {"authorization": f"Bearer {token}"}


def _status(client: TestClient, auth: dict[str, str]) -> int:
    return client.get(f"{API}/me", headers=auth).status_code


def _holds(client: TestClient, auth: dict[str, str], caller: str = "realtime") -> Any:
    token = auth["authorization"].removeprefix("Bearer ")
    headers = {**FROM_SIDECAR, "dapr-caller-app-id": caller}
    resp = client.post("/internal/v1/sessions/check", json={"token": token}, headers=headers)
    return resp.status_code, resp.json()


def test_signing_out_revokes_that_token_only() -> None:
    client = _client()
    laptop, phone = _sign_in(client), _sign_in(client)
    assert _holds(client, laptop) == (200, {"valid": True})
    assert client.post(f"{API}/auth/signout", headers=laptop).status_code == 204
    assert (_status(client, laptop), _status(client, phone)) == (401, 200)
    assert _holds(client, laptop) == (200, {"valid": False})
    assert _holds(client, phone) == (200, {"valid": True})
    assert client.post(f"{API}/auth/signout", headers=laptop).status_code == 401


def test_signing_out_everywhere_revokes_every_token_issued_so_far() -> None:
    client = _client()
    laptop, phone = _sign_in(client), _sign_in(client)
    assert client.post(f"{API}/auth/signout-all", headers=phone).status_code == 204
    assert (_status(client, laptop), _status(client, phone)) == (401, 401)
    assert _holds(client, laptop) == (200, {"valid": False})
    fresh = _sign_in(client)  # a new sign-in works again
    assert _status(client, fresh) == 200


def test_only_realtime_may_ask_whether_a_token_holds() -> None:
    client = _client()
    status, _ = _holds(client, _sign_in(client), caller="recurring")
    assert status == 403


def test_a_token_forged_with_the_public_key_is_refused() -> None:
    """HS256 keyed with the (public) verifying key, or EdDSA with an unknown kid: 401."""
    secrets = token_secrets("k1")
    client = TestClient(create_app(dapr=FakeDapr(secret_values=secrets)))
    assert client.post(f"{API}/auth/register", json=CREDS).status_code == 201
    user_id = client.get(f"{API}/me", headers=_sign_in(client)).json()["id"]
    claims = {"sub": user_id, "iss": "taskwave", "exp": 9999999999, "ver": 0}
    pem = secrets["jwt-public"]["k1"].encode()
    header = _b64(json.dumps({"alg": "HS256", "kid": "k1", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    mac = hmac.new(pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    confused = f"{header}.{body}.{_b64(mac)}"
    stranger = jwt.encode(claims, Ed25519PrivateKey.generate(), "EdDSA", headers={"kid": "k2"})
    for forged in (confused, stranger):
        resp = client.get(f"{API}/me", headers={"authorization": f"Bearer {forged}"})
        assert resp.status_code == 401
        assert resp.json()["error"] == {
            "code": "unauthorized",
            "message": "invalid, expired or signed-out token",
            "details": {},
        }


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
