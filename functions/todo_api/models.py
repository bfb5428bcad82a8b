"""What the HTTP API accepts: strict models whose errors name the field (DESIGN §3)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from shared.domain.bounds import BoundedDatetime
from shared.domain.recurrence import Recurrence, TimeZoneName
from shared.domain.reminders import ReminderSpec
from shared.events import ListSnapshot, Priority, ReminderAudience, Role, TaskSnapshot

MAX_TAGS = 20
MAX_REMINDERS = 10

_TAG = re.compile(r"^[\w-]{1,40}$")


def _tag(value: str) -> str:
    tag = value.strip().removeprefix("#").lower()
    if not _TAG.match(tag):
        raise ValueError("a tag is 1-40 letters, digits, '_' or '-'")
    return tag


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


Tag = Annotated[str, AfterValidator(_tag)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=5000)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique)]
Reminders = Annotated[list[ReminderSpec], Field(max_length=MAX_REMINDERS)]
ListId = Annotated[str, StringConstraints(min_length=1, max_length=100)]
ListName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Register(_Strict):
    username: Annotated[
        str, StringConstraints(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    ]
    password: Annotated[str, StringConstraints(min_length=8, max_length=128)]
    timezone: TimeZoneName = "UTC"


class TokenRequest(_Strict):
    username: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


def _needs_due(reminders: list[ReminderSpec], due_at: datetime | None) -> None:
    if due_at is None and any(r.before is not None for r in reminders):
        raise ValueError("reminders with 'before' need a due_at")


class TaskCreate(_Strict):
    title: Title
    list_id: ListId | None = Field(default=None, description="Default: your default list.")
    description: Description = ""
    priority: Priority = "medium"
    tags: Tags = Field(default_factory=list)
    due_at: BoundedDatetime | None = None
    timezone: TimeZoneName | None = None
    recurrence: Recurrence | None = None
    reminders: Reminders = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _needs_due(self.reminders, self.due_at)
        return self


class TaskPatch(_Strict):
    """Only the fields sent change; `null` clears the optional ones."""

    title: Title | None = None
    description: Description | None = None
    priority: Priority | None = None
    tags: Tags | None = None
    due_at: BoundedDatetime | None = None
    timezone: TimeZoneName | None = None
    recurrence: Recurrence | None = None
    reminders: Reminders | None = None
    list_id: ListId | None = Field(default=None, description="Move the task to this list.")

    @field_validator("title", "priority", "tags", "timezone", "reminders", "list_id", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null")
        return value

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


# --- search -----------------------------------------------------------------------------

SortField = Literal["due_at", "priority", "created_at", "updated_at", "title"]
MAX_LIMIT = 500
MAX_SORT_KEYS = 3  # DESIGN §3; more only costs the store work


def _split(value: Any) -> Any:
    """`priority=high,urgent` and `priority=high&priority=urgent` mean the same."""
    if isinstance(value, list):
        return [p.strip() for v in value for p in str(v).split(",") if p.strip()]
    return value


def _one(value: Any) -> Any:
    if isinstance(value, list):
        if len(value) != 1:
            raise ValueError("give this parameter once")
        return value[0]
    return value


One = BeforeValidator(_one)


def _grouped(multi: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Query parameters as lists, so a repeated single-valued one can be refused."""
    grouped: dict[str, list[str]] = {}
    for key, value in multi:
        grouped.setdefault(key, []).append(value)
    return grouped


class SortKey(_Strict):
    field: SortField
    descending: bool = False


class SearchParams(_Strict):
    list_id: Annotated[ListId | None, One] = None
    q: Annotated[str | None, One, StringConstraints(max_length=200)] = None
    status: Annotated[Literal["open", "completed", "all"], One] = "all"
    priority: Annotated[list[Priority], BeforeValidator(_split)] = Field(default_factory=list)
    tag: Annotated[list[Tag], BeforeValidator(_split)] = Field(default_factory=list)
    due_before: Annotated[AwareDatetime | None, One] = None
    due_after: Annotated[AwareDatetime | None, One] = None
    overdue: Annotated[bool | None, One] = None
    sort: list[SortKey] = Field(default_factory=list, max_length=MAX_SORT_KEYS)
    limit: Annotated[int, One, Field(ge=1, le=MAX_LIMIT)] = 50
    cursor: Annotated[str | None, One, StringConstraints(max_length=2000)] = None

    @field_validator("sort", mode="before")
    @classmethod
    def _sort_keys(cls, value: Any) -> Any:
        keys = []
        for item in _split(value if isinstance(value, list) else [value]):
            if isinstance(item, str):
                item = {"field": item.removeprefix("-"), "descending": item.startswith("-")}
            keys.append(item)
        return keys

    @classmethod
    def from_query(cls, multi: list[tuple[str, str]]) -> SearchParams:
        return cls.model_validate(_grouped(multi))


# --- responses (documented in the OpenAPI file) -------------------------------------------


class TaskOut(TaskSnapshot):
    overdue: bool


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None
    total: int


class UserOut(BaseModel):
    id: str
    username: str
    timezone: str
    default_list: str


class SessionCheck(_Strict):
    token: Annotated[str, StringConstraints(max_length=4096)]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class ClientConfig(BaseModel):
    websocket_url: str
    api_base: str = "/api/v1"


class PageQuery(_Strict):
    limit: Annotated[int, One, Field(ge=1, le=MAX_LIMIT)] = 50
    cursor: Annotated[str | None, One, StringConstraints(max_length=2000)] = None

    @classmethod
    def from_query(cls, multi: list[tuple[str, str]]) -> Self:
        return cls.model_validate(_grouped(multi))


class AuditQuery(PageQuery):
    task_id: Annotated[str | None, One, StringConstraints(max_length=100)] = None


class LogPage(BaseModel):
    """A page of the audit log or of delivered reminders, oldest first / newest first."""

    items: list[dict[str, Any]]
    next_cursor: str | None


# --- lists ------------------------------------------------------------------------------


class ListCreate(_Strict):
    name: ListName


class ListPatch(_Strict):
    name: ListName | None = None
    remind: ReminderAudience | None = Field(
        default=None, description="Reminders reach the task's creator, or every member."
    )


class MemberPut(_Strict):
    role: Literal["editor", "viewer"]


class ListOut(ListSnapshot):
    role: Role = Field(description="Your role in this list.")


class ListItems(BaseModel):
    items: list[ListOut]


class InvitationOut(BaseModel):
    list_id: str
    list_name: str
    role: Role = Field(description="The role you get if you accept.")
    by_name: str = Field(description="Who invited you.")
    at: str


class InvitationItems(BaseModel):
    items: list[InvitationOut]


class DeclineQuery(_Strict):
    block: Annotated[bool, One] = Field(
        default=False, description="Also refuse later invitations from them."
    )


class ChatRequest(_Strict):
    message: Annotated[str, StringConstraints(max_length=4000)]
    conversation_id: Annotated[
        str | None, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w-]+$")
    ] = None


class ChatResponse(BaseModel):
    reply: str
    actions: list[dict[str, Any]]
    conversation_id: str
