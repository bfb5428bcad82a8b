"""What taskwave can store and compute: checked at the edge, so nothing else meets it.

PostgreSQL's JSONB refuses U+0000 and lone surrogates (a failed transaction), and
recurrence arithmetic past year 9999 overflows; dates are kept to 1970-2200, which
leaves every reminder offset and every next occurrence representable.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def in_range(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise ValueError("dates must lie between 1970-01-01 and 2200-12-31")
    return value


BoundedDatetime = Annotated[AwareDatetime, AfterValidator(in_range)]


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None."""
    if "\x00" in text:
        return "must not contain NUL (U+0000) characters"
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        return "must not contain unpaired surrogate characters"
    return None


def unstorable(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """(dotted field, problem) for every string in a JSON value that cannot be stored,
    object keys included."""
    if isinstance(value, str):
        if problem := text_problem(value):
            yield ".".join(path) or "body", problem
    elif isinstance(value, dict):
        for key, item in value.items():
            if problem := text_problem(str(key)):
                yield ".".join((*path, str(key))) or "body", f"field name {problem}"
            yield from unstorable(item, (*path, str(key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from unstorable(item, (*path, str(i)))
