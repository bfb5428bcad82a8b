"""Which SQL files the start-up applies, in which order, and what a failure does."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stack import migrations
from stack.errors import StackError


def _files(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_text("SELECT 1;\n")


def test_only_sql_files_directly_in_the_folder_in_name_order(tmp_path: Path) -> None:
    _files(tmp_path, "010_later.sql", "002_index.sql", "000_check.sql", "README.md")
    _files(tmp_path, ".hidden.sql", "notes.sql.bak", "001_upper.SQL")
    (tmp_path / "003_folder.sql").mkdir()
    (tmp_path / "sub").mkdir()
    _files(tmp_path / "sub", "001_nested.sql")
    assert [p.name for p in migrations.select(tmp_path)] == [
        "000_check.sql",
        "002_index.sql",
        "010_later.sql",
    ]


def test_a_missing_folder_has_no_migrations(tmp_path: Path) -> None:
    assert migrations.select(tmp_path / "nope") == []


def test_the_repository_folder_is_the_charts_and_holds_the_outbox_index() -> None:
    found = migrations.select(migrations.DEFAULT_DIR)
    assert migrations.DEFAULT_DIR.parent.name == "taskwave"  # one copy, inside the chart
    assert "010_outbox_pending_index.sql" in [f.name for f in found]
    statements = [s for s in found[0].read_text().split(";") if "CREATE" in s]
    assert statements
    assert all("IF NOT EXISTS" in s for s in statements)


def test_the_folder_is_overridable_and_a_typo_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(migrations.ENV, raising=False)
    assert migrations.migrations_dir() == migrations.DEFAULT_DIR
    monkeypatch.setenv(migrations.ENV, str(tmp_path))
    assert migrations.migrations_dir() == tmp_path
    monkeypatch.setenv(migrations.ENV, str(tmp_path / "typo"))
    with pytest.raises(StackError, match="TASKWAVE_MIGRATIONS_DIR=.*typo.* is not a folder"):
        migrations.migrations_dir()


def test_each_file_is_applied_in_order_and_logged(tmp_path: Path) -> None:
    _files(tmp_path, "002_b.sql", "001_a.sql")
    ran: list[str] = []
    said: list[str] = []

    def run(path: Path) -> subprocess.CompletedProcess[str]:
        ran.append(path.name)
        return subprocess.CompletedProcess([], 0, "", "")

    applied = migrations.apply_all(tmp_path, run, said.append)
    assert ran == [p.name for p in applied] == ["001_a.sql", "002_b.sql"]
    assert said == ["applied 001_a.sql", "applied 002_b.sql"]


def test_the_first_failure_stops_with_psqls_message(tmp_path: Path) -> None:
    _files(tmp_path, "001_bad.sql", "002_never.sql")
    ran: list[str] = []

    def run(path: Path) -> subprocess.CompletedProcess[str]:
        ran.append(path.name)
        return subprocess.CompletedProcess([], 3, "", 'ERROR:  relation "nope" does not exist')

    with pytest.raises(StackError, match='migration 001_bad.sql failed: .*"nope" does not exist'):
        migrations.apply_all(tmp_path, run, lambda _: None)
    assert ran == ["001_bad.sql"]
