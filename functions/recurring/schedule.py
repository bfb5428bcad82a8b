"""The task's recurrence, evaluated with the shared domain rules (DESIGN §4); todo-api
applies the same rule to its stored task when it is asked for the next occurrence."""

from __future__ import annotations

from shared.domain.series import next_due

__all__ = ["next_due"]
