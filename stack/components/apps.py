"""The function apps: `python -m functions.<name>` per instance, beside its sidecar."""

from __future__ import annotations

import os
import sys

from stack.components.probes import http_ok
from stack.config import FUNCTIONS, ROOT, StackConfig
from stack.procs import Supervisor


class Apps:
    def __init__(self, config: StackConfig, sup: Supervisor, *, app_token: str) -> None:
        self.config = config
        self.sup = sup
        self.app_token = app_token

    def env(self, instance: str) -> dict[str, str]:
        p = self.config.ports
        app_id = instance.split("#")[0]
        return {
            "APP_API_TOKEN": self.app_token,
            "APP_ID": app_id,
            "APP_PORT": str(p[f"{instance}.app"]),
            "TASKWAVE_METRICS_PORT": str(p[f"{instance}.metrics"]),
            "DAPR_HTTP_PORT": str(p[f"{instance}.dapr-http"]),
            "DAPR_GRPC_PORT": str(p[f"{instance}.dapr-grpc"]),
            "TASKWAVE_LOG_LEVEL": os.environ.get("TASKWAVE_LOG_LEVEL", "INFO"),
            "PYTHONUNBUFFERED": "1",
            # Spans go to the stack's Jaeger, like the sidecars' (dapr-config.yaml).
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{self.config.otlp_endpoint}",
            # Half a second instead of the SDK's 5 s: a trace is readable right after.
            "OTEL_BSP_SCHEDULE_DELAY": "500",
            # The sidecars' rate, decided where a trace starts: a request's first span
            # is the app's, and daprd follows that decision (parent-based sampling).
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": self.config.trace_sampling,
            # Browsers load the UI from todo-api and open the socket on realtime.
            "TASKWAVE_WEBSOCKET_URL": self.config.url("realtime").replace("http", "ws") + "/ws",
            **self.hold_env(app_id),
            **self.config.app_env,
        }

    def hold_env(self, app_id: str) -> dict[str, str]:
        hold = self.config.outbox_hold_file
        if app_id != "todo-api" or hold is None:
            return {}
        return {"TASKWAVE_OUTBOX_HOLD_FILE": str(hold)}

    def start(self, instance: str) -> None:
        """`instance` is a function, or one of its extra instances ("realtime#2")."""
        self.sup.start(
            instance,
            [sys.executable, "-m", FUNCTIONS[instance.split("#")[0]]],
            cwd=ROOT,
            env=self.env(instance),
        )

    def ready(self, instance: str) -> bool:
        return http_ok(f"{self.config.url(instance)}/readyz", (200,))
