"""The repository stands on its own: the operators' CRDs the chart is validated against
are vendored in tests/deploy/crds, unmodified and recorded (sources, versions,
licence), they match the operator versions the e2e run installs, and nothing reads a
folder beside the repository."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import CRDS, crd_schemas
from tests.deploy.tools import ROOT
from tests.scripts import load_script

THIS = "tests/deploy/test_crds.py"
# A relative path that climbs to a folder named shared, as text.
SIBLING = r"(?:\.\./)+shared\b[^\s)`'\"]*"
E2E = ROOT / ".github" / "workflows" / "e2e-minikube.yml"
# The variable of the e2e workflow that installs each vendored project.
E2E_VERSION_VARS = {
    "dapr": "DAPR_RUNTIME_VERSION",
    "keda": "KEDA_CHART_VERSION",
    "strimzi": "STRIMZI_VERSION",
}


def _sources() -> dict[str, Any]:
    sources: dict[str, Any] = yaml.safe_load((CRDS / "sources.yaml").read_text())
    return sources


def test_every_vendored_crd_is_the_recorded_upstream_file() -> None:
    script = load_script("refresh_crds")
    assert script.mismatches(_sources()) == []
    assert script.CRDS == CRDS


def test_the_check_catches_an_edited_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    script = load_script("refresh_crds")
    copy = tmp_path / "crds"
    for name in _sources()["files"]:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes((CRDS / name).read_bytes())
    monkeypatch.setattr(script, "CRDS", copy)
    assert script.mismatches(_sources()) == []
    edited = copy / "keda" / "keda.sh_scaledobjects.yaml"
    edited.write_text(edited.read_text().replace("minReplicaCount", "minReplicas"))
    (copy / "dapr" / "extra.yaml").write_text("kind: CustomResourceDefinition\n")
    problems = script.mismatches(_sources())
    assert any("keda.sh_scaledobjects.yaml: content differs" in p for p in problems)
    assert any("extra.yaml: not listed" in p for p in problems)


def test_the_blob_hash_is_what_git_computes() -> None:
    script = load_script("refresh_crds")
    path = CRDS / "dapr" / "components.yaml"
    out = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert script.git_blob_hash(path.read_bytes()) == out.stdout.strip()


def test_each_file_holds_one_crd_of_its_project() -> None:
    sources = _sources()
    groups = {"dapr": "dapr.io", "keda": "keda.sh", "strimzi": "kafka.strimzi.io"}
    for name in sources["files"]:
        docs = [d for d in yaml.safe_load_all((CRDS / name).read_text()) if d]
        assert len(docs) == 1, name
        assert docs[0]["kind"] == "CustomResourceDefinition"
        assert docs[0]["spec"]["group"] == groups[name.split("/")[0]], name
    # The chart's custom resources are all covered (conftest reads these files).
    kinds = {kind for _, kind in crd_schemas()}
    assert {"Component", "Subscription", "ScaledObject", "Kafka", "KafkaTopic"} <= kinds


def test_the_readme_records_versions_commits_and_licence() -> None:
    readme = (CRDS / "README.md").read_text()
    for project, info in _sources()["projects"].items():
        assert f"`{info['tag']}` (`{info['commit']}`)" in readme, project
        assert info["repository"] in readme
        assert info["license"] in readme
        assert re.fullmatch(r"[0-9a-f]{40}", info["commit"]), project
    assert "Apache License" in (CRDS / "LICENSE-Apache-2.0").read_text()


def test_the_e2e_cluster_runs_the_vendored_versions() -> None:
    env = yaml.safe_load(E2E.read_text())["env"]
    for project, var in E2E_VERSION_VARS.items():
        tag = _sources()["projects"][project]["tag"]
        assert str(env[var]) == tag.removeprefix("v"), f"{var} != {project} CRDs {tag}"
    guide = (ROOT / "docs" / "deployment.md").read_text()
    for project in E2E_VERSION_VARS:
        assert _sources()["projects"][project]["tag"].removeprefix("v") in guide, project


def tracked_text_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    skip = ("tests/deploy/crds/", "docs/screenshots/", "loadtest/results")
    return [f for f in out.stdout.split() if not f.startswith(skip)]


def test_nothing_reads_a_folder_beside_the_repository() -> None:
    # A clone from GitHub has nothing beside it: a relative path up to a `shared`
    # folder must only ever mean the repository's own shared/ package (the links
    # from docs/ to it).
    found: list[str] = []
    for name in tracked_text_files():
        if name == THIS:
            continue
        path = ROOT / name
        try:
            text = path.read_text()
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        for match in re.finditer(SIBLING, text):
            target = (path.parent / match.group(0)).resolve()
            if not target.is_relative_to(ROOT) or not target.exists():
                found.append(f"{name}: {match.group(0)}")
        if "ROOT.parent /" in text and name != THIS:
            found.append(f"{name}: reads beside the repository")
    assert found == []


def test_the_sibling_scan_sees_a_sibling_reference() -> None:
    # The scan above must flag what a clone would miss.
    probe = ROOT / "tests" / "deploy" / "conftest.py"
    up = ".."
    target = (probe.parent / up / up / up / "shared" / "crds").resolve()
    assert not target.is_relative_to(ROOT)
    assert (ROOT / "docs" / up / "shared" / "schemas").resolve().is_relative_to(ROOT)
    # And the pattern the scan uses finds such a path in text.
    assert re.search(SIBLING, "see " + "/".join([up, up, "shared", "crds"]))
