"""observability/: the collector config is wired end to end, the scrape config finds the
chart's pods, and every metric the dashboard and the alerts query exists (in the code,
or from the exporters they name)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from stack.config import ROOT

OBS = ROOT / "observability"
CHART_VALUES = ROOT / "helm" / "taskwave" / "values.yaml"
# Metrics from other exporters, by prefix: Strimzi's Kafka Exporter, kube-state-metrics,
# the Dapr sidecars, Prometheus itself.
EXPORTER_PREFIXES = ("kafka_", "kube_", "dapr_", "otel_")
# Metrics the dashboard may show before the code has them; each must be listed in
# docs/monitoring.md as work for the function named there.
PLANNED: set[str] = set()
PROMQL_FUNCTIONS = {"sum", "rate", "increase", "histogram_quantile", "absent", "by", "and"}


def code_metrics() -> set[str]:
    names: set[str] = set()
    pattern = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"(\w+)\"")
    for folder in ("shared", "functions"):
        for path in (ROOT / folder).rglob("*.py"):
            for kind, name in pattern.findall(path.read_text()):
                base = name.removesuffix("_total")
                names.add(name)
                if kind == "Counter":
                    names |= {f"{base}_total", f"{base}_created"}
                if kind in ("Histogram", "Summary"):
                    names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return names


def metric_names(expr: str) -> set[str]:
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\bby \([^)]*\)", "", expr)
    return {
        t
        for t in re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", expr)
        if t not in PROMQL_FUNCTIONS and "_" in t or t == "up"
    } - PROMQL_FUNCTIONS


def check_metrics(exprs: list[str]) -> list[str]:
    known = code_metrics() | PLANNED
    bad = []
    for expr in exprs:
        for name in metric_names(expr):
            if name == "up" or name.startswith(EXPORTER_PREFIXES):
                continue
            if name not in known:
                bad.append(f"{name} (in {expr.strip()[:80]})")
    return bad


def collector() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((OBS / "otel-collector.yaml").read_text())
    return doc


def test_collector_pipelines_use_only_defined_components() -> None:
    doc = collector()
    for name, pipeline in doc["service"]["pipelines"].items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in doc[kind], f"{name}: {kind} {component} is not defined"
    assert set(doc["service"]["pipelines"]) >= {"traces", "metrics"}
    assert any(e.startswith("otlp") for e in doc["service"]["pipelines"]["traces"]["exporters"])
    assert "prometheus" in doc["service"]["pipelines"]["metrics"]["exporters"]


def test_collector_listens_where_the_chart_sends() -> None:
    values = yaml.safe_load(CHART_VALUES.read_text())
    port = values["observability"]["otlpEndpoint"].rpartition(":")[2]
    http = collector()["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    assert http.endswith(f":{port}")


def test_prometheus_scrapes_the_chart_pods_with_namespace_labels() -> None:
    doc = yaml.safe_load((OBS / "prometheus" / "prometheus.yml").read_text())
    for rule_file in doc["rule_files"]:
        assert (OBS / "prometheus" / rule_file).is_file()
    jobs = {j["job_name"]: j for j in doc["scrape_configs"]}
    assert {"taskwave-functions", "dapr-sidecars", "kafka-exporter"} <= set(jobs)
    for name in ("taskwave-functions", "dapr-sidecars"):
        relabel = jobs[name]["relabel_configs"]
        assert any(r.get("target_label") == "namespace" for r in relabel)
        assert any(r.get("regex") == "taskwave" and r["action"] == "keep" for r in relabel)
        assert jobs[name]["kubernetes_sd_configs"] == [{"role": "pod"}]
    # The functions are scraped on their metrics port, never on the app port.
    ports = [
        r["regex"]
        for r in jobs["taskwave-functions"]["relabel_configs"]
        if r.get("source_labels") == ["__meta_kubernetes_pod_container_port_name"]
    ]
    assert ports == ["metrics"]


def test_alert_rules_are_complete_and_query_existing_metrics() -> None:
    doc = yaml.safe_load((OBS / "prometheus" / "alerts.yaml").read_text())
    rules = [r for g in doc["groups"] for r in g["rules"]]
    assert len({r["alert"] for r in rules}) == len(rules) >= 6
    for rule in rules:
        assert rule["expr"].strip()
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
    assert check_metrics([r["expr"] for r in rules]) == []


def _targets(panels: list[dict[str, Any]]) -> list[str]:
    return [t["expr"] for p in panels for t in p.get("targets", [])]


def test_dashboard_shows_the_four_signals_from_existing_metrics() -> None:
    doc = json.loads((OBS / "grafana" / "taskwave-dashboard.json").read_text())
    panels = doc["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    exprs = " ".join(_targets(panels))
    for metric in (
        "taskwave_http_request_duration_seconds_bucket",  # request latency
        "kafka_consumergroup_lag",  # consumer lag
        "taskwave_reminder_lateness_seconds_bucket",  # reminder lateness
        "taskwave_websocket_connections",  # WebSocket connections
    ):
        assert metric in exprs
    assert check_metrics(_targets(panels)) == []


def test_planned_metrics_are_documented() -> None:
    guide = (ROOT / "docs" / "monitoring.md").read_text()
    for name in PLANNED - code_metrics():
        assert name in guide


@pytest.mark.parametrize(
    ("expr", "bad"),
    [
        ("rate(taskwave_nonexistent_total[5m])", True),
        ("sum by (function) (rate(taskwave_events_total[5m]))", False),
        ("kafka_consumergroup_lag > 5", False),
    ],
)
def test_the_metric_check_works(expr: str, bad: bool) -> None:
    assert bool(check_metrics([expr])) is bad
