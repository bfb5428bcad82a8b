"""The running stack as seen from another shell: `status` and `down` read the status
file the supervisor keeps (stack/procs.py writes it)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from stack.procs import describe_exit, signal_group
from stack.restarts import State


def read_state(state_file: Path) -> dict[str, Any] | None:
    """The running stack's status file, or None when no stack is running here."""
    if not state_file.exists():
        return None
    try:
        state: dict[str, Any] = json.loads(state_file.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return state if _exists(int(state["supervisor"])) else None


def format_status(state: dict[str, Any], now: float) -> str:
    """`make status`: one line per process (state, pid, restarts, last exit, uptime)."""
    rows = [("NAME", "STATE", "PID", "RESTARTS", "LAST EXIT", "UP")]
    for p in state["processes"]:
        last = p.get("last_exit")
        running = p["state"] == State.RUNNING
        up = _duration(now - float(p["since"])) if running else "-"
        rows.append(
            (
                p["name"],
                p["state"],
                str(p["pid"]) if running else "-",  # a dead pid would mislead
                str(p["restarts"]),
                "-" if last is None else describe_exit(int(last)),
                up,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return f"taskwave is running (supervisor pid {state['supervisor']})\n" + "\n".join(lines)


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def stop_recorded(state_file: Path, timeout: float = 30.0) -> bool:
    """`down` from another shell: ask the supervisor to stop, then make sure."""
    if not state_file.exists():
        return False
    state = json.loads(state_file.read_text())
    supervisor = int(state["supervisor"])
    with contextlib.suppress(ProcessLookupError):
        os.kill(supervisor, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _exists(supervisor):
        time.sleep(0.2)
    for proc in state["processes"]:
        signal_group(int(proc["pid"]), signal.SIGKILL)
    state_file.unlink(missing_ok=True)
    return True


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
