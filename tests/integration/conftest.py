"""The real stack (Kafka, PostgreSQL, the Dapr scheduler, daprd + app per function),
started once per test session on free ports and always torn down."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.dapr.sidecar import DaprSidecar
from stack.bootstrap import ensure_all
from stack.config import ROOT, StackConfig
from stack.services import Stack
from tests.integration.kafka import TopicReader


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    run_dir = Path(tempfile.mkdtemp(prefix="taskwave-it-"))
    run_dir.chmod(0o755)  # the postgres user must reach its data folder
    running = Stack(StackConfig.for_tests(run_dir), ensure_all())
    try:
        took = running.start()
        print(f"\nstack ready in {took:.1f} s ({run_dir})")
        yield running
    finally:
        running.stop()
        # Keep the logs of the last run where CI and people can read them.
        kept = ROOT / ".run" / "last-test-logs"
        shutil.rmtree(kept, ignore_errors=True)
        shutil.copytree(running.config.logs, kept, dirs_exist_ok=True)
        if not os.environ.get("TASKWAVE_KEEP_RUN"):
            shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def sidecars(stack: Stack) -> Iterator[dict[str, DaprSidecar]]:
    """Our own Dapr wrapper, pointed at each function's real sidecar."""
    yield {
        fn: DaprSidecar(
            http_port=stack.config.ports[f"{fn}.dapr-http"],
            pubsub="pubsub-fanout" if fn == "realtime" else "pubsub",
            secret_store="secrets",
        )
        for fn in stack.config.functions
    }


@pytest.fixture
def topic_reader(stack: Stack) -> Iterator[object]:
    readers: list[TopicReader] = []

    def open_reader(topic: str) -> TopicReader:
        reader = TopicReader(stack.config.kafka_bootstrap, topic)
        readers.append(reader)
        return reader

    yield open_reader
    for reader in readers:
        reader.close()
