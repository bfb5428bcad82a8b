"""The programs in scripts/ as modules, for the tests that call their functions: scripts/
is a folder of stand-alone files, not a package, so each is loaded from its path."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from stack.config import ROOT


def load_script(name: str) -> ModuleType:
    """scripts/<name>.py, run as a module (its `if __name__ == "__main__"` part is not)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
