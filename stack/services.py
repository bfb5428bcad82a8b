"""The local stack: Kafka, PostgreSQL, the Dapr scheduler, and each function with its daprd."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from shared.topics import RETENTION_MS, all_topics
from stack.bootstrap import Tools
from stack.config import FUNCTIONS, ROOT, StackConfig, env_name, free_port, port_in_use
from stack.errors import StackError
from stack.procs import Supervisor, run_step

DAPR_RESOURCES = ("components", "subscriptions", "resiliency")


def _http_ok(url: str, expect: tuple[int, ...] = (200, 204)) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (loopback only)
            return int(resp.status) in expect
    except (urllib.error.URLError, OSError):
        return False


def _tcp_ok(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Stack:
    def __init__(self, config: StackConfig, tools: Tools) -> None:
        self.config = config
        self.tools = tools
        config.run_dir.mkdir(parents=True, exist_ok=True)
        self.sup = Supervisor(
            config.logs, echo=config.echo, state_file=config.run_dir / "stack.json"
        )
        self.secrets_file = config.run_dir / "secrets.json"
        self.dapr_config = self._write_dapr_config()
        self.app_token = secrets.token_urlsafe(24)

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> float:
        """Start everything and wait until every piece is ready; returns seconds taken."""
        began = time.monotonic()
        self._check_ports()
        self.start_postgres()
        self.start_kafka()
        self.start_scheduler()
        self.wait("postgres", self._postgres_ready, 60)
        self._prepare_database()
        self._write_secrets()
        self.wait("kafka", lambda: _tcp_ok(self.config.ports["kafka"]), 90)
        self._create_topics()
        self.wait(
            "scheduler",
            lambda: _http_ok(f"http://127.0.0.1:{self.config.ports['scheduler-healthz']}/healthz"),
            60,
        )
        # The first sidecar creates the state tables; several doing it at once race
        # in PostgreSQL ("type ... already exists"), so the others start after it.
        first, *rest = self.config.functions
        self.start_function(first)
        self.wait_function(first)
        for fn in rest:
            self.start_function(fn)
        for fn in rest:
            self.wait_function(fn)
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
                raise StackError(
                    f"{p.name} exited with code {p.popen.returncode} while waiting for {name}; "
                    f"see {p.log_path}"
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

    # -- PostgreSQL ------------------------------------------------------------

    def _as_postgres(self) -> list[str]:
        # PostgreSQL refuses to run as root; drop to the packaged 'postgres' user.
        if os.geteuid() != 0:
            return []
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]

    @property
    def _pg_dir(self) -> Path:
        data = self.config.data
        data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0 and not self._postgres_can_enter(data):
            # Running as root in a folder the postgres user cannot traverse
            # (e.g. under /root): keep the cluster beside it in /var/tmp instead.
            digest = hashlib.sha256(str(data).encode()).hexdigest()[:12]
            data = Path("/var/tmp") / f"taskwave-{digest}"
            data.mkdir(parents=True, exist_ok=True)
        return data / "postgres"

    def _postgres_can_enter(self, folder: Path) -> bool:
        probe = [*self._as_postgres(), "test", "-x", str(folder)]
        return subprocess.run(probe, capture_output=True).returncode == 0

    def start_postgres(self) -> None:
        pg = self._pg_dir
        if not (pg / "PG_VERSION").exists():
            pg.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                user = pwd.getpwnam("postgres")
                os.chown(pg, user.pw_uid, user.pw_gid)
            run_step(
                "initdb",
                [
                    *self._as_postgres(),
                    str(self.tools.pg_bin / "initdb"),
                    "-D",
                    str(pg),
                    "-U",
                    "taskwave",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ],
                echo=self.config.echo,
            )
        self.sup.start(
            "postgres",
            [
                *self._as_postgres(),
                str(self.tools.pg_bin / "postgres"),
                "-D",
                str(pg),
                "-p",
                str(self.config.ports["postgres"]),
                "-c",
                "unix_socket_directories=",
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=300",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
            ],
            stop_signal=signal.SIGINT,  # "fast" shutdown; SIGTERM waits for clients
        )

    def _psql(self, sql: str, db: str = "postgres") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(self.tools.pg_bin / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.config.ports["postgres"]),
                "-U",
                "taskwave",
                "-d",
                db,
                "-tAc",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )

    def _postgres_ready(self) -> bool:
        return self._psql("select 1").returncode == 0

    def _prepare_database(self) -> None:
        if self._psql("select 1 from pg_database where datname='taskwave'").stdout.strip() != "1":
            result = self._psql("create database taskwave")
            if result.returncode != 0:
                raise StackError(f"could not create the taskwave database: {result.stderr.strip()}")

    @property
    def pg_connection(self) -> str:
        return (
            f"host=127.0.0.1 port={self.config.ports['postgres']} user=taskwave "
            "dbname=taskwave sslmode=disable pool_max_conns=20"
        )

    def _write_secrets(self) -> None:
        """Secrets the Dapr local-file store serves; the JWT key survives restarts."""
        existing: dict[str, object] = {}
        if self.secrets_file.exists():
            existing = json.loads(self.secrets_file.read_text())
        jwt = existing.get("jwt") or {"signingKey": secrets.token_urlsafe(48)}
        values = {"postgres": {"connectionString": self.pg_connection}, "jwt": jwt}
        self.secrets_file.write_text(json.dumps(values, indent=2))
        self.secrets_file.chmod(0o600)

    # -- Kafka -------------------------------------------------------------------

    def _kafka_java(self, *args: str, heap: str = "-Xmx768m") -> list[str]:
        return [
            self.tools.java,
            heap,
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={ROOT / 'stack/kafka/log4j2.properties'}",
            "-cp",
            f"{self.tools.kafka_lib}/*",
            *args,
        ]

    def start_kafka(self) -> None:
        data = self.config.data / "kafka"
        data.mkdir(parents=True, exist_ok=True)
        ports = self.config.ports
        props = self.config.run_dir / "kafka.properties"
        props.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.bootstrap.servers=127.0.0.1:{ports['kafka-controller']}",
                    f"listeners=PLAINTEXT://127.0.0.1:{ports['kafka']},"
                    f"CONTROLLER://127.0.0.1:{ports['kafka-controller']}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{ports['kafka']},"
                    f"CONTROLLER://127.0.0.1:{ports['kafka-controller']}",
                    "inter.broker.listener.name=PLAINTEXT",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    f"log.dirs={data}",
                    "num.partitions=1",
                    # Every topic is created on purpose (shared/topics.py); a typo fails loudly.
                    "auto.create.topics.enable=false",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=10",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "log.retention.hours=168",
                ]
            )
            + "\n"
        )
        if not (data / "meta.properties").exists():
            cluster_id = run_step(
                "kafka id",
                self._kafka_java("kafka.tools.StorageTool", "random-uuid", heap="-Xmx256m"),
                echo=False,
            ).strip()
            run_step(
                "kafka format",
                self._kafka_java(
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_id.splitlines()[-1],
                    "-c",
                    str(props),
                    "--standalone",
                    heap="-Xmx256m",
                ),
                echo=False,
            )
        self.sup.start("kafka", self._kafka_java("kafka.Kafka", str(props)))

    def _create_topics(self) -> None:
        topics = all_topics()
        specs = [
            f"{name}:{n}" + (f":{RETENTION_MS[name]}" if name in RETENTION_MS else "")
            for name, n in topics.items()
        ]
        out = run_step(
            "kafka topics",
            self._kafka_java(
                str(ROOT / "stack/kafka/CreateTopics.java"),
                self.config.kafka_bootstrap,
                *specs,
                heap="-Xmx256m",
            ),
            echo=False,
        )
        self.sup.say("kafka", out.strip().splitlines()[-1])

    # -- Dapr -----------------------------------------------------------------------

    def _write_dapr_config(self) -> Path:
        """dapr/config.yaml plus name resolution private to this run: with the default
        (mDNS) two stacks on one machine answer each other's service invocations."""
        config = yaml.safe_load((ROOT / "dapr/config.yaml").read_text())
        config["spec"]["nameResolution"] = {
            "component": "sqlite",
            "version": "v1",
            "configuration": {"connectionString": str(self.config.run_dir / "names.db")},
        }
        path = self.config.run_dir / "dapr-config.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def start_scheduler(self) -> None:
        ports = self.config.ports
        etcd = self.config.data / "scheduler"
        etcd.mkdir(parents=True, exist_ok=True)
        self.sup.start(
            "scheduler",
            [
                self.tools.scheduler,
                "--port",
                str(ports["scheduler"]),
                "--listen-address",
                "127.0.0.1",
                "--healthz-port",
                str(ports["scheduler-healthz"]),
                "--healthz-listen-address",
                "127.0.0.1",
                "--metrics-port",
                str(ports["scheduler-metrics"]),
                "--metrics-listen-address",
                "127.0.0.1",
                "--etcd-data-dir",
                str(etcd),
                "--etcd-client-port",
                str(ports["etcd-client"]),
                "--etcd-client-listen-address",
                "127.0.0.1",
                "--etcd-initial-cluster",
                f"dapr-scheduler-server-0=http://127.0.0.1:{ports['etcd-peer']}",
                "--override-broadcast-host-port",
                f"127.0.0.1:{ports['scheduler']}",
                "--log-level",
                "warn",
            ],
            cwd=self.config.run_dir,
        )

    def daprd_argv(self, fn: str) -> list[str]:
        """`fn` is a function, or one of its extra instances ("realtime#2")."""
        p = self.config.ports
        argv = [
            self.tools.daprd,
            "--app-id",
            fn.split("#")[0],
            "--app-port",
            str(p[f"{fn}.app"]),
            "--app-protocol",
            "http",
            "--app-channel-address",
            "127.0.0.1",
            "--dapr-listen-addresses",
            "127.0.0.1",
            "--dapr-http-port",
            str(p[f"{fn}.dapr-http"]),
            "--dapr-grpc-port",
            str(p[f"{fn}.dapr-grpc"]),
            "--dapr-internal-grpc-port",
            str(p[f"{fn}.dapr-internal"]),
            "--metrics-port",
            str(p[f"{fn}.dapr-metrics"]),
            "--config",
            str(self.dapr_config),
            "--scheduler-host-address",
            f"127.0.0.1:{p['scheduler']}",
            "--log-level",
            "warn",
            "--max-body-size",
            "4Mi",
        ]
        for folder in DAPR_RESOURCES:
            argv += ["--resources-path", str(ROOT / "dapr" / folder)]
        return argv

    def start_function(self, fn: str) -> None:
        p = self.config.ports
        shared_env = {"APP_API_TOKEN": self.app_token}
        self.sup.start(
            f"{fn}-dapr",
            self.daprd_argv(fn),
            cwd=self.config.run_dir,
            env={
                **shared_env,
                "TASKWAVE_KAFKA_BROKERS": self.config.kafka_bootstrap,
                "TASKWAVE_SECRETS_FILE": str(self.secrets_file),
            },
        )
        self.sup.start(
            fn,
            [sys.executable, "-m", FUNCTIONS[fn.split("#")[0]]],
            cwd=ROOT,
            env={
                **shared_env,
                "APP_ID": fn.split("#")[0],
                "APP_PORT": str(p[f"{fn}.app"]),
                "TASKWAVE_METRICS_PORT": str(p[f"{fn}.metrics"]),
                "DAPR_HTTP_PORT": str(p[f"{fn}.dapr-http"]),
                "DAPR_GRPC_PORT": str(p[f"{fn}.dapr-grpc"]),
                "TASKWAVE_LOG_LEVEL": os.environ.get("TASKWAVE_LOG_LEVEL", "INFO"),
                "PYTHONUNBUFFERED": "1",
                # Browsers load the UI from todo-api and open the socket on realtime.
                "TASKWAVE_WEBSOCKET_URL": self.config.url("realtime").replace("http", "ws") + "/ws",
                **self.config.app_env,
            },
        )

    def wait_function(self, fn: str, timeout: float = 90) -> None:
        self.wait(
            f"{fn}-dapr", lambda: _http_ok(f"{self.config.dapr_url(fn)}/v1.0/healthz"), timeout
        )
        self.wait(fn, lambda: _http_ok(f"{self.config.url(fn)}/readyz", (200,)), timeout)

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
        """Stop one function and its sidecar (fault tests)."""
        for proc in list(self.sup.procs):
            if proc.name in (fn, f"{fn}-dapr"):
                self.sup.stop(proc)

    def restart_function(self, fn: str) -> None:
        self.stop_function(fn)
        self.start_function(fn)
        self.wait_function(fn)

    def urls(self) -> dict[str, str]:
        urls = {fn: self.config.url(fn) for fn in self.config.functions}
        urls["kafka"] = self.config.kafka_bootstrap
        urls["postgres"] = (
            f"postgresql://taskwave@127.0.0.1:{self.config.ports['postgres']}/taskwave"
        )
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
