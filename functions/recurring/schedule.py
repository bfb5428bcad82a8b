from __future__ import annotations

from datetime import datetime

from shared.events import TaskSnapshot


def next_due(task: TaskSnapshot, now: datetime) -> datetime | None:
    return None  # TEMP until the domain lands
