"""Reads what really reached a Kafka topic (tests only: functions never import a Kafka client)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
        # Fetching starts at the first poll, from the offsets taken here: a benchmark
        # that reads only after its load does not add a consumer to what it measures.
        self._assignment: list[TopicPartition] | None = assignment
        self.records: list[Record] = []

    def poll(self, seconds: float) -> list[Record]:
        if self._assignment is not None:
            self._consumer.assign(self._assignment)
            self._assignment = None
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


@dataclass
class GroupLag:
    group: str
    state: str  # Kafka's group state: STABLE, EMPTY, ...
    members: int
    lag: dict[str, int]  # topic -> messages not yet committed, over all its partitions

    @property
    def total(self) -> int:
        return sum(self.lag.values())


def group_lags(bootstrap: str, topics: set[str]) -> list[GroupLag]:
    """Every consumer group that consumes one of `topics` (a member is assigned it, or
    the group committed an offset on it) and its lag there, read with Kafka's admin API
    as KEDA and the Kafka Exporter read it: high watermark minus committed offset; a
    partition without a commit counts from its low watermark (Dapr starts new groups
    at the oldest offset)."""
    from confluent_kafka import ConsumerGroupTopicPartitions
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    listed = admin.list_consumer_groups(request_timeout=10).result()
    ids = [g.group_id for g in listed.valid]
    if not ids:
        return []
    described = {g: f.result() for g, f in admin.describe_consumer_groups(ids).items()}
    watermarks = Consumer({"bootstrap.servers": bootstrap, "group.id": "taskwave-tests-lag"})
    try:
        meta = watermarks.list_topics(timeout=10)
        partitions = {t: sorted(meta.topics[t].partitions) for t in topics if t in meta.topics}
        out = []
        for group in ids:
            desc = described[group]
            consumed = {
                tp.topic
                for m in desc.members
                if m.assignment is not None
                for tp in m.assignment.topic_partitions
            }
            request = [ConsumerGroupTopicPartitions(group)]
            (committed,) = admin.list_consumer_group_offsets(request).values()
            offsets = {
                (tp.topic, tp.partition): tp.offset
                for tp in committed.result().topic_partitions or []
                if tp.topic in partitions
            }
            consumed = (consumed | {t for t, _ in offsets}) & set(partitions)
            if not consumed:
                continue
            lag: dict[str, int] = {}
            for topic in sorted(consumed):
                lag[topic] = 0
                for p in partitions[topic]:
                    low, high = watermarks.get_watermark_offsets(
                        TopicPartition(topic, p), timeout=10
                    )
                    done = offsets.get((topic, p), -1)
                    lag[topic] += high - (done if done >= 0 else low)
            state = getattr(desc.state, "name", str(desc.state))
            out.append(GroupLag(group, state, len(desc.members), lag))
        return out
    finally:
        watermarks.close()


@contextmanager
def stale_group(bootstrap: str, topic: str) -> Iterator[str]:
    """A consumer group that committed offset 0 on every partition of `topic` and is
    then left alone (deleted afterwards): lag that a reader of lag must see."""
    from confluent_kafka.admin import AdminClient

    group = f"taskwave-tests-stale-{time.monotonic_ns()}"
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
    )
    try:
        meta = consumer.list_topics(topic, timeout=10)
        offsets = [TopicPartition(topic, p, 0) for p in meta.topics[topic].partitions]
        consumer.commit(offsets=offsets, asynchronous=False)
    finally:
        consumer.close()
    try:
        yield group
    finally:
        admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
        for future in admin.delete_consumer_groups([group], request_timeout=10).values():
            future.result()
