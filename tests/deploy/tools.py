"""Go-built tools the deployment tests run: helm and actionlint, cached in .cache/bin.

Like daprd (stack/bootstrap.py), each tool is built once from its Go module through
the Go module proxy and reused until its pinned version changes; a stamp file next
to the binary records what was built. TASKWAVE_HELM / TASKWAVE_ACTIONLINT point at
an existing binary instead.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE_BIN = Path(os.environ.get("TASKWAVE_CACHE", ROOT / ".cache")) / "bin"


@dataclass(frozen=True)
class GoTool:
    name: str
    package: str
    version: str
    # -X flags: tools that report their version from a linker variable.
    version_var: str | None = None


# helm v3.21.4: newest v3 tag; go.mod has no replace directives, so `go install` works.
HELM = GoTool(
    "helm",
    "helm.sh/helm/v3/cmd/helm",
    "v3.21.4",
    version_var="helm.sh/helm/v3/internal/version.version",
)
ACTIONLINT = GoTool("actionlint", "github.com/rhysd/actionlint/cmd/actionlint", "v1.7.12")


class ToolUnavailable(RuntimeError):
    """The tool is not cached and cannot be built here (no Go, no module proxy)."""


def _say(message: str) -> None:
    # Straight to the terminal: pytest captures fixture output, and a first build
    # takes minutes, so show that something is happening.
    print(f"[tools] {message}", file=sys.__stderr__, flush=True)


def _stamp(tool: GoTool) -> str:
    return f"{tool.package}@{tool.version}"


def ensure_go_tool(name: str, package: str, version: str, version_var: str | None = None) -> Path:
    """Path of `name` built from `package@version` into .cache/bin (built on first use)."""
    tool = GoTool(name, package, version, version_var)
    override = os.environ.get(f"TASKWAVE_{name.upper()}")
    if override:
        return Path(override)
    binary = CACHE_BIN / name
    stamp = CACHE_BIN / f".{name}.stamp"
    if binary.exists() and stamp.exists() and stamp.read_text() == _stamp(tool):
        return binary
    CACHE_BIN.mkdir(parents=True, exist_ok=True)
    with open(CACHE_BIN / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be building it right now
        if binary.exists() and stamp.exists() and stamp.read_text() == _stamp(tool):
            return binary
        _build(tool, binary, stamp)
    return binary


def _build(tool: GoTool, binary: Path, stamp: Path) -> None:
    go = shutil.which("go")
    if go is None:
        raise ToolUnavailable(
            f"{tool.name} {tool.version} is not in {CACHE_BIN} and Go is not installed "
            "to build it: install Go 1.22+ (it fetches the toolchain the module needs)"
        )
    _say(
        f"building {tool.name} {tool.version} from the Go module {tool.package} into "
        f"{CACHE_BIN} (first time only: a few minutes on 2 cores)"
    )
    ldflags = "-s -w"
    if tool.version_var:
        ldflags += f" -X {tool.version_var}={tool.version}"
    gobin = CACHE_BIN / f".build-{tool.name}"
    shutil.rmtree(gobin, ignore_errors=True)
    env = {
        **os.environ,
        "GOBIN": str(gobin),
        "CGO_ENABLED": "0",
        "GOFLAGS": "-buildvcs=false",
    }
    cmd = [go, "install", "-v", "-trimpath", "-ldflags", ldflags, f"{tool.package}@{tool.version}"]
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=CACHE_BIN
    )
    assert proc.stdout is not None
    tail: list[str] = []
    last_report = started
    for count, raw in enumerate(proc.stdout, 1):
        line = raw.rstrip()
        tail = (tail + [line])[-30:]
        now = time.monotonic()
        if now - last_report >= 10:
            _say(f"  {tool.name}: {count} packages so far ({now - started:.0f} s), now {line}")
            last_report = now
    if proc.wait() != 0:
        shutil.rmtree(gobin, ignore_errors=True)
        detail = "\n".join(tail)
        raise ToolUnavailable(f"`{' '.join(cmd)}` failed:\n{detail}")
    (gobin / tool.name).replace(binary)
    shutil.rmtree(gobin, ignore_errors=True)
    stamp.write_text(_stamp(tool))
    _say(f"built {binary} in {time.monotonic() - started:.0f} s")


def helm() -> Path:
    return ensure_go_tool(HELM.name, HELM.package, HELM.version, HELM.version_var)


def actionlint() -> Path:
    return ensure_go_tool(ACTIONLINT.name, ACTIONLINT.package, ACTIONLINT.version)


if __name__ == "__main__":  # python -m tests.deploy.tools: build both now
    for path in (helm(), actionlint()):
        print(path)
