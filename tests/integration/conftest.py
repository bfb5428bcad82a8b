"""Integration tests use the fixtures in tests/conftest.py (the real stack)."""
