"""Child processes with prefixed, filed logs, restarted when they crash (with backoff),
stopped as whole process groups."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from stack.restarts import Backoff, RestartBook, State

POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Spec:
    """How to start a process again exactly as it was started the first time."""

    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: Path | None
    stop_signal: int
    echo: bool


@dataclass
class Proc:
    name: str
    spec: Spec
    popen: subprocess.Popen[bytes]
    log_path: Path
    book: RestartBook
    started_wall: float = field(default_factory=time.time)
    # Set (under the supervisor's lock) before a deliberate stop: never restart it.
    stopping: bool = False
    pump: threading.Thread | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def stop_signal(self) -> int:
        return self.spec.stop_signal

    @property
    def restarts(self) -> int:
        return self.book.restarts

    @property
    def state(self) -> State:
        return self.book.state


class Supervisor:
    """Starts processes in their own sessions, restarts the ones that exit unexpectedly
    (once `restart` is on) and stops them with their children."""

    def __init__(
        self,
        logs: Path,
        *,
        echo: bool,
        state_file: Path | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.logs = logs
        self.echo = echo
        self.state_file = state_file
        self.backoff = backoff or Backoff()
        # Off while the stack starts (a crash then is a set-up error, reported at once);
        # the launcher turns it on when everything is ready.
        self.restart = False
        self.procs: list[Proc] = []
        # First-start order by name: shutdown goes in reverse, also for a process a
        # test stopped and started again (the scheduler must outlive the sidecars).
        self._order: dict[str, int] = {}
        self.extra_state: dict[str, Any] = {}
        logs.mkdir(parents=True, exist_ok=True)
        self._combined: IO[str] = open(logs / "stack.log", "a", buffering=1)  # noqa: SIM115
        self._out = threading.Lock()  # one line at a time in stack.log and on the console
        self._lock = threading.RLock()  # procs, their popens and books
        self._closing = threading.Event()
        self._monitor = threading.Thread(target=self._watch, name="stack-monitor", daemon=True)
        self._monitor.start()

    def say(self, name: str, line: str) -> None:
        text = f"[{name}] {line}"
        with self._out:
            if not self._combined.closed:
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
        spec = Spec(tuple(argv), {**os.environ, **(env or {})}, cwd, stop_signal, echo)
        with self._lock:
            proc = Proc(
                name,
                spec,
                self._spawn(spec),
                self.logs / f"{name}.log",
                RestartBook(self.backoff, started_at=time.monotonic()),
            )
            self._pump(proc)
            self.procs.append(proc)
            self._order.setdefault(name, len(self._order))
            self.write_state()
        return proc

    def get(self, name: str) -> Proc:
        with self._lock:
            for proc in self.procs:
                if proc.name == name:
                    return proc
        known = ", ".join(p.name for p in self.procs)
        raise KeyError(f"no process {name!r} in this stack (it has: {known})")

    @staticmethod
    def _spawn(spec: Spec) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            list(spec.argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=spec.env,
            cwd=spec.cwd,
            start_new_session=True,  # its own process group: stopping it stops its children
        )

    def _pump(self, proc: Proc) -> None:
        # One pump per incarnation; it ends when that incarnation's output closes.
        proc.pump = threading.Thread(
            target=self._copy_output,
            args=(proc.name, proc.popen, proc.log_path, proc.spec.echo),
            name=f"log-{proc.name}",
            daemon=True,
        )
        proc.pump.start()

    def _copy_output(
        self, name: str, popen: subprocess.Popen[bytes], log_path: Path, echo: bool
    ) -> None:
        assert popen.stdout is not None
        with open(log_path, "ab") as log:
            for raw in iter(popen.stdout.readline, b""):
                log.write(raw)
                log.flush()
                with self._out:
                    line = raw.decode("utf-8", "replace").rstrip()
                    if not self._combined.closed:
                        self._combined.write(f"{time.strftime('%H:%M:%S')} [{name}] {line}\n")
                    if echo and self.echo:
                        print(f"[{name}] {line}", flush=True)

    # -- crashes and restarts ----------------------------------------------------

    def _watch(self) -> None:
        while not self._closing.wait(POLL_SECONDS):
            try:
                self.check(time.monotonic())
            except Exception as exc:  # the monitor must outlive one bad iteration
                self.say("stack", f"process monitor error: {exc!r}")

    def check(self, now: float) -> None:
        """One monitor pass: notice exits, restart what is due (the monitor thread
        calls this every POLL_SECONDS)."""
        with self._lock:
            if self._closing.is_set():
                return
            changed = False
            for proc in self.procs:
                if proc.stopping or proc.book.gave_up:
                    continue
                if proc.book.restart_at is None:
                    code = proc.popen.poll()
                    if code is not None:
                        self._exited(proc, code, now)
                        changed = True
                elif proc.book.due(now):
                    try:
                        popen = self._spawn(proc.spec)
                    except OSError as exc:  # e.g. its binary is gone: back off, try again
                        proc.book.started_at = now
                        delay = proc.book.exited(127, now)
                        self.say(
                            "stack", f"{proc.name} could not start ({exc}); next try in {delay:g} s"
                        )
                        changed = True
                        continue
                    proc.popen = popen
                    proc.started_wall = time.time()
                    proc.book.restarted(now)
                    self._pump(proc)
                    self.say(
                        "stack", f"{proc.name} restarted (pid {proc.pid}, restart #{proc.restarts})"
                    )
                    changed = True
            if changed:
                self.write_state()

    def _exited(self, proc: Proc, code: int, now: float) -> None:
        # What the dead leader left in its group (workers, backends) would hold its ports.
        signal_group(proc.popen.pid, signal.SIGKILL)
        delay = proc.book.exited(code, now, restart=self.restart)
        what = f"{proc.name} exited with code {describe_exit(code)}"
        if delay is None:
            self.say("stack", f"{what}; see {proc.log_path}")
        else:
            self.say(
                "stack",
                f"{what}; restarting in {delay:g} s (restart #{proc.restarts + 1}, "
                f"{proc.book.crashes_in_a_row} in a row); see {proc.log_path}",
            )

    def dead(self) -> list[Proc]:
        """Processes that exited and will stay down (not the ones in backoff)."""
        with self._lock:
            return [p for p in self.procs if p.book.gave_up]

    # -- stopping ---------------------------------------------------------------------

    def stop(self, proc: Proc, timeout: float = 15.0) -> None:
        """Stop one process on purpose: it is not restarted."""
        with self._lock:
            proc.stopping = True  # from here the monitor leaves it (and its popen) alone
        if proc.alive:
            signal_group(proc.popen.pid, proc.stop_signal)
            try:
                proc.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.say("stack", f"{proc.name} did not stop in {timeout:.0f}s; killing it")
                signal_group(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait(5)
        # Children that outlived their leader (same group) go too.
        signal_group(proc.popen.pid, signal.SIGKILL)
        if proc.pump is not None:
            proc.pump.join(2)
        with self._lock:
            if proc in self.procs:
                self.procs.remove(proc)
            self.write_state()

    def stop_all(self) -> None:
        # No restarts from here on: a process that dies during shutdown stays down.
        with self._lock:
            self._closing.set()
        if self._monitor is not threading.current_thread():
            self._monitor.join(5)
        for proc in sorted(self.procs, key=lambda p: self._order[p.name], reverse=True):
            self.stop(proc)
        if self.state_file is not None:
            self.state_file.unlink(missing_ok=True)
        with self._out:
            self._combined.close()

    # -- the status file ----------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        now = time.time()
        with self._lock:
            processes = [
                {
                    "name": p.name,
                    "pid": p.pid,
                    "state": p.state.value,
                    "restarts": p.restarts,
                    "last_exit": p.book.last_exit,
                    "since": p.started_wall,
                    "log": str(p.log_path),
                }
                for p in self.procs
            ]
        return {
            "supervisor": os.getpid(),
            "written": now,
            **self.extra_state,
            "processes": processes,
        }

    def write_state(self) -> None:
        if self.state_file is None or self._closing.is_set():
            return
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.snapshot(), indent=1))
        tmp.replace(self.state_file)


def describe_exit(code: int) -> str:
    """-9 -> "-9 (SIGKILL)": Popen reports a signal as a negative code."""
    if code < 0:
        try:
            return f"{code} ({signal.Signals(-code).name})"
        except ValueError:
            return str(code)
    return str(code)


def signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
