"""Shared fixtures. `stack` is the real stack (Kafka, PostgreSQL, the Dapr scheduler,
daprd + app per function), started once per test session on free ports, only when a
test asks for it, and always torn down.

Like `make up`, it restarts a process that exits unexpectedly (1 s, 2 s, 4 s … backoff),
so a chaos test can kill one and watch it come back:

    pid = stack.kill("audit-dapr")           # SIGKILL; or stack.process(name).pid
    stack.wait_restarted("audit-dapr", pid)  # new pid, running and ready again
    stack.process("audit-dapr").restarts     # also .state, .book.last_exit

`stack.stop_process(name)` ... `stack.start_process(name)` (or `stack.stop_function(fn)`)
is an outage on purpose: no restart until the test starts it again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tests.sidecar  # noqa: F401  (sets APP_API_TOKEN before any Settings() is read)
from shared.dapr.sidecar import DaprSidecar
from shared.telemetry import setup_tracing
from stack.config import ROOT
from stack.services import Stack, private_stack
from tests.integration.kafka import TopicReader

_SPANS = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span ended during the test, in memory. The tracer provider is the process's
    own (set once, as a function sets it); this only adds a recorder to it, once."""
    setup_tracing("tests", None)
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    if not getattr(provider, "_taskwave_recorder", False):
        provider.add_span_processor(SimpleSpanProcessor(_SPANS))
        provider._taskwave_recorder = True  # type: ignore[attr-defined]
    _SPANS.clear()
    yield _SPANS
    _SPANS.clear()


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    # The last run's logs stay where CI and people can read them.
    with private_stack(keep_logs=ROOT / ".run" / "last-test-logs") as running:
        yield running


@pytest.fixture(scope="session")
def sidecars(stack: Stack) -> dict[str, DaprSidecar]:
    """Our own Dapr wrapper, pointed at each function's real sidecar."""
    return {
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
