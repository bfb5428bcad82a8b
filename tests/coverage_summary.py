"""Line coverage per package at the end of a `--cov` run (`make test`, `make unit`).

scripts/taskwave runs pytest with `--cov --cov-report= -p tests.coverage_summary`:
pytest-cov measures and saves .coverage, and this prints one line per package (each
function, functions/<name>, then shared, stack and deploy) instead of ~150 per file
(`.venv/bin/coverage report` shows those afterwards). The figure is for code run in the
pytest process: the integration tests' apps run as subprocesses (stack/), so an app's
lines count only where an in-process test runs them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from _pytest.terminal import TerminalReporter

ROOT = Path(__file__).resolve().parents[1]
# [tool.coverage.run] source in pyproject.toml.
PACKAGES = ("functions", "shared", "stack", "deploy")


@dataclass
class Lines:
    statements: int = 0
    missing: int = 0

    @property
    def percent(self) -> float:
        if not self.statements:
            return 100.0
        return 100.0 * (self.statements - self.missing) / self.statements


def package_of(path: Path) -> str:
    """`functions/todo_api/chat/when.py` -> `functions/todo_api`; `shared/x/y.py` -> `shared`."""
    parts = path.relative_to(ROOT).parts
    if parts[0] == "functions" and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0]


def by_package(files: Iterable[tuple[Path, int, int]]) -> dict[str, Lines]:
    """Sum (file, statements, missing) per package, in name order; a package with no
    statements (functions/__init__.py alone) has no line."""
    totals: dict[str, Lines] = {}
    for path, statements, missing in files:
        lines = totals.setdefault(package_of(path), Lines())
        lines.statements += statements
        lines.missing += missing
    return {name: lines for name, lines in sorted(totals.items()) if lines.statements}


def render(totals: dict[str, Lines]) -> list[str]:
    width = max([len("TOTAL"), *map(len, totals)])
    rows = [f"{'package':<{width}}  {'lines':>6}  {'missed':>6}  {'cover':>6}"]
    whole = Lines()
    for name, lines in totals.items():
        rows.append(
            f"{name:<{width}}  {lines.statements:>6}  {lines.missing:>6}  {lines.percent:>5.1f}%"
        )
        whole.statements += lines.statements
        whole.missing += lines.missing
    rows.append(
        f"{'TOTAL':<{width}}  {whole.statements:>6}  {whole.missing:>6}  {whole.percent:>5.1f}%"
    )
    return rows


def _data_file() -> Path:
    # coverage.py's default, as pytest-cov run from the repository root writes it.
    return Path(os.environ.get("COVERAGE_FILE") or ROOT / ".coverage")


def _measured_files() -> list[tuple[Path, int, int]]:
    import coverage  # only after a --cov run: pytest-cov has saved the data by now

    cov = coverage.Coverage(data_file=str(_data_file()))
    cov.load()
    files = []
    # Every file of the packages, so one that no test imported counts as 0%.
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            _, statements, _, missing, _ = cov.analysis2(str(path))
            files.append((path, len(statements), len(missing)))
    return files


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: TerminalReporter, config: pytest.Config) -> None:
    if not config.getoption("cov_source", None) or config.getoption("no_cov", False):
        return
    if not _data_file().exists():
        return
    terminalreporter.write_sep("=", "line coverage per package (in-process)")
    for row in render(by_package(_measured_files())):
        terminalreporter.write_line(row)
