"""Jaeger v2: the local trace backend. Every function (OTLP exporter) and every daprd
(Configuration `tracing.otel`) exports its spans here over OTLP/HTTP; traces are
kept in memory and read back through Jaeger's HTTP query API.

The Go module ships no built UI (only a placeholder page), so the query API
(`/api/v3/traces/<id>`, `/api/traces?service=…`) is how to read a trace locally.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stack.bootstrap import Tools
from stack.components.probes import http_ok, tcp_ok
from stack.config import StackConfig
from stack.procs import Supervisor

NAME = "jaeger"
# In memory: a local stack's traces live as long as the stack does.
MAX_TRACES = 50_000


def jaeger_config(otlp_port: int, query_port: int, query_grpc_port: int) -> dict[str, Any]:
    """Only what the stack uses, on loopback: OTLP/HTTP in, memory store, query API.
    Every listener is named, since Jaeger's defaults bind 0.0.0.0 on fixed ports."""
    return {
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query"],
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["batch"],
                    "exporters": ["jaeger_storage_exporter"],
                }
            },
            # The collector's own Prometheus endpoint would take a fixed port (8888).
            "telemetry": {"metrics": {"level": "none"}, "logs": {"level": "warn"}},
        },
        "extensions": {
            "jaeger_storage": {"backends": {"memstore": {"memory": {"max_traces": MAX_TRACES}}}},
            "jaeger_query": {
                "storage": {"traces": "memstore"},
                "http": {"endpoint": f"127.0.0.1:{query_port}"},
                "grpc": {"endpoint": f"127.0.0.1:{query_grpc_port}"},
                # Jaeger would trace its own queries to 127.0.0.1:4317, where nobody
                # listens.
                "enable_tracing": False,
            },
        },
        "receivers": {
            "otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{otlp_port}"}}},
        },
        # Short batches: a test reads a trace a moment after the action.
        "processors": {"batch": {"timeout": "200ms"}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": "memstore"}},
    }


class Jaeger:
    def __init__(self, config: StackConfig, tools: Tools, sup: Supervisor) -> None:
        self.config = config
        self.tools = tools
        self.sup = sup

    @property
    def query_url(self) -> str:
        return self.config.jaeger_url

    def write_config(self) -> Path:
        p = self.config.ports
        path = self.config.run_dir / "jaeger.yaml"
        doc = jaeger_config(p["jaeger-otlp"], p["jaeger-query"], p["jaeger-query-grpc"])
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    def start(self) -> None:
        self.sup.start(
            NAME,
            [self.tools.jaeger, "--config", str(self.write_config())],
            cwd=self.config.run_dir,
        )

    def ready(self) -> bool:
        # Both ends: spans are accepted and can be read back.
        return tcp_ok(self.config.ports["jaeger-otlp"]) and http_ok(
            f"{self.query_url}/api/services", (200,)
        )
