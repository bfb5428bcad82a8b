from __future__ import annotations

import os
import platform
from datetime import UTC, datetime

import pytest

from loadtest.stats import measured_on, percentile, summary_line


@pytest.mark.parametrize(
    ("n", "p", "expected"),
    [(20, 95, 19), (20, 50, 10), (100, 99, 99), (200, 99, 198), (1, 99, 1), (3, 50, 2)],
)
def test_nearest_rank(n: int, p: float, expected: int) -> None:
    # Values 1..n: the nearest-rank percentile is the value at rank ceil(p·n/100).
    assert percentile([float(v) for v in range(n, 0, -1)], p) == expected


def test_a_result_says_when_and_on_what_it_was_measured() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    stamp = measured_on()
    assert before <= datetime.fromisoformat(stamp["when"]) <= datetime.now(UTC)
    assert f"{os.cpu_count()} cores" in stamp["machine"]
    assert platform.python_version() in stamp["machine"]


def test_a_summary_reads_as_one_report_line() -> None:
    s = {"n": 12, "p50": 3.25, "p95": 40.0, "p99": 123.45, "max": 1000.0}
    assert summary_line("overall", s, width=10, digits=7) == (
        "overall    n=  12  p50     3.2  p95    40.0  p99   123.5  max  1000.0 ms"
    )
    assert summary_line("none", None, width=6, digits=7) == "none   no samples"
