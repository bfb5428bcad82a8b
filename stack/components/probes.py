"""Readiness probes over loopback, shared by the components."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request


def http_ok(url: str, expect: tuple[int, ...] = (200, 204)) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # loopback URLs only
            return int(resp.status) in expect
    except (urllib.error.URLError, OSError):
        return False


def tcp_ok(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
