"""Where everything lives and which ports it listens on."""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

from stack.errors import StackError

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("TASKWAVE_CACHE", ROOT / ".cache"))

KAFKA_VERSION = "4.3.1"
DAPR_VERSION = "1.18.2"
# The module version stack/go/jaeger/go.mod pins (it builds Jaeger v2, cmd/jaeger).
JAEGER_VERSION = "v1.75.0"

# app id -> Python module; the order is the start order of the apps.
FUNCTIONS: dict[str, str] = {
    "todo-api": "functions.todo_api",
    "recurring": "functions.recurring",
    "reminders": "functions.reminders",
    "audit": "functions.audit",
    "realtime": "functions.realtime",
}

_DEFAULT_PORTS: dict[str, int] = {
    "kafka": 9092,
    "kafka-controller": 9093,
    "postgres": 55432,
    "scheduler": 50006,
    "scheduler-healthz": 58080,
    "scheduler-metrics": 59090,
    "etcd-client": 52379,
    "etcd-peer": 52380,
    # Jaeger: OTLP/HTTP in (the port OpenTelemetry defaults to), query API out.
    "jaeger-otlp": 4318,
    "jaeger-query": 16686,
    "jaeger-query-grpc": 16685,
}
for _i, _fn in enumerate(FUNCTIONS):
    _DEFAULT_PORTS |= {
        f"{_fn}.app": 8000 + _i,
        f"{_fn}.metrics": 9200 + _i,  # the function's /metrics (TASKWAVE_METRICS_PORT)
        f"{_fn}.dapr-http": 3500 + _i,
        f"{_fn}.dapr-grpc": 50001 + _i * 10,
        f"{_fn}.dapr-internal": 50002 + _i * 10,
        f"{_fn}.dapr-metrics": 9100 + _i,
    }


def env_name(port: str) -> str:
    return "TASKWAVE_PORT_" + port.upper().replace("-", "_").replace(".", "_")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def resolve_ports(free: bool) -> dict[str, int]:
    """Defaults (or free ones), each overridable by TASKWAVE_PORT_<NAME>."""
    ports: dict[str, int] = {}
    taken: set[int] = set()
    for name, default in _DEFAULT_PORTS.items():
        override = os.environ.get(env_name(name))
        if override:
            if not override.isdigit():
                raise StackError(f"{env_name(name)}={override!r} is not a port number")
            port = int(override)
        elif free:
            port = free_port()
            while port in taken:
                port = free_port()
        else:
            port = default
        taken.add(port)
        ports[name] = port
    return ports


SAMPLING = re.compile(r"^(0(\.[0-9]+)?|1)$")  # as the chart's values.schema.json


def trace_sampling_from_env() -> str:
    rate = os.environ.get("TASKWAVE_TRACE_SAMPLING", "1")
    if not SAMPLING.match(rate):
        raise StackError(f"TASKWAVE_TRACE_SAMPLING={rate!r}: give a rate from 0 to 1, like 0.1")
    return rate


@dataclass
class StackConfig:
    run_dir: Path
    ports: dict[str, int]
    functions: tuple[str, ...] = tuple(FUNCTIONS)
    echo: bool = True
    # Extra environment for every function (tests shorten timeouts, etc.).
    app_env: dict[str, str] = field(default_factory=dict)
    # Share of traces kept, "0".."1" (the chart's observability.samplingRate): every
    # one while developing; a benchmark may set what a production cluster would.
    trace_sampling: str = field(default_factory=trace_sampling_from_env)
    # Tests only: while this file exists todo-api's outbox relay holds, as if stalled
    # between commit and publish (TASKWAVE_OUTBOX_HOLD_FILE; fault tests create it).
    outbox_hold_file: Path | None = None

    @classmethod
    def for_cli(cls) -> StackConfig:
        run_dir = Path(os.environ.get("TASKWAVE_RUN_DIR", ROOT / ".run"))
        return cls(run_dir=run_dir, ports=resolve_ports(free=False))

    @classmethod
    def for_tests(cls, run_dir: Path) -> StackConfig:
        return cls(
            run_dir=run_dir,
            ports=resolve_ports(free=True),
            echo=False,
            outbox_hold_file=run_dir / "outbox.hold",
        )

    @property
    def logs(self) -> Path:
        return self.run_dir / "logs"

    @property
    def data(self) -> Path:
        return self.run_dir / "data"

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports['kafka']}"

    def url(self, function: str) -> str:
        return f"http://127.0.0.1:{self.ports[f'{function}.app']}"

    def metrics_url(self, function: str) -> str:
        return f"http://127.0.0.1:{self.ports[f'{function}.metrics']}/metrics"

    @property
    def otlp_endpoint(self) -> str:
        """host:port where every function and sidecar sends its spans (Jaeger)."""
        return f"127.0.0.1:{self.ports['jaeger-otlp']}"

    @property
    def jaeger_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['jaeger-query']}"

    def dapr_url(self, function: str) -> str:
        return f"http://127.0.0.1:{self.ports[f'{function}.dapr-http']}"
