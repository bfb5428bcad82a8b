"""House rules that hold for every function and the shared package."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("functions", "shared")

# Only Dapr talks to infrastructure: no broker or database client in our code.
FORBIDDEN = {
    "aiokafka",
    "kafka",
    "confluent_kafka",
    "pykafka",
    "psycopg",
    "psycopg2",
    "asyncpg",
    "pg8000",
    "sqlalchemy",
    "sqlmodel",
    "databases",
    "redis",
    "aioredis",
    "pymongo",
    "motor",
    "cassandra",
    "sqlite3",
    "mysql",
    "pymysql",
}


def forbidden_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            names = [
                a.value
                for a in node.args[:1]
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
        found += [
            f"{path.relative_to(ROOT)}:{node.lineno} {n}"  # type: ignore[attr-defined]
            for n in names
            if n.split(".")[0] in FORBIDDEN
        ]
    return found


def test_no_kafka_or_database_client_in_functions_or_shared() -> None:
    files = [p for d in CHECKED for p in (ROOT / d).rglob("*.py")]
    assert files
    hits = [hit for p in files for hit in forbidden_imports(p)]
    assert hits == [], f"only Dapr may talk to Kafka and databases: {hits}"


@pytest.mark.parametrize(
    "source",
    [
        "import confluent_kafka\n",
        "from psycopg import connect\n",
        "import redis.asyncio as r\n",
        "x = __import__('asyncpg')\n",
    ],
)
def test_the_rule_catches_violations(tmp_path: Path, source: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    bad = tmp_path / "bad.py"
    bad.write_text(source)
    assert forbidden_imports(bad)


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *cmd], cwd=ROOT, capture_output=True, text=True)


def test_ruff_is_clean() -> None:
    # `make check`'s commands: the rules and paths are pyproject.toml's.
    lint = _run("ruff", "check", ".")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = _run("ruff", "format", "--check", ".")
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_mypy_strict_is_clean() -> None:
    result = _run("mypy")  # strict, over [tool.mypy] files; warm from .mypy_cache
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_checks_every_python_folder() -> None:
    """A new top-level folder of Python files is type-checked too, not silently skipped."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config["strict"] is True
    folders = {
        d.name
        for d in ROOT.iterdir()
        if d.is_dir() and d.name[0] not in "._" and d.name != "build" and any(d.rglob("*.py"))
    }
    assert folders <= set(config["files"]), sorted(folders - set(config["files"]))
