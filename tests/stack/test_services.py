"""The running test stack heals like a cluster: a SIGKILLed app and a SIGKILLed daprd
come back on their own while everything else keeps its pid, and `python -m stack
status` shows the restarts. The start-up applies the migrations."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from stack.config import ROOT
from stack.errors import StackError
from stack.migrations import ENV
from stack.services import Stack

pytestmark = pytest.mark.integration

APP, SIDECAR = "reminders", "audit-dapr"


def _ready(stack: Stack, fn: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{stack.config.url(fn)}/readyz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def _status(stack: Stack) -> dict[str, list[str]]:
    out = subprocess.run(
        [sys.executable, "-m", "stack", "status"],
        cwd=ROOT,
        env={**os.environ, "TASKWAVE_RUN_DIR": str(stack.config.run_dir)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"taskwave is running (supervisor pid {os.getpid()})")
    table = out.stdout.split("ports:")[0].splitlines()[2:]
    return {line.split()[0]: line.split()[1:] for line in table if line.strip()}


def test_a_killed_app_and_a_killed_sidecar_come_back_and_nothing_else_moves(
    stack: Stack,
) -> None:
    victims = (APP, SIDECAR)
    others = {p.name: p.pid for p in stack.sup.procs if p.name not in victims}
    assert {"postgres", "kafka", "scheduler", "todo-api", "audit"} <= set(others)
    restarts = {name: stack.process(name).restarts for name in victims}

    began = time.monotonic()
    killed = {name: stack.kill(name) for name in victims}  # SIGKILL, like `kill -9 <pid>`
    back = {name: stack.wait_restarted(name, killed[name], timeout=40) for name in victims}
    took = time.monotonic() - began
    for name, proc in back.items():
        assert proc.pid != killed[name]
        assert proc.restarts == restarts[name] + 1
        assert proc.book.last_exit == -9
    # Both functions serve again: reminders (its app was killed) and audit (its sidecar).
    assert _ready(stack, "reminders"), "reminders /readyz is not 200 after its restart"
    assert _ready(stack, "audit"), "audit /readyz is not 200 after its sidecar's restart"
    print(f"\nSIGKILLed {APP} and {SIDECAR}: both ready again {took:.1f} s later")

    # Nothing else was restarted or stopped.
    now = {p.name: p.pid for p in stack.sup.procs if p.name not in victims}
    assert now == others
    assert all(stack.process(name).alive for name in others)

    log = (stack.config.logs / "stack.log").read_text()
    assert f"[stack] {SIDECAR} exited with code -9 (SIGKILL); restarting in" in log
    assert f"[stack] {APP} exited with code -9 (SIGKILL); restarting in" in log

    rows = _status(stack)
    for name, proc in back.items():
        state, pid, count, *last_exit_and_up = rows[name]
        assert (state, int(pid), int(count)) == ("running", proc.pid, proc.restarts)
        assert " ".join(last_exit_and_up).startswith("-9 (SIGKILL)")
    assert rows["postgres"][:2] == ["running", str(others["postgres"])]


def test_a_process_stopped_on_purpose_stays_down_until_started(stack: Stack) -> None:
    """What a chaos case needs for "the scheduler is away for N seconds"."""
    old = stack.process("scheduler").pid
    stack.stop_process("scheduler")
    time.sleep(2.5)  # past the first backoff (1 s): nothing brought it back
    assert "scheduler" not in {p.name for p in stack.sup.procs}
    assert not stack.scheduler.ready()
    proc = stack.start_process("scheduler")
    assert proc.pid != old
    assert proc.restarts == 0
    assert stack.scheduler.ready()


def test_wait_restarted_says_when_nothing_came_back(stack: Stack) -> None:
    kafka = stack.process("kafka")
    with pytest.raises(StackError, match="kafka was not back after 0s"):
        stack.wait_restarted("kafka", kafka.pid, timeout=0.3)


def test_the_start_up_applied_the_migrations_and_they_reach_the_state_tables(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = (stack.config.logs / "stack.log").read_text()
    assert "[migrate] applied 010_outbox_pending_index.sql" in log
    # Logged after todo-api's sidecar was ready (it makes the tables), before the others.
    assert log.index("[stack] todo-api-dapr ready") < log.index("[migrate] applied")
    assert log.index("[migrate] applied") < log.index("[stack] recurring-dapr ready")

    # A test folder of our own, applied twice (idempotent), on todo-api's tables.
    (tmp_path / "002_index.sql").write_text(
        "CREATE INDEX IF NOT EXISTS taskwave_probe_idx ON taskwave_kv ((value->>'probe'));\n"
    )
    (tmp_path / "001_table.sql").write_text(
        "CREATE TABLE IF NOT EXISTS taskwave_probe (n int);\n"
        "INSERT INTO taskwave_probe SELECT count(*) FROM taskwave_probe;\n"
    )
    monkeypatch.setenv(ENV, str(tmp_path))
    try:
        for _ in range(2):
            applied = stack.migrate()
            assert [p.name for p in applied] == ["001_table.sql", "002_index.sql"]
        found = stack.postgres.query(
            "SELECT (SELECT count(*) FROM pg_indexes WHERE indexname = 'taskwave_probe_idx'),"
            " (SELECT string_agg(n::text, ',' ORDER BY n) FROM taskwave_probe)",
            db="taskwave",
        )
        assert found.returncode == 0, found.stderr
        # The index exists; the table saw both runs in file order (0 rows, then 1).
        assert found.stdout.strip() == "1|0,1"
    finally:
        stack.postgres.query(
            "DROP INDEX IF EXISTS taskwave_probe_idx; DROP TABLE IF EXISTS taskwave_probe",
            db="taskwave",
        )
