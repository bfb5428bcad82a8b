from __future__ import annotations

import pytest

from loadtest.stats import percentile


@pytest.mark.parametrize(
    ("n", "p", "expected"),
    [(20, 95, 19), (20, 50, 10), (100, 99, 99), (200, 99, 198), (1, 99, 1), (3, 50, 2)],
)
def test_nearest_rank(n: int, p: float, expected: int) -> None:
    # Values 1..n: the nearest-rank percentile is the value at rank ceil(p·n/100).
    assert percentile([float(v) for v in range(n, 0, -1)], p) == expected
