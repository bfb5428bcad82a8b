"""Dapr: the scheduler (jobs, with its embedded etcd) and one daprd sidecar per function
instance, with this run's configuration and local secrets."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from shared.tokens import new_signing_key, public_pem, signing_key
from stack.bootstrap import Tools
from stack.components.probes import http_ok
from stack.config import ROOT, StackConfig
from stack.procs import Supervisor

SCHEDULER = "scheduler"
RESOURCES = ("components", "subscriptions", "resiliency")


def sidecar_name(instance: str) -> str:
    """The supervisor's name for an instance's daprd: "audit" -> "audit-dapr"."""
    return f"{instance}-dapr"


class Scheduler:
    def __init__(self, config: StackConfig, tools: Tools, sup: Supervisor) -> None:
        self.config = config
        self.tools = tools
        self.sup = sup

    def start(self) -> None:
        ports = self.config.ports
        etcd = self.config.data / "scheduler"
        etcd.mkdir(parents=True, exist_ok=True)
        self.sup.start(
            SCHEDULER,
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

    def ready(self) -> bool:
        return http_ok(f"http://127.0.0.1:{self.config.ports['scheduler-healthz']}/healthz")


class Sidecars:
    def __init__(
        self, config: StackConfig, tools: Tools, sup: Supervisor, *, app_token: str
    ) -> None:
        self.config = config
        self.tools = tools
        self.sup = sup
        self.app_token = app_token
        self.secrets_file = config.run_dir / "secrets.json"
        self.config_file = self._write_config()

    def _write_config(self) -> Path:
        """dapr/config.yaml plus name resolution private to this run: with the default
        (mDNS) two stacks on one machine answer each other's service invocations; and
        traces to this run's Jaeger, on whatever port it got."""
        config = yaml.safe_load((ROOT / "dapr/config.yaml").read_text())
        config["spec"]["tracing"]["otel"]["endpointAddress"] = self.config.otlp_endpoint
        config["spec"]["tracing"]["samplingRate"] = self.config.trace_sampling
        config["spec"]["nameResolution"] = {
            "component": "sqlite",
            "version": "v1",
            "configuration": {"connectionString": str(self.config.run_dir / "names.db")},
        }
        path = self.config.run_dir / "dapr-config.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def write_secrets(self, pg_connection: str) -> None:
        """Secrets the Dapr local-file store serves. The token signing key is made here
        on first start (never committed: .run/ is ignored) and survives restarts; a
        file from before key ids (an HS256 `signingKey`) gets a new Ed25519 key."""
        existing: dict[str, Any] = {}
        if self.secrets_file.exists():
            existing = json.loads(self.secrets_file.read_text())
        signing = existing.get("jwt") or {}
        public = dict(existing.get("jwt-public") or {})
        if not {"kid", "privateKey"} <= signing.keys():
            kid = f"local-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"
            signing, entry = new_signing_key(kid)
            public |= entry
        if signing["kid"] not in public:  # e.g. the public set was edited by hand
            public |= {signing["kid"]: public_pem(signing_key(signing).key.public_key())}
        values = {
            "postgres": {"connectionString": pg_connection},
            "jwt": signing,
            "jwt-public": public,
        }
        self.secrets_file.touch(mode=0o600)
        self.secrets_file.chmod(0o600)  # before the private key is in it
        self.secrets_file.write_text(json.dumps(values, indent=2))

    def argv(self, instance: str) -> list[str]:
        """`instance` is a function, or one of its extra instances ("realtime#2")."""
        p = self.config.ports
        argv = [
            self.tools.daprd,
            "--app-id",
            instance.split("#")[0],
            "--app-port",
            str(p[f"{instance}.app"]),
            "--app-protocol",
            "http",
            "--app-channel-address",
            "127.0.0.1",
            "--dapr-listen-addresses",
            "127.0.0.1",
            "--dapr-http-port",
            str(p[f"{instance}.dapr-http"]),
            "--dapr-grpc-port",
            str(p[f"{instance}.dapr-grpc"]),
            "--dapr-internal-grpc-port",
            str(p[f"{instance}.dapr-internal"]),
            "--metrics-port",
            str(p[f"{instance}.dapr-metrics"]),
            "--config",
            str(self.config_file),
            "--scheduler-host-address",
            f"127.0.0.1:{p['scheduler']}",
            "--log-level",
            "warn",
            "--max-body-size",
            "4Mi",
        ]
        for folder in RESOURCES:
            argv += ["--resources-path", str(ROOT / "dapr" / folder)]
        return argv

    def start(self, instance: str) -> None:
        self.sup.start(
            sidecar_name(instance),
            self.argv(instance),
            cwd=self.config.run_dir,
            env={
                "APP_API_TOKEN": self.app_token,
                "TASKWAVE_KAFKA_BROKERS": self.config.kafka_bootstrap,
                "TASKWAVE_SECRETS_FILE": str(self.secrets_file),
            },
        )

    def ready(self, instance: str) -> bool:
        return http_ok(f"{self.config.dapr_url(instance)}/v1.0/healthz")
