"""Who may do what in a shared list: one table, run over the in-memory fakes (unit) and
over the real stack (integration).

Roles: owner, editor, viewer, outsider, and invitee (invited, not accepted: exactly an
outsider, so the table gives that column the outsider's status). Each case starts from
a fresh list (owned by `owner`, shared with `editor`, `viewer` and one more viewer,
`member`, whom role changes and removals aim at; `invitee` invited) holding one task,
makes one request as one role, and checks the status; a refused request must leave
the list and the task as they were.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ROLES = ("owner", "editor", "viewer", "outsider", "invitee")

# (role, method, path under /api/v1, json, params) -> (status, body)
Call = Callable[[str, str, str, Any, dict[str, Any] | None], tuple[int, Any]]


@dataclass
class Fixture:
    list_id: str
    list_name: str
    task_title: str
    task_id: str
    names: dict[str, str]  # role (and "member") -> username
    own_task: dict[str, str]  # role -> a task in that role's own default list


@dataclass(frozen=True)
class Case:
    action: str
    method: str
    path: str  # {list}, {task}, {own}, {member}, {me}, {new} are filled in
    expected: tuple[int, int, int, int]  # owner, editor, viewer, outsider (= invitee)
    json: Any = None
    params: dict[str, Any] | None = None
    writes: bool = True

    def request(self, fx: Fixture, role: str, newcomer: str) -> tuple[str, Any, Any]:
        fill = {
            "list": fx.list_id,
            "task": fx.task_id,
            "own": fx.own_task.get(role, ""),
            "member": fx.names["member"],
            "me": fx.names[role],
            "new": newcomer,
        }
        path = self.path.format(**fill)
        body = _fill(self.json, fill)
        params = _fill(self.params, fill)
        return path, body, params


def _fill(value: Any, fill: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**fill)
    if isinstance(value, dict):
        return {k: _fill(v, fill) for k, v in value.items()}
    return value


OK_READ = (200, 200, 200, 404)
CASES = (
    Case("read task", "GET", "/tasks/{task}", OK_READ, writes=False),
    Case("read list", "GET", "/lists/{list}", OK_READ, writes=False),
    Case("search list", "GET", "/tasks", OK_READ, params={"list_id": "{list}"}, writes=False),
    Case("audit of task", "GET", "/audit", OK_READ, params={"task_id": "{task}"}, writes=False),
    Case(
        "create task",
        "POST",
        "/tasks",
        (201, 201, 403, 404),
        json={"title": "new", "list_id": "{list}"},
    ),
    Case("edit task", "PATCH", "/tasks/{task}", (200, 200, 403, 404), json={"title": "edited"}),
    Case("complete task", "POST", "/tasks/{task}/complete", (200, 200, 403, 404)),
    Case("delete task", "DELETE", "/tasks/{task}", (204, 204, 403, 404)),
    Case("move task in", "PATCH", "/tasks/{own}", (200, 200, 403, 404), json={"list_id": "{list}"}),
    Case("rename list", "PATCH", "/lists/{list}", (200, 403, 403, 404), json={"name": "renamed"}),
    Case(
        "share list",
        "PUT",
        "/lists/{list}/members/{new}",
        (202, 403, 403, 404),  # an invitation
        json={"role": "editor"},
    ),
    Case(
        "change role",
        "PUT",
        "/lists/{list}/members/{member}",
        (200, 403, 403, 404),
        json={"role": "editor"},
    ),
    Case("remove member", "DELETE", "/lists/{list}/members/{member}", (204, 403, 403, 404)),
    # The owner cannot leave (409): the list would have nobody to manage it.
    Case("leave list", "DELETE", "/lists/{list}/members/{me}", (409, 204, 204, 404)),
    Case("delete list", "DELETE", "/lists/{list}", (204, 403, 403, 404)),
)


def set_up(call: Call, names: dict[str, str]) -> Fixture:
    # One word, so the chat can name it too.
    status, made = call("owner", "POST", "/lists", {"name": f"trip{uuid.uuid4().hex[:6]}"}, None)
    assert status == 201, made
    list_id = made["id"]
    for who, role in (
        ("editor", "editor"),
        ("viewer", "viewer"),
        ("member", "viewer"),
        ("invitee", "editor"),
    ):
        status, body = call(
            "owner", "PUT", f"/lists/{list_id}/members/{names[who]}", {"role": role}, None
        )
        assert status == 202, body
        if who != "invitee":  # who stays invited and never answers
            status, body = call(who, "POST", f"/invitations/{list_id}/accept", None, None)
            assert status == 200, body
    title = f"milk{uuid.uuid4().hex[:6]}"
    status, task = call("owner", "POST", "/tasks", {"title": title, "list_id": list_id}, None)
    assert status == 201, task
    own = {}
    for role in ROLES:
        status, mine = call(role, "POST", "/tasks", {"title": "mine"}, None)
        assert status == 201, mine
        own[role] = mine["id"]
    return Fixture(list_id, made["name"], title, task["id"], names, own)


def snapshot(call: Call, fx: Fixture) -> tuple[Any, ...]:
    """What a refused request must not change, as the owner sees it."""
    _, lst = call("owner", "GET", f"/lists/{fx.list_id}", None, None)
    _, task = call("owner", "GET", f"/tasks/{fx.task_id}", None, None)
    _, page = call("owner", "GET", "/tasks", None, {"list_id": fx.list_id, "limit": 500})
    return (
        lst.get("version"),
        sorted((m["username"], m["role"]) for m in lst.get("members", [])),
        lst.get("name"),
        task.get("version"),
        sorted(t["id"] for t in page.get("items", [])),
    )


def run(call: Call, names: dict[str, str], newcomer: str) -> list[str]:
    """Every case for every role; returns the failures (empty when the table holds).
    `names` maps each role and "member" to a registered username. A fixture is reused
    until a request changes it (refusals must not), so the run stays light on events."""
    failures: list[str] = []
    fx: Fixture | None = None
    for case in CASES:
        for role, expected in zip(ROLES, (*case.expected, case.expected[3]), strict=True):
            fx = fx or set_up(call, names)
            before = snapshot(call, fx)
            own_before = call(role, "GET", f"/tasks/{fx.own_task[role]}", None, None)
            path, body, params = case.request(fx, role, newcomer)
            status, answer = call(role, case.method, path, body, params)
            if status != expected:
                failures.append(f"{case.action} as {role}: {status} (expected {expected}) {answer}")
                fx = None
                continue
            if status < 400:
                fx = fx if not case.writes else None
                continue
            if isinstance(answer, dict) and "error" not in answer:
                failures.append(f"{case.action} as {role}: no error envelope: {answer}")
            if case.writes and snapshot(call, fx) != before:
                failures.append(f"{case.action} as {role}: refused but changed something")
                fx = None
            elif call(role, "GET", f"/tasks/{fx.own_task[role]}", None, None) != own_before:
                failures.append(f"{case.action} as {role}: refused but moved their task")
                fx = None
    return failures


# The chat acts through the same services: it may do what the role may, and for the
# rest it answers (200) without changing anything.
CHAT_CASES = (
    ("chat: add a task", "add bread to {name}", (True, True, False, False)),
    ("chat: complete", "complete {task}", (True, True, False, False)),
    ("chat: share", "share {name} with {new}", (True, False, False, False)),
    ("chat: rename", "rename list {name} to other{name}", (True, False, False, False)),
)


def run_chat(call: Call, names: dict[str, str], newcomer: str) -> list[str]:
    failures: list[str] = []
    fx: Fixture | None = None
    for action, message, changes in CHAT_CASES:
        for role, expected in zip(ROLES, (*changes, changes[3]), strict=True):
            fx = fx or set_up(call, names)
            before = snapshot(call, fx)
            said = message.format(name=fx.list_name, task=fx.task_title, new=newcomer)
            status, answer = call(role, "POST", "/chat", {"message": said}, None)
            changed = snapshot(call, fx) != before
            if status != 200 or changed != expected:
                failures.append(
                    f"{action} as {role}: {status}, changed={changed} (expected {expected}): "
                    f"{answer.get('reply') if isinstance(answer, dict) else answer}"
                )
            if changed:
                fx = None
    return failures
