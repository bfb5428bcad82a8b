"""scripts/verify_actions.py, against a small action repository made here: it accepts
a lock entry that matches the repository and reports a moved tag, an input the
action.yml does not declare, another runtime, and a workflow pin not in the lock."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.scripts import load_script

ACTION = """name: demo
inputs:
  version: {description: which}
  token: {description: auth}
runs:
  using: node24
  main: index.js
"""


def _git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, Path, str]:
    repo = tmp_path / "clones" / "demo+setup-demo"
    repo.mkdir(parents=True)
    _git(repo, "init", "--quiet")
    (repo / "action.yml").write_text(ACTION)
    _git(repo, "add", "action.yml")
    _git(repo, "commit", "--quiet", "-m", "v1")
    _git(repo, "tag", "-a", "v1.0.0", "-m", "v1.0.0")  # annotated: the script peels it
    sha = _git(repo, "rev-parse", "HEAD")
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "w.yml").write_text(f"steps:\n  - uses: demo/setup-demo@{sha} # v1.0.0\n")
    script = load_script("verify_actions")
    monkeypatch.setattr(script, "WORKFLOWS", workflows)
    monkeypatch.setattr(script, "LOCK", tmp_path / "lock.yaml")
    return script, tmp_path, sha


def _lock(path: Path, **entry: Any) -> None:
    base = {"repository": "demo/setup-demo", "tag": "v1.0.0", "runs": "node24", "inputs": []}
    path.write_text(yaml.safe_dump({"actions": {"demo/setup-demo": base | entry}}))


def test_a_matching_entry_passes(setup: tuple[ModuleType, Path, str]) -> None:
    script, tmp, sha = setup
    _lock(tmp / "lock.yaml", sha=sha, inputs=["version"])
    assert script.verify(str(tmp / "clones" / "{owner}+{name}")) == []


def test_mismatches_are_reported(setup: tuple[ModuleType, Path, str]) -> None:
    script, tmp, sha = setup
    source = str(tmp / "clones" / "{owner}+{name}")
    _lock(tmp / "lock.yaml", sha="f" * 40)
    problems = script.verify(source)
    assert any("tag v1.0.0 is " + sha in p for p in problems)
    assert any("is not the lock's" in p for p in problems)  # the workflow pins another SHA
    _lock(tmp / "lock.yaml", sha=sha, inputs=["versions"], runs="node20")
    problems = script.verify(source)
    assert any("inputs ['versions']" in p for p in problems)
    assert any("runs.using is node24" in p for p in problems)
