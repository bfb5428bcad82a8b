"""scripts/deploy.sh, run for real against a stand-in cluster: `kubectl` and every helm
command that would talk to a cluster are small fakes that record their calls, while
`helm template` is the real helm rendering the real chart. The script must refuse to
deploy (before any upgrade) without the image pull secret or another Secret the chart
names, with a tag that is not a commit SHA, or over a release left pending by an
interrupted run; and it must report the revision a failed smoke test can go back to."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from stack.config import ROOT
from tests.deploy.conftest import KUBE_VERSION, helm_binary

SHA = "0123456789abcdef0123456789abcdef01234567"
ALL_SECRETS = "ghcr-pull postgres jwt taskwave-app-token taskwave-dapr-api-token kafka-sasl"

FAKE_KUBECTL = """#!/usr/bin/env bash
echo "kubectl $*" >> "$FAKE_LOG"
case " $* " in
  *" version "*) echo '{"serverVersion": {"gitVersion": "v%(kube)s"}}' ;;
  *" get secret "*)
    name="${*: -1}"
    for s in $FAKE_SECRETS; do [ "$s" = "$name" ] && exit 0; done
    exit 1 ;;
  *) exit 0 ;;
esac
"""

FAKE_HELM = """#!/usr/bin/env bash
echo "helm $*" >> "$FAKE_LOG"
case "$1" in
  template) exec "%(helm)s" "$@" ;;
  status)
    [ -n "$FAKE_STATUS" ] || exit 1
    [ "$2" = "$RELEASE_NAME" ] || exit 1
    if [ "$5" = "-o" ]; then
      printf '{"info": {"status": "%%s"}}\\n' "$FAKE_STATUS"
    fi ;;
  history) echo "$FAKE_HISTORY" ;;
  *) exit 0 ;;
esac
"""


def _fakes(tmp: Path) -> Path:
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    scripts = {
        "kubectl": FAKE_KUBECTL % {"kube": KUBE_VERSION},
        "helm": FAKE_HELM % {"helm": helm_binary()},
    }
    for name, text in scripts.items():
        path = bin_dir / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def deploy(
    tmp_path: Path,
    values: str = "aks",
    secrets: str = ALL_SECRETS,
    tag: str = SHA,
    status: str = "",
    history: list[dict[str, object]] | None = None,
) -> tuple[subprocess.CompletedProcess[str], list[str], str]:
    bin_dir = _fakes(tmp_path)
    log, output = tmp_path / "calls.log", tmp_path / "github_output"
    log.touch()
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_LOG": str(log),
        "FAKE_SECRETS": secrets,
        "FAKE_STATUS": status,
        "FAKE_HISTORY": json.dumps(history or []),
        "RELEASE_NAME": "taskwave",
        "TAG": tag,
        "HOST": "taskwave.example.com",
        "GITHUB_OUTPUT": str(output),
    }
    env.pop("HELM_TIMEOUT", None)
    proc = subprocess.run(
        ["bash", "scripts/deploy.sh", f"helm/taskwave/values-{values}.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    outputs = output.read_text() if output.exists() else ""
    return proc, log.read_text().splitlines(), outputs


def upgrades(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("helm upgrade")]


@pytest.mark.parametrize("cloud", ["aks", "gke", "oke"])
def test_a_missing_pull_secret_stops_the_deploy_before_helm(tmp_path: Path, cloud: str) -> None:
    without = " ".join(s for s in ALL_SECRETS.split() if s != "ghcr-pull")
    proc, calls, _ = deploy(tmp_path, cloud, secrets=without)
    assert proc.returncode != 0
    assert "missing Secret(s) in namespace taskwave: ghcr-pull" in proc.stderr
    assert "docker-registry ghcr-pull" in proc.stderr  # says how to create it
    assert upgrades(calls) == []


def test_every_secret_the_chart_names_is_checked(tmp_path: Path) -> None:
    proc, calls, _ = deploy(tmp_path, "gke", secrets="ghcr-pull")
    assert proc.returncode != 0
    missing = proc.stderr.split("missing Secret(s) in namespace taskwave: ")[1].split("\n")[0]
    assert set(missing.split()) == set(ALL_SECRETS.split()) - {"ghcr-pull"}
    assert upgrades(calls) == []


def test_with_every_secret_it_upgrades_atomically_and_reports_a_first_install(
    tmp_path: Path,
) -> None:
    proc, calls, outputs = deploy(tmp_path, "oke")
    assert proc.returncode == 0, proc.stderr
    (upgrade,) = upgrades(calls)
    for flag in ("--atomic", "--wait", "--timeout 10m", f"image.tag={SHA}", "values-oke.yaml"):
        assert flag in upgrade, flag
    assert outputs.strip() == "previous="  # nothing to roll back to
    rollouts = [c for c in calls if "rollout status" in c]
    assert len(rollouts) == 5


def test_an_upgrade_reports_the_revision_that_was_live(tmp_path: Path) -> None:
    history = [
        {"revision": 6, "status": "superseded"},
        {"revision": 7, "status": "deployed"},
        {"revision": 8, "status": "failed"},
    ]
    proc, calls, outputs = deploy(tmp_path, "aks", status="deployed", history=history)
    assert proc.returncode == 0, proc.stderr
    assert outputs.strip() == "previous=7"
    assert len(upgrades(calls)) == 1


@pytest.mark.parametrize("status", ["pending-upgrade", "pending-rollback", "pending-install"])
def test_a_release_left_pending_is_reported_not_upgraded(tmp_path: Path, status: str) -> None:
    proc, calls, _ = deploy(tmp_path, "aks", status=status)
    assert proc.returncode != 0
    assert f"is {status}" in proc.stderr and "helm rollback" in proc.stderr
    assert upgrades(calls) == []


@pytest.mark.parametrize("tag", ["main", "v1.2.0", SHA[:12], SHA.upper()])
def test_only_a_full_commit_sha_is_deployed(tmp_path: Path, tag: str) -> None:
    proc, calls, _ = deploy(tmp_path, "aks", tag=tag)
    assert proc.returncode != 0
    assert "not a 40-hex commit SHA" in proc.stderr
    assert calls == []
