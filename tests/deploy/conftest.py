"""Fixtures for the deployment tests: a real helm, and the chart rendered once per values file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy import tools

ROOT = tools.ROOT
CHART = ROOT / "helm" / "taskwave"
# The operators' CRDs, vendored (tests/deploy/crds/README.md says from where).
CRDS = Path(__file__).resolve().parent / "crds"
# The Kubernetes version the chart is rendered for and validated against (kubeVersion
# in Chart.yaml is the floor; AKS, GKE and OKE all offer 1.33).
KUBE_VERSION = "1.33.0"
NAMESPACE = "taskwave"
RELEASE = "taskwave"

# Every values file of the chart: the defaults alone, then each cluster file on top.
VALUES_FILES: dict[str, Path | None] = {"defaults": None} | {
    p.stem.removeprefix("values-"): p for p in sorted(CHART.glob("values-*.yaml"))
}


@dataclass(frozen=True)
class Rendered:
    case: str
    values_file: Path | None
    docs: tuple[dict[str, Any], ...]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def one(self, kind: str, name: str) -> dict[str, Any]:
        found = [d for d in self.of_kind(kind) if d["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.case}: expected one {kind}/{name}, found {len(found)}"
        return found[0]


def helm_args(values_file: Path | None) -> list[str]:
    return ["-f", str(values_file)] if values_file else []


@cache
def helm_binary() -> Path:
    return tools.helm()


def run_helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(helm_binary()), *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


@cache
def render(case: str) -> Rendered:
    values_file = VALUES_FILES[case]
    out = run_helm(
        "template",
        RELEASE,
        str(CHART),
        "--namespace",
        NAMESPACE,
        "--kube-version",
        KUBE_VERSION,
        *helm_args(values_file),
    )
    assert out.returncode == 0, f"helm template ({case}) failed:\n{out.stderr}"
    docs = tuple(d for d in yaml.safe_load_all(out.stdout) if d)
    return Rendered(case, values_file, docs)


@pytest.fixture(scope="session")
def helm() -> Path:
    return helm_binary()


@pytest.fixture(params=list(VALUES_FILES), scope="session")
def rendered(request: pytest.FixtureRequest, helm: Path) -> Rendered:
    return render(request.param)


@cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> openAPIV3Schema of every served version of the upstream CRDs."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    assert CRDS.is_dir(), f"the vendored upstream CRDs are missing from {CRDS}"
    for path in sorted(CRDS.glob("*/*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                schemas[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return schemas


# --- a real Kubernetes API server (tests/deploy/apiserver.py), started once per session ---


@dataclass(frozen=True)
class Kube:
    server: Any  # tests.deploy.apiserver.ApiServer
    api: Any  # kubernetes.client.ApiClient
    dyn: Any  # kubernetes.dynamic.DynamicClient
    crds: tuple[str, ...]


_ran_against: list[str] = []


@pytest.fixture(scope="session")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kube]:
    """etcd + kube-apiserver on 127.0.0.1 with the vendored Dapr, KEDA and Strimzi CRDs."""
    from kubernetes import config

    from tests.deploy import apiserver
    from tests.deploy import kube as kube_apply

    folder = tmp_path_factory.mktemp("apiserver")
    # Straight to the terminal: pytest captures fixture output, and without
    # `python -m stack bootstrap` first, the build below takes many minutes.
    print("[apiserver] starting etcd and kube-apiserver (built first if not cached)",
          file=sys.__stderr__, flush=True)  # fmt: skip
    server, procs = apiserver.start(folder)
    _ran_against.append(f"kube-apiserver {server.version} at {server.url}")
    print(f"[apiserver] kube-apiserver {server.version} ready at {server.url}", file=sys.__stderr__)
    try:
        api = config.new_client_from_config(config_file=str(server.kubeconfig))  # type: ignore[no-untyped-call]
        crds = kube_apply.install_crds(api)
        yield Kube(server, api, kube_apply.dynamic(api, folder / "discovery.json"), tuple(crds))
        api.close()
    finally:
        procs.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in _ran_against:
        terminalreporter.write_line(f"deployment tests ran against a real {line}")
