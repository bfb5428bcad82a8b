"""The deploy tool (deploy/) against a real kube-apiserver, the test playing the controllers.

The release is installed by the real helm into the real API server (without hooks or
--wait: no kubelet runs here to make a pod ready or run the migrations Job). Then the
test writes what the Deployment controller, the kubelet, KEDA and Strimzi would
write (status subresources, pods, the HPAs) and runs `python -m deploy` in-process:
each kind of failure must be named on a line of its own, and once all is well the
same command must pass.
"""

from __future__ import annotations

import socket
import stat
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from deploy import cli
from deploy.expected import expected
from stack.config import ROOT
from tests.deploy import kube as k
from tests.deploy.conftest import KUBE_VERSION, Kube, helm_binary

SHA = "0123456789abcdef0123456789abcdef01234567"
pytestmark = pytest.mark.apiserver
NAMESPACE = "taskwave"
VALUES = ROOT / "helm" / "taskwave" / "values-aks.yaml"


def helm(kube: Kube, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(helm_binary()), "--kubeconfig", str(kube.server.kubeconfig), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def rendered() -> list[dict[str, Any]]:
    out = subprocess.run(
        [str(helm_binary()), "template", "taskwave", "helm/taskwave", "-n", NAMESPACE,
         "-f", str(VALUES), "--set", f"image.tag={SHA}", "--kube-version", KUBE_VERSION],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return [d for d in yaml.safe_load_all(out.stdout) if d]


# --- the controllers, played by the test ------------------------------------------------


class Controllers:
    def __init__(self, kube: Kube, namespace: str, docs: list[dict[str, Any]]) -> None:
        self.ns, self.docs, self.exp = namespace, docs, expected(docs)
        self.core = client.CoreV1Api(kube.api)
        self.apps = client.AppsV1Api(kube.api)
        self.custom = client.CustomObjectsApi(kube.api)
        self.hpa = client.AutoscalingV2Api(kube.api)

    def roll_out(self, name: str, available: int | None = None) -> None:
        dep = self.apps.read_namespaced_deployment(name, self.ns)
        assert dep.spec is not None
        assert dep.metadata is not None
        want = dep.spec.replicas
        ready = want if available is None else available
        status = {
            "observedGeneration": dep.metadata.generation,
            "replicas": want,
            "updatedReplicas": want,
            "readyReplicas": ready,
            "availableReplicas": ready,
        }
        self.apps.patch_namespaced_deployment_status(name, self.ns, {"status": status})

    def pod(self, deployment: str, daprd_ready: bool = True, reason: str = "") -> str:
        """The pod the ReplicaSet would create and the kubelet would report on."""
        name = f"{deployment}-0"
        labels = self.exp.selectors[deployment]
        body = {
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "serviceAccountName": f"taskwave-{deployment}",  # one per function
                "containers": [
                    {"name": deployment, "image": f"ghcr.io/taskwave/taskwave-{deployment}:{SHA}"},
                    {"name": "daprd", "image": "ghcr.io/dapr/daprd:1.18.3"},
                ],
            },
        }
        try:
            self.core.create_namespaced_pod(self.ns, body)  # type: ignore[arg-type]  # a manifest dict
        except ApiException as exc:
            if exc.status != 409:
                raise
        now = "2026-12-04T00:00:00Z"
        daprd_state = (
            {"running": {"startedAt": now}}
            if daprd_ready or not reason
            else {"waiting": {"reason": reason}}
        )
        status = {
            "phase": "Running",
            "containerStatuses": [
                {"name": deployment, "ready": True, "restartCount": 0, "image": "x",
                 "imageID": "", "state": {"running": {"startedAt": now}}},
                {"name": "daprd", "ready": daprd_ready, "restartCount": 0 if daprd_ready else 4,
                 "image": "x", "imageID": "", "state": daprd_state},
            ],
        }  # fmt: skip
        self.core.patch_namespaced_pod_status(name, self.ns, {"status": status})
        return name

    def scaled(self, name: str, ready: bool, message: str = "") -> None:
        condition = {
            "type": "Ready",
            "status": "True" if ready else "False",
            "reason": "ScaledObjectReady" if ready else "ScaledObjectCheckFailed",
            "message": message or ("ScaledObject is defined correctly" if ready else "failed"),
        }
        hpa = self.exp.scaled_objects[name]
        self.custom.patch_namespaced_custom_object_status(
            "keda.sh", "v1alpha1", self.ns, "scaledobjects", name,
            {"status": {"conditions": [condition], "hpaName": hpa}},
        )  # fmt: skip
        body = {
            "metadata": {"name": hpa},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": 1,
                "maxReplicas": 2,
                "metrics": [{"type": "External", "external": {
                    "metric": {"name": f"s0-{name}"},
                    "target": {"type": "AverageValue", "averageValue": "1"}}}],
            },
        }  # fmt: skip
        try:
            self.hpa.create_namespaced_horizontal_pod_autoscaler(self.ns, body)  # type: ignore[arg-type]  # a manifest dict
        except ApiException as exc:
            if exc.status != 409:
                raise

    def strimzi(self, plural: str, name: str, ready: bool, message: str = "") -> None:
        obj = self.custom.get_namespaced_custom_object(
            "kafka.strimzi.io", "v1", self.ns, plural, name
        )
        assert isinstance(obj, dict)
        condition = {"type": "Ready", "status": "True"} if ready else {
            "type": "Ready", "status": "False", "reason": "KafkaError", "message": message,
        }  # fmt: skip
        self.custom.patch_namespaced_custom_object_status(
            "kafka.strimzi.io", "v1", self.ns, plural, name,
            {"status": {"conditions": [condition],
                        "observedGeneration": obj["metadata"]["generation"]}},
        )  # fmt: skip

    def all_well(self) -> None:
        for name in self.exp.deployments:
            self.roll_out(name)
        for name in self.exp.dapr_apps:
            self.pod(name)
        for name in self.exp.scaled_objects:
            self.scaled(name, True)
        for name in self.exp.kafkas:
            self.strimzi("kafkas", name, True)
        for name in self.exp.topics:
            self.strimzi("kafkatopics", name, True)
        for name in self.exp.kafka_users:
            self.strimzi("kafkausers", name, True)


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def installed(kube: Kube) -> Controllers:
    """taskwave installed by the real helm into the real API server, its Secrets first."""
    docs = rendered()
    k.ensure_namespace(kube.api, NAMESPACE)
    k.create_secrets(kube.api, NAMESPACE, expected(docs).secrets)
    out = helm(
        kube, "upgrade", "--install", "taskwave", "helm/taskwave", "-n", NAMESPACE,
        "-f", str(VALUES), "--set", f"image.tag={SHA}", "--no-hooks",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return Controllers(kube, NAMESPACE, docs)


def run_tool(
    kube: Kube, capsys: pytest.CaptureFixture[str], *extra: str, ns: str = NAMESPACE
) -> tuple[int, list[str], str]:
    argv = [
        str(VALUES), "--tag", SHA, "--namespace", ns, "--kubeconfig", str(kube.server.kubeconfig),
        "--helm", str(helm_binary()), "--wait-timeout", "3s", "--interval", "0.5", *extra,
    ]  # fmt: skip
    code = cli.main(argv)
    captured = capsys.readouterr()
    problems = [line for line in captured.err.splitlines() if line.startswith("deploy: ")]
    return code, problems, captured.out


# --- readiness: each failure named, then the happy path ----------------------------------


def test_each_failure_is_named_on_a_line_of_its_own(
    kube: Kube, installed: Controllers, capsys: pytest.CaptureFixture[str]
) -> None:
    c = installed
    c.all_well()
    topic = c.exp.topics[0]
    # What a broken promotion looks like to the controllers:
    c.pod("todo-api", daprd_ready=False, reason="CrashLoopBackOff")
    c.scaled("audit", False, "error parsing kafka metadata: no bootstrapServers given")
    c.strimzi("kafkatopics", topic, False, "Invalid replication factor 3 > 1 brokers")
    c.roll_out("realtime", available=0)
    subscription = next(name for kind, name in c.exp.dapr if kind == "Subscription")
    client.CustomObjectsApi(kube.api).delete_namespaced_custom_object(
        "dapr.io", "v2alpha1", NAMESPACE, "subscriptions", subscription
    )
    try:
        code, problems, table = run_tool(kube, capsys, "--no-upgrade", "--no-smoke")
        assert code == 1
        assert problems == [
            "deploy: rollout deployment/realtime: 0 of 1 updated available",
            "deploy: sidecar deployment/todo-api: pod todo-api-0: daprd not ready "
            "(CrashLoopBackOff)",
            f"deploy: dapr subscription/{subscription}: missing",
            "deploy: keda scaledobject/audit: Ready=False: ScaledObjectCheckFailed error parsing "
            "kafka metadata: no bootstrapServers given",
            f"deploy: topic kafkatopic/{topic}: Ready=False: KafkaError Invalid replication "
            "factor 3 > 1 brokers",
        ]
        assert "FAILED" in table
        assert table.splitlines()[0].split() == ["CHECK", "OBJECT", "STATE", "DETAIL"]
        assert table.splitlines()[-1].endswith("5 failed")
    finally:
        # Put the Subscription back for the next test, as helm's next upgrade would.
        doc = next(d for d in c.docs if d["kind"] == "Subscription"
                   and d["metadata"]["name"] == subscription)  # fmt: skip
        k.apply(kube.dyn, doc, NAMESPACE)


def test_once_all_is_well_the_same_command_passes(
    kube: Kube, installed: Controllers, capsys: pytest.CaptureFixture[str]
) -> None:
    installed.all_well()
    code, problems, table = run_tool(kube, capsys, "--no-upgrade", "--no-smoke")
    assert (code, problems) == (0, [])
    rows = table.splitlines()
    exp = installed.exp
    checked = (
        len(exp.deployments) + len(exp.dapr_apps) + len(exp.dapr)
        + 2 * len(exp.scaled_objects) + len(exp.kafkas) + len(exp.topics)
        + len(exp.kafka_users)
    )  # fmt: skip
    assert rows[-1] == f"{checked + 4} ok, 0 failed"  # + tag, release, secrets, smoke
    assert any(r.startswith("sidecar") and "deployment/todo-api" in r for r in rows)
    assert any(r.startswith("smoke") and "skipped (--no-smoke)" in r for r in rows)


def test_it_waits_for_a_rollout_that_completes_while_it_looks(
    kube: Kube, installed: Controllers, capsys: pytest.CaptureFixture[str]
) -> None:
    installed.all_well()
    installed.roll_out("reminders", available=0)
    later = threading.Timer(1.5, installed.roll_out, args=("reminders",))
    later.start()
    try:
        started = time.monotonic()
        code, problems, _ = run_tool(
            kube, capsys, "--no-upgrade", "--no-smoke", "--wait-timeout", "30s"
        )
    finally:
        later.join()
    assert (code, problems) == (0, [])
    assert 1.0 < time.monotonic() - started < 30


# --- pre-flight: before anything changes ------------------------------------------------


def test_a_tag_that_is_not_a_commit_sha_stops_before_the_cluster(
    kube: Kube, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main([str(VALUES), "--tag", "main", "--kubeconfig", "/nonexistent", "--no-smoke"])
    err = capsys.readouterr().err
    assert code == 1
    assert "deploy: preflight tag: TAG=main is not a 40-hex commit SHA" in err


def test_an_unreachable_cluster_is_one_line_not_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: u, user: {}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    code = cli.main([str(VALUES), "--tag", SHA, "--kubeconfig", str(kubeconfig), "--no-smoke"])
    problems = [line for line in capsys.readouterr().err.splitlines() if line.startswith("deploy:")]
    assert code == 1
    assert len(problems) == 1
    assert problems[0].startswith("deploy: cluster current context: API error")


def test_a_missing_secret_is_named_and_nothing_is_upgraded(
    kube: Kube, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ns = "preflight-secrets"
    k.ensure_namespace(kube.api, ns)
    needed = expected(rendered()).secrets
    k.create_secrets(kube.api, ns, tuple(s for s in needed if s not in ("ghcr-pull", "jwt")))
    fake, calls = recording_helm(tmp_path, passthrough=False)
    code, problems, _ = run_tool(kube, capsys, "--helm", str(fake), ns=ns)
    assert code == 1
    assert len(problems) == 1
    assert problems[0].startswith(
        f"deploy: preflight namespace/{ns}: missing Secret(s) in namespace {ns}: ghcr-pull jwt;"
    )
    assert "create secret docker-registry ghcr-pull" in problems[0]
    assert [c for c in calls() if c.startswith("upgrade")] == []


def _release_secret(kube: Kube) -> str:
    secrets = (
        client.CoreV1Api(kube.api)
        .list_namespaced_secret(NAMESPACE, label_selector="owner=helm,name=taskwave")
        .items
    )
    labelled = [
        (s.metadata, s.metadata.labels) for s in secrets if s.metadata and s.metadata.labels
    ]
    newest = max(labelled, key=lambda m: int(m[1]["version"]))[0]
    assert newest.name is not None
    return newest.name


@pytest.mark.parametrize("status", ["pending-upgrade", "pending-rollback", "pending-install"])
def test_a_release_left_pending_is_reported_not_upgraded(
    kube: Kube, installed: Controllers, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    status: str,
) -> None:  # fmt: skip
    core = client.CoreV1Api(kube.api)
    name = _release_secret(kube)
    core.patch_namespaced_secret(name, NAMESPACE, {"metadata": {"labels": {"status": status}}})
    fake, calls = recording_helm(tmp_path, passthrough=False)
    try:
        code, problems, _ = run_tool(kube, capsys, "--helm", str(fake))
    finally:
        core.patch_namespaced_secret(
            name, NAMESPACE, {"metadata": {"labels": {"status": "deployed"}}}
        )
    assert code == 1
    assert problems[0].startswith(
        f"deploy: preflight release/taskwave: release taskwave is {status}"
    )
    assert "helm rollback taskwave <revision>" in problems[0]
    assert [c for c in calls() if c.startswith("upgrade")] == []


# --- the whole run: pre-flight, helm, checks, smoke ---------------------------------------


def recording_helm(tmp_path: Path, passthrough: bool = True) -> tuple[Path, Any]:
    """A helm that logs its arguments; with passthrough it runs the real helm, minus
    --atomic/--wait and with --no-hooks, since no kubelet here makes a pod ready."""
    log = tmp_path / "helm-calls.log"
    script = tmp_path / "helm"
    real = helm_binary()
    script.write_text(
        f"""#!/usr/bin/env python3
import os, sys
args = sys.argv[1:]
with open({str(log)!r}, "a") as out:
    out.write(" ".join(args) + "\\n")
if args[0] == "upgrade" and not {passthrough!r}:
    sys.exit(0)
if args[0] == "upgrade":
    args = [a for a in args if a not in ("--atomic", "--wait")] + ["--no-hooks"]
os.execv({str(real)!r}, [{str(real)!r}, *args])
"""
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)

    def calls() -> list[str]:
        return log.read_text().splitlines() if log.exists() else []

    return script, calls


@pytest.fixture
def github_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "github_output"
    path.touch()
    monkeypatch.setenv("GITHUB_OUTPUT", str(path))
    return path


def test_a_full_run_upgrades_with_helm_then_checks_and_reports_the_rollback_target(
    kube: Kube, installed: Controllers, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    github_output: Path,
) -> None:  # fmt: skip
    installed.all_well()
    before = _release_secret(kube)
    live = int(before.rsplit(".v", 1)[1])
    fake, calls = recording_helm(tmp_path)
    code, problems, table = run_tool(kube, capsys, "--helm", str(fake), "--no-smoke")
    assert (code, problems) == (0, [])
    (upgrade,) = [c for c in calls() if c.startswith("upgrade")]
    for flag in ("--install taskwave", "--atomic", "--wait", "--timeout 10m", f"image.tag={SHA}",
                 "values-aks.yaml", "--history-max 10"):  # fmt: skip
        assert flag in upgrade, flag
    assert _release_secret(kube) != before  # the real helm made a new revision
    assert github_output.read_text().splitlines() == [f"previous={live}", "upgraded=true"]
    assert any(r.startswith("helm") and "upgraded in" in r for r in table.splitlines())


def test_a_failed_helm_upgrade_stops_before_the_checks(
    kube: Kube, installed: Controllers, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    github_output: Path,
) -> None:  # fmt: skip
    failing = tmp_path / "helm-fails"
    failing.write_text(f'#!/bin/sh\n[ "$1" = upgrade ] && exit 1\nexec {helm_binary()} "$@"\n')
    failing.chmod(0o755)
    code, problems, table = run_tool(kube, capsys, "--helm", str(failing), "--no-smoke")
    assert code == 1
    assert problems == [
        "deploy: helm release/taskwave: "
        + next(r for r in table.splitlines() if r.startswith("helm")).split("FAILED", 1)[1].strip()
    ]
    assert "--atomic rolled it back" in problems[0]
    assert "upgraded=true" not in github_output.read_text()
    assert not any(r.startswith("rollout") for r in table.splitlines())


class _Unavailable(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET


def test_a_failing_smoke_test_fails_the_deploy(
    kube: Kube, installed: Controllers, capsys: pytest.CaptureFixture[str]
) -> None:
    installed.all_well()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        code, problems, _ = run_tool(
            kube, capsys, "--no-upgrade", "--base-url", url, "--smoke-timeout", "60s"
        )
    finally:
        server.shutdown()
    assert code == 1
    assert problems == [f"deploy: smoke {url}: failed against {url} (exit 1; its log is above)"]
