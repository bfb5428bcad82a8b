"""The stack's trace wiring, without starting it: every exporter points at the port
Jaeger listens on, and Jaeger listens on loopback only."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stack.components.apps import Apps
from stack.components.dapr import Sidecars
from stack.components.jaeger import jaeger_config
from stack.config import StackConfig
from stack.errors import StackError
from stack.procs import Supervisor


def test_every_exporter_points_at_this_runs_jaeger(tmp_path: Path) -> None:
    config = StackConfig.for_tests(tmp_path)
    otlp = config.ports["jaeger-otlp"]
    sup = Supervisor(config.logs, echo=False, state_file=tmp_path / "stack.json")
    sidecars = Sidecars(config, tools=None, sup=sup, app_token="t")  # type: ignore[arg-type]
    dapr = yaml.safe_load(sidecars.config_file.read_text())
    assert dapr["spec"]["tracing"]["otel"] == {
        "endpointAddress": f"127.0.0.1:{otlp}",
        "isSecure": False,
        "protocol": "http",
    }
    env = Apps(config, sup, app_token="t").env("todo-api")
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://127.0.0.1:{otlp}"
    doc = jaeger_config(otlp, config.ports["jaeger-query"], config.ports["jaeger-query-grpc"])
    assert doc["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == f"127.0.0.1:{otlp}"


@pytest.mark.parametrize("rate", [None, "0.1", "0"])
def test_sidecars_and_apps_sample_at_one_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rate: str | None
) -> None:
    if rate is None:
        monkeypatch.delenv("TASKWAVE_TRACE_SAMPLING", raising=False)
    else:
        monkeypatch.setenv("TASKWAVE_TRACE_SAMPLING", rate)
    config = StackConfig.for_tests(tmp_path)
    sup = Supervisor(config.logs, echo=False, state_file=tmp_path / "stack.json")
    sidecars = Sidecars(config, tools=None, sup=sup, app_token="t")  # type: ignore[arg-type]
    dapr = yaml.safe_load(sidecars.config_file.read_text())
    env = Apps(config, sup, app_token="t").env("audit")
    expected = rate or "1"  # every trace while developing
    assert dapr["spec"]["tracing"]["samplingRate"] == expected
    assert (env["OTEL_TRACES_SAMPLER"], env["OTEL_TRACES_SAMPLER_ARG"]) == (
        "parentbased_traceidratio",
        expected,
    )


@pytest.mark.parametrize("rate", ["10%", "1.5", "all"])
def test_a_sampling_rate_that_is_not_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rate: str
) -> None:
    monkeypatch.setenv("TASKWAVE_TRACE_SAMPLING", rate)
    with pytest.raises(StackError, match="TASKWAVE_TRACE_SAMPLING"):
        StackConfig.for_tests(tmp_path)


def test_jaeger_listens_on_loopback_only_and_does_not_trace_itself() -> None:
    doc = jaeger_config(1, 2, 3)
    endpoints = [
        doc["receivers"]["otlp"]["protocols"]["http"]["endpoint"],
        doc["extensions"]["jaeger_query"]["http"]["endpoint"],
        doc["extensions"]["jaeger_query"]["grpc"]["endpoint"],
    ]
    assert endpoints == ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]
    assert list(doc["receivers"]["otlp"]["protocols"]) == ["http"]  # no gRPC on 4317
    assert doc["extensions"]["jaeger_query"]["enable_tracing"] is False
    assert doc["service"]["telemetry"]["metrics"]["level"] == "none"  # no :8888


def test_the_stack_prints_jaegers_url_and_can_probe_it(tmp_path: Path) -> None:
    from stack.services import Stack

    config = StackConfig.for_tests(tmp_path)
    stack = Stack(config, tools=None)  # type: ignore[arg-type]
    try:
        assert stack.urls()["jaeger"] == f"http://127.0.0.1:{config.ports['jaeger-query']}"
        assert stack.probe("jaeger")() is False  # nothing runs: not ready, no exception
    finally:
        stack.sup.stop_all()
