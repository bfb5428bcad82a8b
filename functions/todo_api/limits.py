"""Per-account limits (DESIGN §3 bounded cost): what one account may hold, so nobody can
make todo-api, the stores or the job scheduler do unbounded work. Hitting one is a 409
(code `limit_reached`) whose message says what to do; the chat says the same sentence.
Reminders per task are bounded by the request schema (models.MAX_REMINDERS, 422)."""

from __future__ import annotations

from dataclasses import dataclass

from functions.todo_api.errors import Refused


@dataclass(frozen=True)
class Limits:
    tasks_per_account: int = 10_000  # tasks in the lists you are a member of
    lists_owned: int = 100
    members_per_list: int = 50  # members and pending invitations, the owner included
    lists_joined: int = 200  # lists you are a member of, your own included
    jobs_per_user: int = 2_000  # reminders of open tasks in your lists (one job each)


class LimitReached(Refused):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="limit_reached")
