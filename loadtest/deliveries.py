"""Who should have received which change, and who did: pure bookkeeping for the shared-list
benchmarks (loadtest/bench_shared_lists.py, loadtest/locustfile_shared.py). No I/O.

A change is one REST write (create, patch, complete); it is known by the task's id and
the version the write gave it, which every copy of its event on task-updates carries
(`event.task.version`). Each socket records what arrived on it; `tally` compares that
with what each socket should have got: every change to a list, once, on every socket of
every member of that list.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loadtest.stats import summary_ms

Key = tuple[str, int]  # (task_id, version)


@dataclass(frozen=True)
class Change:
    """A write as its writer saw it; `started` is its clock reading when the call began."""

    key: Key
    list_id: str
    actor: str  # user id
    started: float
    kind: str = ""


@dataclass
class Socket:
    """One device's socket: the user it belongs to and every task event that came in."""

    name: str
    user_id: str
    # (key, received, seq) per task event, duplicates included, in arrival order
    got: list[tuple[Key, float, int]] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)  # message/event types

    def record(self, message: Mapping[str, Any], received: float) -> Key | None:
        """Keep a message from the server; returns the change key of a task event."""
        kind = str(message.get("type"))
        event = message.get("event")
        if kind != "event" or not isinstance(event, Mapping):
            self.seen[kind] += 1
            return None
        self.seen[str(event.get("type"))] += 1
        key = change_key(event)
        if key is not None:
            self.got.append((key, received, int(message.get("seq", -1))))
        return key


def change_key(event: Mapping[str, Any]) -> Key | None:
    """(task_id, version) of a task event; None for any other event."""
    task = event.get("task")
    if not str(event.get("type", "")).startswith("task.") or not isinstance(task, Mapping):
        return None
    return str(event["task_id"]), int(task["version"])


@dataclass
class Tally:
    expected: int = 0
    delivered: int = 0  # (socket, change) pairs that arrived at least once
    missing: int = 0
    duplicates: int = 0  # copies beyond the first
    unexpected: int = 0  # arrivals of a known change on a socket that should not get it
    unknown: int = 0  # arrivals of no change in `changes`
    out_of_order: int = 0  # arrivals whose seq is not above the previous one's
    # socket name -> latency (s) of each first arrival; only changes by other users
    # when `others_only`
    latency: dict[str, list[float]] = field(default_factory=dict)
    missing_keys: list[tuple[str, Key]] = field(default_factory=list)

    @property
    def all_latency(self) -> list[float]:
        return [s for samples in self.latency.values() for s in samples]

    def summary(self) -> dict[str, Any]:
        samples = self.all_latency
        return {
            "expected deliveries": self.expected,
            "delivered": self.delivered,
            "missing": self.missing,
            "duplicates": self.duplicates,
            "unexpected": self.unexpected,
            "unknown": self.unknown,
            "out of seq order": self.out_of_order,
            "latency ms": summary_ms(samples) if samples else None,
        }


def tally(
    changes: Iterable[Change],
    sockets: Iterable[Socket],
    members: Mapping[str, Iterable[str]],
    *,
    others_only: bool = False,
) -> Tally:
    """Compare what arrived with what should have: each change once on each socket of
    each member (user id) of its list, per `members` (list id -> member ids)."""
    by_key = {c.key: c for c in changes}
    audience = {list_id: set(ids) for list_id, ids in members.items()}
    result = Tally()
    for sock in sockets:
        counts: Counter[Key] = Counter()
        first: dict[Key, float] = {}
        last_seq: int | None = None
        for key, received, seq in sock.got:
            if last_seq is not None and seq <= last_seq:
                result.out_of_order += 1
            last_seq = seq
            counts[key] += 1
            first.setdefault(key, received)
        samples = result.latency.setdefault(sock.name, [])
        for key, n in counts.items():
            change = by_key.get(key)
            if change is None:
                result.unknown += n
            elif sock.user_id not in audience.get(change.list_id, ()):
                result.unexpected += n
            else:
                result.duplicates += n - 1
        for change in by_key.values():
            if sock.user_id not in audience.get(change.list_id, ()):
                continue
            result.expected += 1
            if change.key in first:
                result.delivered += 1
                if not (others_only and change.actor == sock.user_id):
                    samples.append(first[change.key] - change.started)
            else:
                result.missing += 1
                result.missing_keys.append((sock.name, change.key))
    return result


def per_socket_ms(result: Tally) -> dict[str, dict[str, float] | None]:
    return {name: summary_ms(s) if s else None for name, s in result.latency.items()}
