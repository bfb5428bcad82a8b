"""SQL the stack applies to its PostgreSQL on every start, after todo-api's sidecar has
created the state tables (helm/taskwave/migrations/README.md has the convention)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from stack.config import ROOT
from stack.errors import StackError

ENV = "TASKWAVE_MIGRATIONS_DIR"
DEFAULT_DIR = ROOT / "helm" / "taskwave" / "migrations"


def migrations_dir() -> Path:
    """helm/taskwave/migrations, or TASKWAVE_MIGRATIONS_DIR (tests bring their own SQL)."""
    override = os.environ.get(ENV)
    if not override:
        return DEFAULT_DIR
    folder = Path(override)
    if not folder.is_dir():
        raise StackError(f"{ENV}={override!r} is not a folder")
    return folder


def select(folder: Path) -> list[Path]:
    """Every `*.sql` file directly in `folder`, in name order (so `010_…` runs after
    `002_…`); hidden files, sub-folders and other files are not migrations."""
    if not folder.is_dir():
        return []
    files = [
        p
        for p in folder.iterdir()
        if p.suffix == ".sql" and p.is_file() and not p.name.startswith(".")
    ]
    return sorted(files, key=lambda p: p.name)


def apply_all(
    folder: Path,
    run_file: Callable[[Path], subprocess.CompletedProcess[str]],
    say: Callable[[str], None],
) -> list[Path]:
    """Apply each selected file in order; the first failure stops the start-up with
    psql's message. Returns the files applied."""
    applied = []
    for path in select(folder):
        result = run_file(path)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip()
            raise StackError(f"migration {path.name} failed: {detail}")
        say(f"applied {path.name}")
        applied.append(path)
    return applied
