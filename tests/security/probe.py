"""What the security tests look at from outside: a function's process memory, raw
HTTP, and client addresses of their own."""

from __future__ import annotations

import itertools
import os
import socket
from pathlib import Path

from stack.services import Stack

MIB = 1024 * 1024
_addresses = itertools.count(1)


def fresh_address() -> str:
    """A client address no other test uses (todo-api and realtime trust X-Forwarded-For
    from loopback, as they trust the ingress in a cluster)."""
    n = next(_addresses) + os.getpid() % 1000 * 1000
    return f"198.18.{n // 250 % 250}.{n % 250 + 1}"


def pid_of(stack: Stack, function: str) -> int:
    (proc,) = [p for p in stack.sup.procs if p.name == function]
    return int(proc.popen.pid)


def _status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            out[key] = int(value.split()[0]) * 1024
    return out


def rss(pid: int) -> int:
    return _status(pid)["VmRSS"]


def reset_peak(pid: int) -> None:
    """Start VmHWM (peak RSS) afresh at the current RSS (Linux clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak(pid: int) -> int:
    return _status(pid)["VmHWM"]


def raw_request(port: int, head: list[str], body: bytes = b"", timeout: float = 5.0) -> bytes:
    """Send a hand-written request (e.g. a Content-Length that is not followed by that
    much body) and return the response head that came back before `timeout`."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        got = b""
        try:
            while b"\r\n\r\n" not in got:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except TimeoutError:
            pass
        return got
