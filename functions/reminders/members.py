"""Who is in a list now: asked of todo-api (service invocation) when a reminder fires,
so membership at firing time decides, not membership when it was scheduled."""

from __future__ import annotations

from shared.dapr import DaprError, Invoker
from shared.events import ListSnapshot
from shared.internal_api import list_path


class MembershipUnknown(Exception):
    """todo-api could not say; the job callback fails and the scheduler retries it."""


class ListDirectory:
    def __init__(self, invoker: Invoker, todo_api: str) -> None:
        self._invoker = invoker
        self._todo_api = todo_api

    async def __call__(self, list_id: str) -> ListSnapshot | None:
        try:
            resp = await self._invoker.invoke(self._todo_api, list_path(list_id), http_method="GET")
        except DaprError as exc:
            raise MembershipUnknown(list_id) from exc
        if resp.status == 404 and _code(resp.body) == "not_found":
            return None  # deleted: its reminders reach nobody
        if resp.status != 200 or not isinstance(resp.body, dict):
            raise MembershipUnknown(f"{list_id}: todo-api answered {resp.status}")
        fields = ListSnapshot.model_fields
        return ListSnapshot.model_validate({k: v for k, v in resp.body.items() if k in fields})


def _code(body: object) -> object:
    """The error code of todo-api's answer: a 404 from elsewhere (a todo-api without the
    route, mid-rollout) must not pass for "deleted" and drop the reminder for good."""
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None
