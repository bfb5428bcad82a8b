"""How the state Query API reads a field of a stored JSON value: the one reading the
in-memory fake and the paging over the real store share."""

from __future__ import annotations

from typing import Any


def field_at(value: Any, dotted: str) -> Any:
    """`a.b.c` inside a JSON value, as the state Query API reads a field; None if absent."""
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
