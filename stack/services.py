"""The local stack: `Stack` starts the components (stack/components/) in order, waits
for each to be ready, then leaves crashes to the supervisor's restarts (stack/procs.py)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from stack import migrations
from stack.bootstrap import Tools
from stack.components.apps import Apps
from stack.components.dapr import SCHEDULER, Scheduler, Sidecars, sidecar_name
from stack.components.jaeger import NAME as JAEGER
from stack.components.jaeger import Jaeger
from stack.components.kafka import Kafka
from stack.components.postgres import Postgres
from stack.config import FUNCTIONS, StackConfig, env_name, free_port, port_in_use
from stack.errors import StackError
from stack.procs import Proc, Spec, Supervisor, describe_exit
from stack.restarts import State


class Stack:
    def __init__(self, config: StackConfig, tools: Tools) -> None:
        self.config = config
        self.tools = tools
        config.run_dir.mkdir(parents=True, exist_ok=True)
        self.sup = Supervisor(
            config.logs, echo=config.echo, state_file=config.run_dir / "stack.json"
        )
        self.app_token = secrets.token_urlsafe(24)
        self.postgres = Postgres(config, tools, self.sup)
        self.kafka = Kafka(config, tools, self.sup)
        self.scheduler = Scheduler(config, tools, self.sup)
        self.jaeger = Jaeger(config, tools, self.sup)
        self.sidecars = Sidecars(config, tools, self.sup, app_token=self.app_token)
        self.apps = Apps(config, self.sup, app_token=self.app_token)
        self._stopped: dict[str, Spec] = {}

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> float:
        """Start everything and wait until every piece is ready; returns seconds taken."""
        began = time.monotonic()
        self._check_ports()
        self.postgres.start()
        self.kafka.start()
        self.scheduler.start()
        self.jaeger.start()
        self.wait("postgres", self.postgres.ready, 60)
        self.postgres.prepare_database()
        self.sidecars.write_secrets(self.postgres.connection_string)
        self.wait("kafka", self.kafka.ready, 90)
        self.kafka.create_topics()
        self.wait("scheduler", self.scheduler.ready, 60)
        # Before any sidecar or app: nothing exports spans to a port nobody listens on.
        self.wait(JAEGER, self.jaeger.ready, 60)
        # The first sidecar (todo-api's) creates the state tables; several doing it at
        # once race in PostgreSQL ("type ... already exists"), so the others start after
        # it, and the migrations run in between, on the tables it made.
        first, *rest = self.config.functions
        self.start_function(first)
        self.wait(sidecar_name(first), lambda: self.sidecars.ready(first), 90)
        self.migrate()
        self.wait(first, lambda: self.apps.ready(first), 90)
        for fn in rest:
            self.start_function(fn)
        for fn in rest:
            self.wait_function(fn)
        # From here a crash is an outage to heal, not a set-up error to report.
        self.sup.extra_state = {"ports": self.config.ports, "urls": self.urls()}
        self.sup.restart = True
        self.sup.write_state()
        return time.monotonic() - began

    def stop(self) -> None:
        self.sup.say("stack", "stopping")
        self.sup.stop_all()

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait(self, name: str, probe: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if probe():
                self.sup.say("stack", f"{name} ready")
                return
            dead = self.sup.dead()
            if dead:
                p = dead[0]
                code = describe_exit(p.book.last_exit) if p.book.last_exit is not None else "?"
                raise StackError(
                    f"{p.name} exited with code {code} while waiting for {name}; see {p.log_path}"
                )
            time.sleep(0.2)
        raise StackError(f"{name} was not ready after {timeout:.0f}s; see {self.config.logs}")

    def _check_ports(self) -> None:
        for name, port in self.config.ports.items():
            fn = name.split(".")[0]
            if fn in FUNCTIONS and fn not in self.config.functions:
                continue
            if port_in_use(port):
                raise StackError(
                    f"port {port} ({name}) is in use: stop what uses it "
                    f"or set {env_name(name)}=<free port>"
                )

    def migrate(self, folder: Path | None = None) -> list[Path]:
        """Apply helm/taskwave/migrations/*.sql (or `folder`) in name order; idempotent SQL."""
        return migrations.apply_all(
            folder or migrations.migrations_dir(),
            self.postgres.run_file,
            lambda line: self.sup.say("migrate", line),
        )

    # -- processes: find, probe, kill, see them come back -------------------------

    def process(self, name: str) -> Proc:
        """A supervised process by name ("postgres", "kafka", "scheduler", "audit",
        "audit-dapr", "realtime#2"); `.pid`, `.restarts`, `.state` are live."""
        return self.sup.get(name)

    def probe(self, name: str) -> Callable[[], bool]:
        """The readiness check of a supervised process."""
        fixed: dict[str, Callable[[], bool]] = {
            "postgres": self.postgres.ready,
            "kafka": self.kafka.ready,
            SCHEDULER: self.scheduler.ready,
            JAEGER: self.jaeger.ready,
        }
        if name in fixed:
            return fixed[name]
        if name.endswith("-dapr"):
            instance = name.removesuffix("-dapr")
            return lambda: self.sidecars.ready(instance)
        return lambda: self.apps.ready(name)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Signal a process's leader the way an operator's `kill -9 <pid>` would;
        returns the pid it hit (for wait_restarted)."""
        pid = self.process(name).pid
        os.kill(pid, sig)
        return pid

    def wait_restarted(self, name: str, old_pid: int, timeout: float = 60.0) -> Proc:
        """Until `name` runs under a pid other than `old_pid` and is ready again."""
        probe = self.probe(name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.process(name)
            if proc.pid != old_pid and proc.state is State.RUNNING and proc.alive and probe():
                return proc
            time.sleep(0.1)
        proc = self.process(name)
        raise StackError(
            f"{name} was not back after {timeout:.0f}s (state {proc.state}, pid {proc.pid}, "
            f"restarts {proc.restarts}); see {proc.log_path}"
        )

    def stop_process(self, name: str) -> None:
        """Stop one process on purpose (an outage a test controls): it stays down,
        not restarted, until start_process(name)."""
        proc = self.process(name)
        self._stopped[name] = proc.spec
        self.sup.stop(proc)

    def start_process(self, name: str, timeout: float = 90) -> Proc:
        """Start again, exactly as before, a process stop_process() stopped; waits
        until it is ready."""
        spec = self._stopped.pop(name)
        proc = self.sup.start(
            name,
            spec.argv,
            env=spec.env,
            cwd=spec.cwd,
            stop_signal=spec.stop_signal,
            echo=spec.echo,
        )
        self.wait(name, self.probe(name), timeout)
        return proc

    # -- the pieces, for the start-up above and for fault tests -----------------------

    def start_postgres(self) -> None:
        self.postgres.start()

    def _postgres_ready(self) -> bool:
        return self.postgres.ready()

    def start_function(self, fn: str) -> None:
        """`fn` is a function, or one of its extra instances ("realtime#2")."""
        self.sidecars.start(fn)
        self.apps.start(fn)

    def wait_function(self, fn: str, timeout: float = 90) -> None:
        self.wait(sidecar_name(fn), lambda: self.sidecars.ready(fn), timeout)
        self.wait(fn, lambda: self.apps.ready(fn), timeout)

    def add_replica(self, fn: str) -> str:
        """Another instance of a function with its own sidecar, on free ports; returns
        its name (e.g. "realtime#2"), usable with config.url() and stop_function()."""
        n = 2
        while f"{fn}#{n}.app" in self.config.ports:
            n += 1
        instance = f"{fn}#{n}"
        taken = set(self.config.ports.values())
        for kind in ("app", "metrics", "dapr-http", "dapr-grpc", "dapr-internal", "dapr-metrics"):
            port = free_port()
            while port in taken:
                port = free_port()
            taken.add(port)
            self.config.ports[f"{instance}.{kind}"] = port
        self.start_function(instance)
        self.wait_function(instance)
        return instance

    def stop_function(self, fn: str) -> None:
        """Stop one function and its sidecar on purpose (fault tests): no restart."""
        for proc in list(self.sup.procs):
            if proc.name in (fn, sidecar_name(fn)):
                self.sup.stop(proc)

    def restart_function(self, fn: str) -> None:
        self.stop_function(fn)
        self.start_function(fn)
        self.wait_function(fn)

    def urls(self) -> dict[str, str]:
        urls = {fn: self.config.url(fn) for fn in self.config.functions}
        urls["kafka"] = self.config.kafka_bootstrap
        urls["postgres"] = self.postgres.url
        urls["jaeger"] = self.config.jaeger_url
        urls["logs"] = str(self.config.logs)
        return urls


@contextmanager
def private_stack(*, keep_logs: Path | None = None, echo: bool = False) -> Iterator[Stack]:
    """A whole stack on free ports in a temporary folder, for tests and benchmarks.
    Always stopped and removed afterwards (TASKWAVE_KEEP_RUN=1 keeps the folder)."""
    from stack.bootstrap import ensure_all

    run_dir = Path(tempfile.mkdtemp(prefix="taskwave-"))
    run_dir.chmod(0o755)  # the postgres user must reach its data folder
    config = StackConfig.for_tests(run_dir)
    config.echo = echo
    stack = Stack(config, ensure_all())
    try:
        took = stack.start()
        print(f"\nstack ready in {took:.1f} s ({run_dir})", flush=True)
        yield stack
    finally:
        stack.stop()
        if keep_logs is not None:
            shutil.rmtree(keep_logs, ignore_errors=True)
            shutil.copytree(config.logs, keep_logs, dirs_exist_ok=True)
        if not os.environ.get("TASKWAVE_KEEP_RUN"):
            shutil.rmtree(run_dir, ignore_errors=True)
