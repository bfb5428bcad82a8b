"""shared/ depends downward only: the web frame may use everything below it, nothing
below it uses the web frame. So a unit test of a service can build the in-memory Dapr
fake without loading Starlette, and paging knows nothing of HTTP."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared"
WEB = ("shared.web", "starlette")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _web_imports_below_the_web_frame(root: Path) -> dict[str, list[str]]:
    leaks: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        if (root / "web") in path.parents:
            continue
        bad = sorted(m for m in _imports(path) if m.startswith(WEB))
        if bad:
            leaks[str(path.relative_to(root))] = bad
    return leaks


def test_nothing_below_shared_web_imports_it_or_starlette() -> None:
    assert _web_imports_below_the_web_frame(SHARED) == {}


def test_the_rule_sees_a_leak(tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "ok.py").write_text("import starlette\n")
    (tmp_path / "paging.py").write_text("from shared.web.errors import ApiError\n")
    assert _web_imports_below_the_web_frame(tmp_path) == {"paging.py": ["shared.web.errors"]}


def test_the_fake_and_paging_load_without_starlette() -> None:
    # A fresh interpreter: this one has Starlette loaded by other tests already.
    probe = (
        "import sys\n"
        "import shared.dapr.fake, shared.paging, shared.delivery\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'starlette'"
        " or m.startswith('shared.web')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
