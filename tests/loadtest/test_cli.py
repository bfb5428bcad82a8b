from __future__ import annotations

from pathlib import Path

from loadtest.cli import bench_parser

DOC = """First line.

  .venv/bin/python -m loadtest.something --flag   # laid out as written
"""


def test_a_benchmarks_help_is_its_docstring_as_written() -> None:
    parser = bench_parser(DOC)
    assert "  .venv/bin/python -m loadtest.something --flag   # laid out" in parser.format_help()
    assert "--keep-logs" not in parser.format_help()


def test_keep_logs_is_a_folder_when_asked_for() -> None:
    parser = bench_parser(DOC, keep_logs=True)
    assert parser.parse_args([]).keep_logs is None
    assert parser.parse_args(["--keep-logs", "logs"]).keep_logs == Path("logs")
