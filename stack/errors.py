from __future__ import annotations


class StackError(Exception):
    """A problem the user can fix; printed as one line naming the fix, never a traceback."""
