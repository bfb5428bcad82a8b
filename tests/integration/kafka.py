"""Reads what really reached a Kafka topic (tests only: functions never import a Kafka client)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, TopicPartition


@dataclass
class Record:
    partition: int
    offset: int
    key: bytes | None
    value: dict[str, Any]
    timestamp: int = 0  # ms since the epoch, set by the producer (Dapr) when it sent it


class TopicReader:
    """Sees only records produced after it was created (from the current end offsets)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"taskwave-tests-{time.monotonic_ns()}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        meta = self._consumer.list_topics(topic, timeout=10)
        partitions = meta.topics[topic].partitions
        assignment = []
        for p in partitions:
            _, high = self._consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            assignment.append(TopicPartition(topic, p, high))
        self._consumer.assign(assignment)
        self.records: list[Record] = []

    def poll(self, seconds: float) -> list[Record]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            msg = self._consumer.poll(0.2)
            if msg is None or msg.error():
                continue
            raw = msg.value() or b""
            try:
                value = json.loads(raw)
            except ValueError:
                value = {"_raw": raw.decode("utf-8", "replace")}
            self.records.append(
                Record(
                    msg.partition() or 0, msg.offset() or 0, msg.key(), value, msg.timestamp()[1]
                )
            )
        return self.records

    def wait_for(
        self, match: Callable[[dict[str, Any]], bool], *, count: int = 1, timeout: float = 120
    ) -> list[Record]:
        """The matching records once `count` are there (returns as soon as they are)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [r for r in self.records if match(r.value)]
            if len(found) >= count:
                return found
            self.poll(0.5)
        return [r for r in self.records if match(r.value)]

    def close(self) -> None:
        self._consumer.close()
