"""Refresh the vendored upstream CRDs (tests/deploy/crds) from their release tags.

The chart tests validate every rendered Dapr, KEDA and Strimzi object against these
schemas offline; tests/deploy/crds/sources.yaml says where each file came from.
Needs internet (github.com); the tests never do.

    python scripts/refresh_crds.py --check                 # offline: files match sources.yaml
    python scripts/refresh_crds.py                         # download again at the recorded tags
    python scripts/refresh_crds.py --tag dapr=v1.18.4 --tag keda=v2.21.0   # move to new releases

After moving a tag, also move the operator versions in .github/workflows/e2e-minikube.yml
and docs/deployment.md (tests/deploy/test_crds.py checks they agree), then run
`./scripts/taskwave test tests/deploy`.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CRDS = ROOT / "tests" / "deploy" / "crds"
SOURCES = CRDS / "sources.yaml"
RAW = "https://raw.githubusercontent.com/{repository}/{commit}/{path}"
GIT = "https://github.com/{repository}"


def git_blob_hash(data: bytes) -> str:
    """What `git hash-object` prints for a file with this content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def load_sources() -> dict[str, Any]:
    sources: dict[str, Any] = yaml.safe_load(SOURCES.read_text())
    return sources


def mismatches(sources: dict[str, Any]) -> list[str]:
    """Vendored files that differ from their recorded blob, are missing, or are unlisted."""
    problems: list[str] = []
    listed = set(sources["files"])
    for name, entry in sources["files"].items():
        path = CRDS / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif git_blob_hash(path.read_bytes()) != entry["blob"]:
            problems.append(f"{name}: content differs from blob {entry['blob']}")
        if name.split("/")[0] not in sources["projects"]:
            problems.append(f"{name}: no project entry for {name.split('/')[0]}")
    for path in sorted(CRDS.glob("*/*.yaml")):
        if path.relative_to(CRDS).as_posix() not in listed:
            problems.append(f"{path.relative_to(CRDS)}: not listed in sources.yaml")
    return problems


def resolve_tag(repository: str, tag: str) -> str:
    """The commit a release tag points at (peeled, for annotated tags)."""
    out = subprocess.run(
        ["git", "ls-remote", GIT.format(repository=repository), f"refs/tags/{tag}*"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    refs: dict[str, str] = {}
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        refs[ref] = sha
    commit = refs.get(f"refs/tags/{tag}^{{}}") or refs.get(f"refs/tags/{tag}")
    if commit is None:
        raise SystemExit(f"{repository}: no tag {tag}")
    return commit


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:  # https URLs only
        data: bytes = response.read()
    return data


def refresh(sources: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    for project, tag in tags.items():
        if project not in sources["projects"]:
            raise SystemExit(f"unknown project {project}: one of {sorted(sources['projects'])}")
        sources["projects"][project]["tag"] = tag
    for project, info in sources["projects"].items():
        info["commit"] = resolve_tag(info["repository"], info["tag"])
        print(f"{project}: {info['repository']} {info['tag']} = {info['commit']}")
    for name, entry in sources["files"].items():
        info = sources["projects"][name.split("/")[0]]
        url = RAW.format(repository=info["repository"], commit=info["commit"], path=entry["path"])
        data = download(url)
        crd = yaml.safe_load(data)
        if crd.get("kind") != "CustomResourceDefinition":
            raise SystemExit(f"{url} is not a CustomResourceDefinition")
        (CRDS / name).write_bytes(data)
        entry["blob"] = git_blob_hash(data)
        print(f"  {name} <- {url}")
    return sources


def write_sources(sources: dict[str, Any]) -> None:
    header = SOURCES.read_text().split("\nprojects:")[0]
    body = yaml.safe_dump(sources, sort_keys=False, default_flow_style=False)
    SOURCES.write_text(f"{header}\n{body}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="verify offline, download nothing")
    parser.add_argument(
        "--tag", action="append", default=[], metavar="PROJECT=TAG", help="move to a release"
    )
    args = parser.parse_args(argv)
    sources = load_sources()
    if args.check:
        problems = mismatches(sources)
        print("\n".join(problems) or f"{len(sources['files'])} CRDs match sources.yaml")
        return 1 if problems else 0
    tags = dict(t.split("=", 1) for t in args.tag)
    write_sources(refresh(sources, tags))
    problems = mismatches(sources)
    print("\n".join(problems) or "refreshed; update README.md's table if versions moved")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
