"""Child processes with prefixed, filed logs, stopped as whole process groups."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    stop_signal: int = signal.SIGTERM
    pump: threading.Thread | None = field(default=None, repr=False)

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None


class Supervisor:
    """Starts processes in their own sessions and stops them (and their children)."""

    def __init__(self, logs: Path, *, echo: bool, state_file: Path | None = None) -> None:
        self.logs = logs
        self.echo = echo
        self.state_file = state_file
        self.procs: list[Proc] = []
        logs.mkdir(parents=True, exist_ok=True)
        self._combined: IO[str] = open(logs / "stack.log", "a", buffering=1)  # noqa: SIM115
        self._lock = threading.Lock()

    def say(self, name: str, line: str) -> None:
        text = f"[{name}] {line}"
        with self._lock:
            self._combined.write(f"{time.strftime('%H:%M:%S')} {text}\n")
            if self.echo:
                print(text, flush=True)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stop_signal: int = signal.SIGTERM,
        echo: bool = False,
    ) -> Proc:
        log_path = self.logs / f"{name}.log"
        full_env = {**os.environ, **(env or {})}
        popen = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=cwd,
            start_new_session=True,  # its own process group: stopping it stops its children
        )
        proc = Proc(name, popen, log_path, stop_signal)
        proc.pump = threading.Thread(
            target=self._pump, args=(proc, echo), name=f"log-{name}", daemon=True
        )
        proc.pump.start()
        self.procs.append(proc)
        self._write_state()
        return proc

    def _pump(self, proc: Proc, echo: bool) -> None:
        assert proc.popen.stdout is not None
        with open(proc.log_path, "ab") as log:
            for raw in iter(proc.popen.stdout.readline, b""):
                log.write(raw)
                log.flush()
                with self._lock:
                    line = raw.decode("utf-8", "replace").rstrip()
                    self._combined.write(f"{time.strftime('%H:%M:%S')} [{proc.name}] {line}\n")
                    if echo and self.echo:
                        print(f"[{proc.name}] {line}", flush=True)

    def dead(self) -> list[Proc]:
        return [p for p in self.procs if not p.alive]

    def stop(self, proc: Proc, timeout: float = 15.0) -> None:
        if proc.alive:
            _signal_group(proc.popen.pid, proc.stop_signal)
            try:
                proc.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.say("stack", f"{proc.name} did not stop in {timeout:.0f}s; killing it")
                _signal_group(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait(5)
        # Children that outlived their leader (same group) go too.
        _signal_group(proc.popen.pid, signal.SIGKILL)
        if proc.pump is not None:
            proc.pump.join(2)
        if proc in self.procs:
            self.procs.remove(proc)
        self._write_state()

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs)):
            self.stop(proc)
        if self.state_file is not None:
            self.state_file.unlink(missing_ok=True)
        self._combined.close()

    def _write_state(self) -> None:
        if self.state_file is None:
            return
        state = {
            "supervisor": os.getpid(),
            "processes": [{"name": p.name, "pid": p.popen.pid} for p in self.procs],
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.state_file)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_recorded(state_file: Path, timeout: float = 30.0) -> bool:
    """`down` from another shell: ask the supervisor to stop, then make sure."""
    if not state_file.exists():
        return False
    state = json.loads(state_file.read_text())
    supervisor = int(state["supervisor"])
    try:
        os.kill(supervisor, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _exists(supervisor):
        time.sleep(0.2)
    for proc in state["processes"]:
        _signal_group(int(proc["pid"]), signal.SIGKILL)
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


def run_step(
    name: str,
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    echo: bool = True,
) -> str:
    """Run a set-up command to completion, streaming its output with a prefix."""
    proc = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdout is not None
    lines = []
    for raw in iter(proc.stdout.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip()
        lines.append(line)
        if echo:
            print(f"[{name}] {line}", file=sys.stderr, flush=True)
    code = proc.wait()
    if code != 0:
        tail = "\n".join(lines[-15:])
        raise RuntimeError(f"{name} failed (exit {code}):\n{tail}")
    return "\n".join(lines)
