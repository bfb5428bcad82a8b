"""The GitHub Actions workflows: they parse, name only paths that exist, pass actionlint,
and do what the README and the chart expect (make test, images per function, promotion
with environments, the minikube end-to-end run)."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack.config import FUNCTIONS, ROOT
from tests.deploy import tools

WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))
TOP_LEVEL = {p.name for p in ROOT.iterdir() if not p.name.startswith(".")} | {".github"}
SEGMENT = r"(?:[\w.*-]|\$\{\{[^}]*\}\}|\$\{?\w+\}?)+"
PATH_TOKEN = re.compile(rf"(?<![\w/.$-])(?:\./)?({SEGMENT}(?:/{SEGMENT})+)")


def load(path: Path) -> dict[str, Any]:
    doc: dict[Any, Any] = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as true.
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


def _expansions(job: dict[str, Any], text: str) -> list[dict[str, str]]:
    """Variable bindings to try: the job's matrix, and `for x in a b c` shell loops."""
    names: dict[str, list[str]] = {}
    matrix = job.get("strategy", {}).get("matrix", {})
    for key, values in matrix.items():
        if isinstance(values, list):
            names[f"${{{{ matrix.{key} }}}}"] = [str(v) for v in values]
    for var, values in re.findall(r"for (\w+) in ([^;\n]+); do", text):
        names[f"${var}"] = values.split()
        names[f"${{{var}}}"] = values.split()
    bindings: list[dict[str, str]] = [{}]
    for name, values in names.items():
        bindings = [b | {name: v} for b in bindings for v in values]
    return bindings


def referenced_paths(path: Path) -> list[str]:
    """Repository paths a workflow names (in run scripts and action inputs), expanded."""
    doc = load(path)
    found: list[str] = []
    for job in doc["jobs"].values():
        # Run scripts and action inputs; `uses:` names actions, not paths.
        steps = job.get("steps", [])
        texts = [s.get("run", "") for s in steps] + _strings([s.get("with", {}) for s in steps])
        for text in texts:
            for token in PATH_TOKEN.findall(text):
                if token.split("/")[0] not in TOP_LEVEL or "://" in text.split(token)[0][-3:]:
                    continue
                for binding in _expansions(job, text):
                    expanded = token
                    for name, value in binding.items():
                        expanded = expanded.replace(name, value)
                    if "$" not in expanded:
                        found.append(expanded)
    return found


