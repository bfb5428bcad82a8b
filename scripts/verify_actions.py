"""Verify .github/actions-lock.yaml against the actions' own repositories.

For every action the workflows use, it asks the action's git repository which commit
the recorded tag points at (peeled, for an annotated tag), fetches that commit, reads
its action.yml, and checks: the tag's commit is the pinned SHA, `runs.using` is the
recorded runtime, and every input the workflows pass is declared there. Then it checks
that every `uses:` line of the workflows carries a recorded SHA and tag comment.

    python scripts/verify_actions.py                     # against github.com (internet)
    python scripts/verify_actions.py --source '/clones/{owner}+{name}/repo'   # local clones

`--source` is a git URL or path template with {owner}, {name} and {repository}.
tests/deploy/test_pipeline.py makes the offline checks on every test run; this script
is what reads the upstream repositories, after any change to a pin.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / ".github" / "actions-lock.yaml"
WORKFLOWS = ROOT / ".github" / "workflows"
USES = re.compile(r"^\s*(?:-\s*)?uses:\s*([^\s@]+)@(\S+?)(?:\s+#\s*(\S+))?\s*$", re.M)


def git(*args: str, cwd: Path | None = None) -> str:
    out = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=True
    )
    return out.stdout


def tag_commit(url: str, tag: str) -> str | None:
    refs: dict[str, str] = {}
    for line in git("ls-remote", url, f"refs/tags/{tag}", f"refs/tags/{tag}^{{}}").splitlines():
        sha, _, ref = line.partition("\t")
        refs[ref] = sha
    return refs.get(f"refs/tags/{tag}^{{}}") or refs.get(f"refs/tags/{tag}")


def _read_action(repo: Path, sha: str) -> dict[str, Any]:
    for name in ("action.yml", "action.yaml"):
        try:
            action: dict[str, Any] = yaml.safe_load(git("show", f"{sha}:{name}", cwd=repo))
            return action
        except subprocess.CalledProcessError:
            continue
    raise SystemExit(f"{repo}@{sha}: no action.yml")


def action_yml(url: str, sha: str) -> dict[str, Any]:
    if Path(url).is_dir():  # a local clone: read the commit where it is
        return _read_action(Path(url), sha)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        git("init", "--quiet", "--bare", cwd=repo)
        git("fetch", "--quiet", "--depth", "1", url, sha, cwd=repo)
        return _read_action(repo, sha)


def workflow_problems(lock: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    for path in sorted(WORKFLOWS.glob("*.y*ml")):
        for name, ref, comment in USES.findall(path.read_text()):
            if name.startswith("./"):
                continue
            entry = lock.get(name.lower())
            if entry is None:
                problems.append(f"{path.name}: {name} is not in the lock")
            elif (ref, comment) != (entry["sha"], entry["tag"]):
                problems.append(f"{path.name}: {name}@{ref} # {comment} is not the lock's")
    return problems


def verify(source: str) -> list[str]:
    lock: dict[str, dict[str, Any]] = yaml.safe_load(LOCK.read_text())["actions"]
    problems = workflow_problems(lock)
    for name, entry in lock.items():
        owner, repo = entry["repository"].split("/")
        url = source.format(owner=owner, name=repo, repository=entry["repository"])
        commit = tag_commit(url, entry["tag"])
        if commit != entry["sha"]:
            problems.append(f"{name}: tag {entry['tag']} is {commit}, lock says {entry['sha']}")
            continue
        action = action_yml(url, entry["sha"])
        runs = action.get("runs", {}).get("using")
        if runs != entry["runs"]:
            problems.append(f"{name}: runs.using is {runs}, lock says {entry['runs']}")
        undeclared = set(entry["inputs"]) - set(action.get("inputs") or {})
        if undeclared:
            problems.append(f"{name}: inputs {sorted(undeclared)} are not in its action.yml")
        print(f"ok  {name} {entry['tag']} = {entry['sha']} ({runs})")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default="https://github.com/{repository}")
    args = parser.parse_args(argv)
    problems = verify(args.source)
    print("\n".join(problems) or "every action matches its repository")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
