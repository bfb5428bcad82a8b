"""Accounts and shared lists for the load tests, made through the public REST API before
anything is measured. Plain `requests`, no Locust: run_ws calls it in its own process,
the locustfiles in theirs.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

PASSWORD = "load test pass"
Account = dict[str, Any]  # username, id, token, headers (JSON-safe: handed to Locust as a file)


def register(session: requests.Session, api: str, username: str) -> Account:
    """A new user and a token for them."""
    creds = {"username": username, "password": PASSWORD}
    made = session.post(f"{api}/auth/register", json=creds, timeout=60)
    made.raise_for_status()
    token = session.post(f"{api}/auth/token", json=creds, timeout=60).json()["access_token"]
    return {
        "username": username,
        "id": made.json()["id"],
        "token": token,
        "headers": {"authorization": f"Bearer {token}"},
    }


def websocket_urls(api: str, configured: str | None) -> list[str]:
    """The realtime sockets to use: the configured ones (comma-separated), or the one
    todo-api advertises."""
    urls = configured or requests.get(f"{api}/config", timeout=10).json()["websocket_url"]
    return str(urls).split(",")


def _share(api: str, name: str, members: list[Account]) -> dict[str, Any]:
    """The first member creates a list and shares it with the others, as editors, one at
    a time (the list row is the one thing all of them change)."""
    owner = members[0]
    with requests.Session() as session:
        made = session.post(
            f"{api}/lists", json={"name": name}, headers=owner["headers"], timeout=60
        )
        made.raise_for_status()
        list_id = made.json()["id"]
        for member in members[1:]:
            put = session.put(
                f"{api}/lists/{list_id}/members/{member['username']}",
                json={"role": "editor"},
                headers=owner["headers"],
                timeout=60,
            )
            # Sharing invites; the member accepts.
            joined = (
                session.post(
                    f"{api}/invitations/{list_id}/accept", headers=member["headers"], timeout=60
                )
                if put.status_code == 202
                else put
            )
            if joined.status_code != 200:
                raise RuntimeError(
                    f"sharing {list_id} with {member['username']}: {put.status_code} {put.text}"
                    f" / {joined.status_code} {joined.text}"
                )
    return {"id": list_id, "name": name, "members": members}


def shared_lists(
    api: str, lists: int, members: int, tag: str, workers: int = 8
) -> list[dict[str, Any]]:
    """`lists` lists of `members` new users each (the owner first, then editors):
    [{"id", "name", "members": [Account, ...]}]. Registering is most of the time (two
    Argon2 hashes per user, in todo-api)."""
    names = [[f"sl{tag}l{n}m{m}" for m in range(members)] for n in range(lists)]
    began = time.monotonic()

    def one(username: str) -> Account:
        with requests.Session() as session:
            return register(session, api, username)

    with ThreadPoolExecutor(workers) as pool:
        flat = list(pool.map(one, [u for group in names for u in group]))
        registered = time.monotonic()
        groups = [flat[n * members : (n + 1) * members] for n in range(lists)]
        rows = list(pool.map(lambda n: _share(api, f"shared {tag} {n}", groups[n]), range(lists)))
    print(
        f"registered {len(flat)} users in {registered - began:.0f} s, made and shared "
        f"{lists} lists in {time.monotonic() - registered:.0f} s",
        flush=True,
    )
    return rows
