"""The one schema module for every event taskwave publishes (DESIGN §2).

Each event travels as the `data` of a CloudEvents 1.0 envelope that Dapr adds;
`type` is the discriminator, so `parse_event` yields the right model.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from shared.domain.bounds import BoundedDatetime
from shared.domain.recurrence import Recurrence
from shared.domain.reminders import ReminderSpec
from shared.topics import Topic

SCHEMA_VERSION = 1

Priority = Literal["low", "medium", "high", "urgent"]
Status = Literal["open", "completed"]
# owner: everything; editor: tasks too; viewer: reads only (DESIGN §3).
Role = Literal["owner", "editor", "viewer"]
# Who a list's reminders reach: the task's creator, or every member.
ReminderAudience = Literal["creator", "members"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class TaskSnapshot(_Model):
    """The task as it is after the change: consumers never read todo-api's store."""

    id: str
    list_id: str
    title: str
    description: str = ""
    priority: Priority = "medium"
    tags: list[str] = Field(default_factory=list)
    due_at: BoundedDatetime | None = None
    timezone: str = "UTC"
    recurrence: Recurrence | None = None
    reminders: list[ReminderSpec] = Field(default_factory=list)
    status: Status = "open"
    completed_at: AwareDatetime | None = None
    series_id: str | None = None
    # Due date of the series' first occurrence: keeps "monthly on the 31st" and
    # "every 2 weeks" anchored however the occurrences in between fell.
    series_start: AwareDatetime | None = None
    occurrence: int = 1
    created_at: AwareDatetime
    updated_at: AwareDatetime
    version: int = 1
    created_by: str | None = None


class Member(_Model):
    user_id: str
    username: str
    role: Role


class ListSnapshot(_Model):
    """A list and its members as they are after the change."""

    id: str
    name: str
    owner_id: str
    members: list[Member]
    invited: list[Member] = Field(
        default_factory=list,
        description="Invited, not members yet: they see nothing of the list until they accept.",
    )
    remind: ReminderAudience = "creator"
    default: bool = Field(default=False, description="The owner's default list (not deletable).")
    created_at: AwareDatetime
    updated_at: AwareDatetime
    version: int = 1

    def role_of(self, user_id: str) -> Role | None:
        return next((m.role for m in self.members if m.user_id == user_id), None)

    @property
    def member_ids(self) -> list[str]:
        return [m.user_id for m in self.members]


class EventBase(_Model):
    event_id: UUID = Field(default_factory=uuid4)
    schema_version: Literal[1] = 1
    user_id: str = Field(min_length=1, description="Who caused the event; Kafka partition key.")
    list_id: str = Field(
        min_length=1, description="List the task belongs to: consumers route by it."
    )
    occurred_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    recipient: str | None = Field(
        default=None,
        description="On task-updates only: the member whose feed this copy is (its partition "
        "key there). A change to a shared list is published once per member.",
    )

    _utc_occurred = field_validator("occurred_at")(_utc)

    @property
    def partition_key(self) -> str:
        return self.user_id

    @property
    def primary(self) -> bool:
        """True for the copy a domain consumer acts on; the others are other members' feeds."""
        return self.recipient is None or self.recipient == self.user_id

    def for_member(self, member_id: str) -> Self:
        return self.model_copy(update={"recipient": member_id})


class _TaskEvent(EventBase):
    task_id: str
    task: TaskSnapshot
    undoes: UUID | None = Field(
        default=None,
        description="Set when this change is an undo from the history: the event it undoes "
        "(audit shows it as undone by this one).",
    )


class TaskCreated(_TaskEvent):
    type: Literal["task.created"] = "task.created"


class TaskUpdated(_TaskEvent):
    type: Literal["task.updated"] = "task.updated"
    changed: list[str] = Field(
        default_factory=list, description="Names of the fields that changed."
    )


class TaskCompleted(_TaskEvent):
    type: Literal["task.completed"] = "task.completed"


class TaskReopened(_TaskEvent):
    type: Literal["task.reopened"] = "task.reopened"


class TaskDeleted(_TaskEvent):
    type: Literal["task.deleted"] = "task.deleted"


class _ReminderEvent(EventBase):
    task_id: str
    reminder_index: int = Field(ge=0)
    occurrence: int = Field(ge=1)
    fire_at: AwareDatetime
    job_name: str

    _utc_fire = field_validator("fire_at")(_utc)


class ReminderScheduled(_ReminderEvent):
    type: Literal["reminder.scheduled"] = "reminder.scheduled"


class ReminderDue(_ReminderEvent):
    type: Literal["reminder.due"] = "reminder.due"
    title: str
    due_at: AwareDatetime | None = None


class ReminderCancelled(_ReminderEvent):
    type: Literal["reminder.cancelled"] = "reminder.cancelled"


class _ListEvent(EventBase):
    tasklist: ListSnapshot


class ListCreated(_ListEvent):
    type: Literal["list.created"] = "list.created"


class ListUpdated(_ListEvent):
    type: Literal["list.updated"] = "list.updated"
    changed: list[str] = Field(default_factory=list)


class ListDeleted(_ListEvent):
    type: Literal["list.deleted"] = "list.deleted"


class _MemberEvent(_ListEvent):
    member_id: str
    role: Role


class MemberAdded(_MemberEvent):
    type: Literal["list.member_added"] = "list.member_added"


class MemberChanged(_MemberEvent):
    type: Literal["list.member_changed"] = "list.member_changed"
    previous_role: Role


class MemberRemoved(_MemberEvent):
    """`role` is the one they had; `user_id == member_id` when they left themselves."""

    type: Literal["list.member_removed"] = "list.member_removed"


class MemberInvited(_MemberEvent):
    """The owner (`user_id`) invited `member_id`, who is not a member until they accept
    (acceptance is a `list.member_added` with `user_id == member_id`)."""

    type: Literal["list.member_invited"] = "list.member_invited"


class InvitationDeclined(_MemberEvent):
    """`member_id` declined the invitation (or the owner, `user_id`, withdrew it)."""

    type: Literal["list.invitation_declined"] = "list.invitation_declined"


TaskEvent = TaskCreated | TaskUpdated | TaskCompleted | TaskReopened | TaskDeleted
ReminderEvent = ReminderScheduled | ReminderDue | ReminderCancelled
ListEvent = (
    ListCreated
    | ListUpdated
    | ListDeleted
    | MemberAdded
    | MemberChanged
    | MemberRemoved
    | MemberInvited
    | InvitationDeclined
)
Event = Annotated[TaskEvent | ReminderEvent | ListEvent, Field(discriminator="type")]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

EVENT_TYPES: dict[str, type[EventBase]] = {
    m.model_fields["type"].default: m
    for m in (
        TaskCreated,
        TaskUpdated,
        TaskCompleted,
        TaskReopened,
        TaskDeleted,
        ReminderScheduled,
        ReminderDue,
        ReminderCancelled,
        ListCreated,
        ListUpdated,
        ListDeleted,
        MemberAdded,
        MemberChanged,
        MemberRemoved,
        MemberInvited,
        InvitationDeclined,
    )
}

# Where each type is published (the catalogue and the tests read this).
TOPIC_OF: dict[str, Topic] = {
    name: Topic.REMINDERS if name.startswith("reminder.") else Topic.TASK_EVENTS
    for name in EVENT_TYPES
}


def parse_event(data: Any) -> Event:
    """Validate a decoded `data` payload (dict or JSON text) into its event model."""
    if isinstance(data, str | bytes):
        return EVENT_ADAPTER.validate_json(data)
    return EVENT_ADAPTER.validate_python(data)