def test_there_are_the_four_workflows() -> None:
    names = {p.name for p in FILES}
    assert {"ci.yml", "images.yml", "deploy.yml", "e2e-minikube.yml"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_workflow_parses(path: Path) -> None:
    doc = load(path)
    assert doc["name"]
    assert doc["on"]
    assert doc["jobs"]
    for job in doc["jobs"].values():
        assert "steps" in job or "uses" in job
        for step in job.get("steps", []):
            assert ("uses" in step) != ("run" in step), step


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_workflow_names_only_paths_that_exist(path: Path) -> None:
    paths = referenced_paths(path)
    missing = [p for p in paths if not list(ROOT.glob(p))]
    assert missing == []
    triggers = load(path)["on"]
    if isinstance(triggers, dict):
        for event in triggers.values():
            for pattern in (event or {}).get("paths", []) if isinstance(event, dict) else []:
                assert list(ROOT.glob(pattern)), f"paths filter matches nothing: {pattern}"


def test_the_path_scan_sees_paths() -> None:
    # The scan must find what the workflows name, or the test above proves nothing.
    images = referenced_paths(WORKFLOWS / "images.yml")
    assert "docker/Dockerfile" in images
    e2e = referenced_paths(WORKFLOWS / "e2e-minikube.yml")
    assert {"helm/taskwave/values-minikube.yaml", ".github/e2e/postgres.yaml"} <= set(e2e)
    assert "scripts/smoke.py" in e2e


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_actions_are_pinned_to_a_release(path: Path) -> None:
    for use in re.findall(r"uses:\s*([^\s#]+)", path.read_text()):
        if use.startswith("./"):
            assert (ROOT / use).exists(), use
            continue
        ref = use.partition("@")[2]
        # A commit SHA: a tag can be moved (test_pipeline.py checks the recorded release).
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{use}: not pinned by commit SHA"


def test_actionlint_is_clean() -> None:
    try:
        binary = tools.actionlint()
    except tools.ToolUnavailable as err:
        pytest.skip(str(err))
    out = subprocess.run(
        [str(binary), "-no-color", *map(str, FILES)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def _steps(path: Path) -> list[dict[str, Any]]:
    return [s for job in load(path)["jobs"].values() for s in job.get("steps", [])]


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / "README.md").read_text()
    assert any(s.get("run", "").strip() == "make test" for s in _steps(WORKFLOWS / "ci.yml"))


def test_ci_lint_job_runs_make_check_and_gates_the_tests() -> None:
    """`make check` fails fast in a short job of its own; the long job waits for it."""
    assert "make check" in (ROOT / "README.md").read_text()
    jobs = load(WORKFLOWS / "ci.yml")["jobs"]
    lint = jobs["lint"]
    assert [s["run"].strip() for s in lint["steps"] if "run" in s][-1] == "make check"
    assert lint["timeout-minutes"] <= 10
    assert jobs["test"]["needs"] in ("lint", ["lint"])


def test_images_are_built_for_every_function_and_tagged_by_commit() -> None:
    doc = load(WORKFLOWS / "images.yml")
    job = doc["jobs"]["function"]
    assert set(job["strategy"]["matrix"]["function"]) == set(FUNCTIONS)
    text = (WORKFLOWS / "images.yml").read_text()
    assert "ghcr.io/${{ github.repository_owner }}/taskwave-${{ matrix.function }}" in text
    # The tag is the full SHA of the commit ci tested (the gate job's output).
    assert "type=raw,value=${{ needs.gate.outputs.sha }}" in text
    assert job["permissions"]["packages"] == "write"
    assert doc["permissions"] == {"contents": "read"}


def test_every_image_build_names_its_function() -> None:
    # docker/Dockerfile builds any function; --build-arg FUNCTION says which one.
    doc = load(WORKFLOWS / "images.yml")
    builds = {
        name: next(s["with"] for s in job["steps"] if "build-push-action@" in s.get("uses", ""))
        for name, job in doc["jobs"].items()
        if name in ("base", "function")
    }
    assert {b["file"] for b in builds.values()} == {"docker/Dockerfile"}
    assert builds["base"]["target"] == "runtime"  # the shared layers need no function
    assert builds["function"]["build-args"] == "FUNCTION=${{ matrix.function }}"
    e2e = "\n".join(s.get("run", "") for s in _steps(WORKFLOWS / "e2e-minikube.yml"))
    loop = re.search(r"for (\w+) in ([^;\n]+); do\n(.*?)\n\s*done", e2e, re.S)
    assert loop
    var, names, body = loop.groups()
    assert set(names.split()) == set(FUNCTIONS)
    assert "minikube image build" in body
    assert "-f docker/Dockerfile" in body
    assert f'--build-opt=build-arg="FUNCTION=${var}"' in body


def test_deploy_promotes_staging_to_production_on_three_clouds() -> None:
    deploy = load(WORKFLOWS / "deploy.yml")
    jobs = deploy["jobs"]
    assert "staging" in jobs["production"]["needs"]
    assert jobs["staging"]["with"]["environment"] == "staging"
    assert jobs["production"]["with"]["environment"] == "production"
    called = load(ROOT / jobs["staging"]["uses"])
    assert set(called["jobs"]) == {"aks", "gke", "oke"}
    logins = {
        "aks": "azure/login@",
        "gke": "google-github-actions/auth@",
        "oke": "oracle-actions/configure-kubectl-oke@",
    }
    for cloud, action in logins.items():
        job = called["jobs"][cloud]
        assert job["environment"] == "${{ inputs.environment }}"
        uses = [s.get("uses", "") for s in job["steps"]]
        assert any(u.startswith(action) for u in uses), cloud
        runs = " ".join(s.get("run", "") for s in job["steps"])
        # The deploy tool runs the smoke test (scripts/smoke.py) against --base-url.
        assert f"python -m deploy helm/taskwave/values-{cloud}.yaml" in runs, cloud
        assert "--base-url" in runs, cloud


def test_e2e_installs_the_platform_and_runs_the_smoke_test() -> None:
    runs = "\n".join(s.get("run", "") for s in _steps(WORKFLOWS / "e2e-minikube.yml"))
    uses = [s.get("uses", "") for s in _steps(WORKFLOWS / "e2e-minikube.yml")]
    assert any(u.startswith("medyagh/setup-minikube@") for u in uses)
    for needle in (
        "--repo https://dapr.github.io/helm-charts/",
        "--repo https://kedacore.github.io/charts",
        "strimzi-kafka-operator",
        "helm upgrade --install taskwave helm/taskwave",
        "values-minikube.yaml",
        "python -m deploy helm/taskwave/values-minikube.yaml --no-upgrade",
        "scripts/smoke.py",
    ):
        assert needle in runs, needle


def test_pinned_versions_agree() -> None:
    helm_pins = set()
    for path in FILES:
        helm_pins |= set(re.findall(r"HELM_VERSION: (v[\d.]+)", path.read_text()))
    assert helm_pins == {tools.HELM.version}
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pins = {d.split("==")[0]: d for d in dev["dev"]}
    smoke = (ROOT / "scripts/smoke-requirements.txt").read_text()
    found = re.findall(r"^([A-Za-z0-9_.-]+==[^\s\\]+)", smoke, re.M)
    assert found
    for pin in found:
        assert pins[pin.split("==")[0]] == pin


def test_e2e_manifests_are_valid_offline() -> None:
    from tests.deploy.validation import errors

    for path in sorted((ROOT / ".github" / "e2e").glob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert docs
        problems = [p for d in docs for p in errors(d)]
        assert problems == [], problems
