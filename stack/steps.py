"""Set-up commands run to completion (initdb, Kafka's storage format and topics, go
build, maven), their output streamed with a prefix; a failure shows its last lines."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


def run_step(
    name: str,
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    echo: bool = True,
) -> str:
    """Run a set-up command to completion, streaming its output with a prefix."""
    proc = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdout is not None
    lines = []
    for raw in iter(proc.stdout.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip()
        lines.append(line)
        if echo:
            print(f"[{name}] {line}", file=sys.stderr, flush=True)
    code = proc.wait()
    if code != 0:
        tail = "\n".join(lines[-15:])
        raise RuntimeError(f"{name} failed (exit {code}):\n{tail}")
    return "\n".join(lines)
