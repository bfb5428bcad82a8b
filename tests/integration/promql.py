"""What the dashboard and the alerts ask Prometheus for, against what the stack exports.

The queries are parsed with a real PromQL parser (promql-parser: Prometheus' grammar,
compiled from Rust), so a query that would not parse fails here, and the metric names
are read from the syntax tree, not guessed with a regex.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser
import yaml
from prometheus_client.parser import text_string_to_metric_families

from stack.config import ROOT

DASHBOARD = ROOT / "observability/grafana/taskwave-dashboard.json"
ALERTS = ROOT / "observability/prometheus/alerts.yaml"

# Metrics that no process of taskwave can export, with who does in a cluster. Anything
# else a query names must be on a running /metrics endpoint.
EXTERNAL: dict[str, str] = {
    "up": "Prometheus itself, one per scrape target",
    "kafka_consumergroup_lag": "Strimzi's Kafka Exporter (prometheus.yml job kafka-exporter)",
    "kafka_topic_partition_current_offset": "Strimzi's Kafka Exporter",
    "kube_deployment_status_replicas_available": "kube-state-metrics (kube-prometheus-stack)",
}

# Grafana's built-in variables are not PromQL; Prometheus sees them substituted.
_GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
_LABEL_VALUES = re.compile(r"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)")


@dataclass(frozen=True)
class Query:
    where: str  # "dashboard: <panel title>" or "alert: <name>"
    expr: str


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for panel in panels:
        found.append(panel)
        found += _panels(panel.get("panels", []))
    return found


def dashboard_queries(path: Path = DASHBOARD) -> list[Query]:
    doc = json.loads(path.read_text())
    queries = [
        Query(f"dashboard: {panel.get('title', '?')}", target["expr"])
        for panel in _panels(doc.get("panels", []))
        for target in panel.get("targets", [])
        if target.get("expr")
    ]
    return queries


def dashboard_variable_metrics(path: Path = DASHBOARD) -> set[str]:
    """Metrics that template variables read (`label_values(metric, label)`, Grafana's)."""
    doc = json.loads(path.read_text())
    names: set[str] = set()
    for variable in doc.get("templating", {}).get("list", []):
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query or "")
        names |= set(_LABEL_VALUES.findall(text))
    return names


def alert_queries(path: Path = ALERTS) -> list[Query]:
    doc = yaml.safe_load(path.read_text())
    return [
        Query(f"alert: {rule.get('alert') or rule.get('record')}", rule["expr"])
        for group in doc["groups"]
        for rule in group["rules"]
    ]


def parse(expr: str) -> promql_parser.Expr:
    """The query as Prometheus would receive it; raises on a syntax error."""
    for variable, value in _GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return promql_parser.parse(expr)


def metric_names(expr: str) -> set[str]:
    names: set[str] = set()

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)
        return True

    promql_parser.walk(parse(expr), visit)
    return names


_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
}


def exported_names(exposition: str) -> set[str]:
    """Every series name a /metrics page offers, including families declared (HELP/TYPE)
    that have no sample yet: a labelled metric shows samples only once used."""
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        names.add(family.name)
        names |= {family.name + suffix for suffix in _SUFFIXES.get(family.type, ())}
        names |= {sample.name for sample in family.samples}
    return names


def unexported(queries: list[Query], exported: set[str]) -> dict[str, set[str]]:
    """Per query, the metrics it names that neither the stack nor a known external
    exporter provides."""
    missing = {}
    for query in queries:
        names = metric_names(query.expr) - exported - set(EXTERNAL)
        if names:
            missing[query.where] = names
    return missing
