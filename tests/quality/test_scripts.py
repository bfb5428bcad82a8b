"""Loading a program of scripts/ for a test (tests/scripts.py)."""

from __future__ import annotations

import pytest

from tests.scripts import load_script


def test_a_script_loads_as_a_module_of_its_own_name_without_running_its_main() -> None:
    catalogue = load_script("event_catalogue")
    assert catalogue.__name__ == "event_catalogue"  # not "__main__": main() did not run
    assert callable(catalogue.render)
    # Each load is a fresh module: a test's monkeypatching stays with its own copy.
    assert load_script("event_catalogue") is not catalogue


def test_a_missing_script_is_an_error() -> None:
    with pytest.raises(FileNotFoundError):
        load_script("no_such_script")
