"""Percentiles as every benchmark here reports them, and how its results are saved."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    # The smallest rank covering p% of the sample (round() would go a rank too far
    # whenever p·n/100 is odd: it rounds halves to even).
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


def summary_ms(samples_s: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {
        "n": len(ms),
        "p50": round(statistics.median(ms), 2),
        "p95": round(percentile(ms, 95), 2),
        "p99": round(percentile(ms, 99), 2),
        "max": round(max(ms), 2),
    }


def summary_line(name: str, s: dict[str, float] | None, *, width: int, digits: int) -> str:
    """One summary_ms as a report line: `name` padded to `width`, each figure `digits`
    wide (one decimal)."""
    if s is None:
        return f"{name:<{width}} no samples"
    return (
        f"{name:<{width}} n={s['n']:>4}  p50 {s['p50']:{digits}.1f}  p95 {s['p95']:{digits}.1f}  "
        f"p99 {s['p99']:{digits}.1f}  max {s['max']:{digits}.1f} ms"
    )


def measured_on() -> dict[str, str]:
    """When and on what a benchmark ran: the first fields of its result."""
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.system()}, {os.cpu_count()} cores (shared), "
        f"Python {platform.python_version()}",
    }


def save(result: dict[str, Any], path: Path) -> None:
    """A benchmark's figures as JSON under loadtest/results/ (or where asked)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nsaved {path}")
