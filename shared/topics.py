"""Kafka topics, as the functions know them through Dapr pub/sub."""

from __future__ import annotations

from enum import StrEnum


class Topic(StrEnum):
    TASK_EVENTS = "task-events"
    TASK_UPDATES = "task-updates"
    REMINDERS = "reminders"


# Partition counts the local stack and the Kubernetes KafkaTopics create.
PARTITIONS: dict[Topic, int] = {
    Topic.TASK_EVENTS: 6,
    Topic.TASK_UPDATES: 6,
    Topic.REMINDERS: 3,
}


# task-updates is a transient client feed: a new realtime replica replays it from
# the start to be able to serve resumes, so it is kept for one hour only.
RETENTION_MS: dict[str, int] = {Topic.TASK_UPDATES.value: 3_600_000}


def dead_letter(topic: Topic) -> str:
    return f"{topic.value}-dlq"


def all_topics() -> dict[str, int]:
    """Every topic with its partition count, dead-letter topics included (one partition)."""
    topics: dict[str, int] = {t.value: n for t, n in PARTITIONS.items()}
    topics.update({dead_letter(t): 1 for t in Topic})
    return topics
