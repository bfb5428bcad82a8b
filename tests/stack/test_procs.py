"""The supervisor with real (tiny) processes: a crash is restarted after its backoff and
the others keep running; deliberate stops and shutdown restart nothing and leave nothing."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stack.procs import Proc, Supervisor
from stack.restarts import Backoff, State
from stack.status import format_status, read_state

FAST = Backoff(first=0.2, factor=2, cap=0.8, reset_after=60)


def _until(check: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0) until its parent reaps it.
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"


@pytest.fixture
def sup(tmp_path: Path) -> Iterator[Supervisor]:
    supervisor = Supervisor(
        tmp_path / "logs", echo=False, state_file=tmp_path / "stack.json", backoff=FAST
    )
    supervisor.restart = True
    yield supervisor
    supervisor.stop_all()


def test_a_killed_process_comes_back_and_the_others_keep_running(
    sup: Supervisor, tmp_path: Path
) -> None:
    crashing = sup.start("crashing", ["sleep", "300"])
    steady = sup.start("steady", ["sleep", "300"])
    old, steady_pid = crashing.pid, steady.pid
    os.kill(old, signal.SIGKILL)
    assert _until(lambda: crashing.pid != old and crashing.alive), "not restarted"
    assert crashing.state is State.RUNNING
    assert (crashing.restarts, crashing.book.last_exit) == (1, -9)
    assert steady.pid == steady_pid
    assert steady.alive
    assert steady.restarts == 0
    stack_log = tmp_path / "logs" / "stack.log"
    restarted = f"[stack] crashing restarted (pid {crashing.pid}, restart #1)"
    # The pid changes a moment before the monitor logs it and writes the status file.
    assert _until(lambda: restarted in stack_log.read_text())
    log = stack_log.read_text()
    assert "[stack] crashing exited with code -9 (SIGKILL); restarting in 0.2 s" in log

    def rows() -> dict[str, dict[str, object]]:
        state = json.loads((tmp_path / "stack.json").read_text())
        return {p["name"]: p for p in state["processes"]}

    assert _until(lambda: rows()["crashing"]["pid"] == crashing.pid)
    rows_now = rows()
    assert rows_now["crashing"] | {"since": 0} == {
        "name": "crashing",
        "pid": crashing.pid,
        "state": "running",
        "restarts": 1,
        "last_exit": -9,
        "since": 0,
        "log": str(tmp_path / "logs" / "crashing.log"),
    }
    assert (rows_now["steady"]["pid"], rows_now["steady"]["restarts"]) == (steady_pid, 0)


def test_a_crash_loop_waits_longer_each_time(sup: Supervisor) -> None:
    looping = sup.start("looping", ["sh", "-c", "exit 3"])
    began = time.monotonic()
    # Delays 0.2, 0.4, 0.8, 0.8 … : the third restart cannot come before 1.4 s.
    assert _until(lambda: looping.restarts >= 3, timeout=10)
    assert time.monotonic() - began >= 1.4
    assert looping.book.last_exit == 3
    # Without backoff the 0.1 s monitor would have restarted it ~25 times in 2.5 s.
    time.sleep(max(0.0, 2.5 - (time.monotonic() - began)))
    assert looping.restarts <= 5


def test_a_deliberate_stop_is_not_restarted(sup: Supervisor) -> None:
    proc = sup.start("stopped", ["sleep", "300"])
    pid = proc.pid
    sup.stop(proc)
    time.sleep(0.5)  # several monitor passes and more than the first backoff
    assert _gone(pid)
    assert proc not in sup.procs
    assert proc.restarts == 0


def test_shutdown_restarts_nothing_and_leaves_no_process(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path / "logs", echo=False, state_file=tmp_path / "s.json", backoff=FAST)
    sup.restart = True
    # A leader with a child in its group, and one that is in backoff at shutdown.
    parent = sup.start("parent", ["sh", "-c", "sleep 300 & echo $!; wait"])
    log = tmp_path / "logs" / "parent.log"
    assert _until(lambda: log.exists() and log.read_text().strip() != "")
    child = int(log.read_text().split()[0])
    dying = sup.start("dying", ["sh", "-c", "exit 1"])
    assert _until(lambda: dying.state is State.BACKOFF)
    pids = [parent.pid, child, dying.pid]
    sup.stop_all()
    time.sleep(0.5)
    assert all(_gone(pid) for pid in pids)
    assert dying.restarts == 0
    assert not (tmp_path / "s.json").exists()


def test_with_restarts_off_an_exit_is_reported_and_stays_down(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path / "logs", echo=False, backoff=FAST)
    try:
        proc = sup.start("setup-error", ["sh", "-c", "exit 2"])
        assert _until(lambda: sup.dead() == [proc])
        time.sleep(0.5)
        assert proc.state is State.EXITED
        assert proc.restarts == 0
        log = (tmp_path / "logs" / "stack.log").read_text()
        assert "[stack] setup-error exited with code 2; see " in log
    finally:
        sup.stop_all()


def test_status_shows_state_pid_restarts_and_last_exit(tmp_path: Path) -> None:
    now = 1_000_000.0
    state = {
        "supervisor": 42,
        "processes": [
            {"name": "postgres", "pid": 10, "state": "running", "restarts": 0,
             "last_exit": None, "since": now - 125},
            {"name": "audit-dapr", "pid": 31, "state": "running", "restarts": 2,
             "last_exit": -9, "since": now - 4},
            {"name": "audit", "pid": 30, "state": "backoff", "restarts": 5,
             "last_exit": 1, "since": now - 50},
        ],
    }  # fmt: skip
    assert format_status(state, now).splitlines() == [
        "taskwave is running (supervisor pid 42)",
        "NAME        STATE    PID  RESTARTS  LAST EXIT     UP",
        "postgres    running  10   0         -             2m05s",
        "audit-dapr  running  31   2         -9 (SIGKILL)  4s",
        "audit       backoff  -    5         1             -",
    ]
    # A file left by a supervisor that is gone is "not running".
    stale = tmp_path / "stack.json"
    stale.write_text(json.dumps({**state, "supervisor": 2**22 + 12345}))
    assert read_state(stale) is None
    stale.write_text(json.dumps({**state, "supervisor": os.getpid()}))
    assert read_state(stale) == {**state, "supervisor": os.getpid()}


def test_shutdown_goes_in_reverse_start_order_even_after_a_stop_and_start(
    tmp_path: Path,
) -> None:
    sup = Supervisor(tmp_path / "logs", echo=False, backoff=FAST)
    first = sup.start("first", ["sleep", "300"])
    sup.start("second", ["sleep", "300"])
    sup.stop(first)
    sup.start("first", ["sleep", "300"])  # now last in the list
    stopped: list[str] = []
    stop = sup.stop

    def recording_stop(proc: Proc, timeout: float = 15.0) -> None:
        stopped.append(proc.name)
        stop(proc, timeout)

    sup.stop = recording_stop  # type: ignore[method-assign]
    sup.stop_all()
    assert stopped == ["second", "first"]


def test_a_process_that_cannot_start_again_keeps_backing_off(tmp_path: Path) -> None:
    script = tmp_path / "server.sh"
    script.write_text("#!/bin/sh\nexec sleep 300\n")
    script.chmod(0o755)
    sup = Supervisor(tmp_path / "logs", echo=False, backoff=FAST)
    sup.restart = True
    try:
        proc = sup.start("server", [str(script)])
        script.unlink()  # the next start fails in exec, not in the process
        os.kill(proc.pid, signal.SIGKILL)
        time.sleep(1.5)  # exit, then tries after 0.2, 0.4, 0.8 s
        log = (tmp_path / "logs" / "stack.log").read_text()
        assert "[stack] server could not start (" in log
        assert "next try in 0.4 s" in log
        assert proc.state is State.BACKOFF
        assert proc.restarts == 0
        script.write_text("#!/bin/sh\nexec sleep 300\n")
        script.chmod(0o755)
        assert _until(lambda: proc.alive and proc.restarts == 1, timeout=5)
    finally:
        sup.stop_all()
