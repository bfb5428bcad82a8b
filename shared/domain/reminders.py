"""Reminder specs and when they fire (DESIGN §4).

A task's reminders are a list; the reminders function names one Dapr job per entry from
the task id and the entry's index, so :func:`reminder_times` keeps the list's order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.domain.bounds import BoundedDatetime

__all__ = ["MAX_BEFORE", "ReminderSpec", "is_overdue", "parse_duration", "reminder_times"]

MAX_BEFORE = timedelta(days=366)

# ISO 8601 durations with fixed-length units only: years and months vary in length, so
# "P1M before" would have no single meaning.
_DURATION = re.compile(
    r"P(?:(?P<weeks>\d{1,7})W"
    r"|(?:(?P<days>\d{1,7})D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d{1,7})H)?(?:(?P<minutes>\d{1,7})M)?(?:(?P<seconds>\d{1,7})S)?)?)"
)


def parse_duration(value: str) -> timedelta:
    """Parse ``PnW`` or ``PnDTnHnMnS`` (any part optional, at least one given)."""
    text = value.strip().upper()
    m = _DURATION.fullmatch(text)
    if m is None or not any(m.groupdict().values()):
        date_part = text.partition("T")[0]
        if re.fullmatch(r"P(\d+[YMWD])+", date_part) and re.search("[YM]", date_part):
            raise ValueError(f"{value!r}: years and months have no fixed length; use weeks or days")
        raise ValueError(f"{value!r} is not an ISO 8601 duration like PT15M, PT1H30M or P1D")
    return timedelta(**{k: int(v) for k, v in m.groupdict().items() if v is not None})


class ReminderSpec(BaseModel):
    """``{before: "PT15M"}`` (relative to the due date) or ``{at: RFC 3339}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    before: str | None = Field(default=None, max_length=64, examples=["PT15M", "P1D"])
    at: BoundedDatetime | None = None

    @field_validator("before")
    @classmethod
    def _valid_before(cls, value: str | None) -> str | None:
        if value is None:
            return None
        offset = parse_duration(value)
        if offset <= timedelta(0):
            raise ValueError("before must be longer than zero")
        if offset > MAX_BEFORE:
            raise ValueError("before must be at most 366 days")
        return value.strip().upper()

    @field_validator("at")
    @classmethod
    def _at_in_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.before is None) == (self.at is None):
            raise ValueError("a reminder needs exactly one of before or at")
        return self

    def fires_at(self, due_at: datetime | None) -> datetime:
        """When this reminder fires (UTC); ``before`` needs a timezone-aware ``due_at``."""
        if self.at is not None:
            return self.at
        assert self.before is not None  # guaranteed by _exactly_one
        if due_at is None:
            raise ValueError("a 'before' reminder needs a due date")
        if due_at.utcoffset() is None:
            raise ValueError("due_at must be timezone-aware")
        # Subtract in UTC: aware arithmetic in a DST zone is wall-clock arithmetic and
        # could put "15 minutes before" after the due time on a spring-forward night.
        return due_at.astimezone(UTC) - parse_duration(self.before)


def reminder_times(specs: Sequence[ReminderSpec], due_at: datetime | None) -> list[datetime]:
    """Fire times (UTC), index for index with ``specs``; duplicates and past times stay."""
    return [spec.fires_at(due_at) for spec in specs]


def is_overdue(due_at: datetime | None, status: str, now: datetime) -> bool:
    """An open task is overdue once its due date has passed."""
    return status == "open" and due_at is not None and due_at < now
