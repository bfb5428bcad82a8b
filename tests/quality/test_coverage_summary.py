"""The per-package coverage lines `make test` prints (tests/coverage_summary.py)."""

from __future__ import annotations

from pathlib import Path

from tests.coverage_summary import ROOT, Lines, by_package, package_of, render


def test_a_function_is_its_own_package_and_the_rest_go_by_top_folder() -> None:
    assert package_of(ROOT / "functions/todo_api/chat/when.py") == "functions/todo_api"
    assert package_of(ROOT / "functions/audit/app.py") == "functions/audit"
    assert package_of(ROOT / "functions/__init__.py") == "functions"
    assert package_of(ROOT / "shared/dapr/sidecar.py") == "shared"
    assert package_of(ROOT / "stack/services.py") == "stack"


def test_lines_are_summed_per_package_and_in_total() -> None:
    files: list[tuple[Path, int, int]] = [
        (ROOT / "shared/a.py", 10, 2),
        (ROOT / "shared/b/c.py", 30, 8),
        (ROOT / "functions/audit/app.py", 20, 0),
        (ROOT / "deploy/cli.py", 0, 0),
    ]
    totals = by_package(files)
    assert list(totals) == ["functions/audit", "shared"]  # deploy: no statements, no line
    assert (totals["shared"].statements, totals["shared"].missing) == (40, 10)
    assert totals["shared"].percent == 75.0
    rows = render(totals)
    assert rows[0].split() == ["package", "lines", "missed", "cover"]
    assert rows[2].split() == ["shared", "40", "10", "75.0%"]
    assert rows[-1].split() == ["TOTAL", "60", "10", "83.3%"]


def test_an_empty_package_is_fully_covered() -> None:
    assert Lines().percent == 100.0
    assert Lines(statements=4, missing=4).percent == 0.0
