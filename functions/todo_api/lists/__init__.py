"""Lists and who may do what in them (DESIGN §3): owner / editor / viewer.

`policy.py` decides (pure: roles, invitations, membership changes), `repository.py`
stores (list and user rows, the old-data upgrade, the ETag retry loop), `service.py`
composes the two into the use cases the routes and the chat call.
"""

from functions.todo_api.lists.policy import MANAGE, READ, WRITE, Change, new_list, require
from functions.todo_api.lists.repository import ATTEMPTS, ListRepository, Lists
from functions.todo_api.lists.service import ListService, TaskPurge

__all__ = [
    "ATTEMPTS",
    "MANAGE",
    "READ",
    "WRITE",
    "Change",
    "ListRepository",
    "ListService",
    "Lists",
    "TaskPurge",
    "new_list",
    "require",
]
