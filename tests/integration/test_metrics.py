"""Every metric the Grafana dashboard and the Prometheus alerts name is exported by a
running /metrics endpoint of the stack (the functions' and the sidecars'), or by an
exporter listed by name in promql.EXTERNAL; and every query parses as PromQL."""

from __future__ import annotations

import httpx
import pytest

from stack.services import Stack
from tests.integration import promql
from tests.integration.api import User

QUERIES = promql.dashboard_queries() + promql.alert_queries()


def _scrape(stack: Stack) -> dict[str, set[str]]:
    """Series names per endpoint: each function's /metrics and each daprd's metrics port."""
    pages = {}
    for fn in stack.config.functions:
        pages[fn] = stack.config.metrics_url(fn)  # its own port, only for the scraper
        pages[f"{fn}-dapr"] = f"http://127.0.0.1:{stack.config.ports[f'{fn}.dapr-metrics']}/metrics"
    found = {}
    for name, url in pages.items():
        resp = httpx.get(url, timeout=10)
        assert resp.status_code == 200, f"{name}: {url} answered {resp.status_code}"
        found[name] = promql.exported_names(resp.text)
    return found


@pytest.mark.integration
def test_every_metric_a_panel_or_alert_names_is_exported_by_the_running_stack(
    stack: Stack,
) -> None:
    # Some traffic first: Dapr registers a metric on first use.
    User(stack.config.url("todo-api")).create(title="measured")
    scraped = _scrape(stack)
    exported = set().union(*scraped.values())
    assert promql.unexported(QUERIES, exported) == {}
    variables = promql.dashboard_variable_metrics() - exported - set(promql.EXTERNAL)
    assert variables == set(), "dashboard variables read metrics nobody exports"
    # Both kinds of endpoint were read: the check is not vacuous.
    assert "taskwave_http_request_duration_seconds_bucket" in scraped["todo-api"]
    assert any(n.startswith("dapr_") for n in scraped["todo-api-dapr"])
    # The external list holds only what is still named, so it cannot grow stale.
    named = set().union(*(promql.metric_names(q.expr) for q in QUERIES))
    assert set(promql.EXTERNAL) <= named | promql.dashboard_variable_metrics()


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.where)
def test_every_query_parses_as_promql(query: promql.Query) -> None:
    promql.parse(query.expr)


def test_the_check_catches_a_misnamed_metric_and_a_broken_query() -> None:
    """The same check on a query with a typo'd name, and on one that does not parse."""
    exported = {"taskwave_events_total", "dapr_http_server_request_count"}
    typo = promql.Query("dashboard: typo", 'sum(rate(taskwave_event_total{outcome="drop"}[5m]))')
    fine = promql.Query("alert: fine", "sum(rate(taskwave_events_total[5m])) and up == 0")
    assert promql.unexported([typo, fine], exported) == {
        "dashboard: typo": {"taskwave_event_total"}
    }
    with pytest.raises(Exception, match="(?i)unexpected|invalid|expected|unclosed"):
        promql.parse("sum(rate(taskwave_events_total[5m])")


def test_declared_families_count_before_their_first_sample() -> None:
    page = (
        "# HELP taskwave_events_total Events handled.\n"
        "# TYPE taskwave_events_total counter\n"
        "# HELP taskwave_event_handling_seconds Time.\n"
        "# TYPE taskwave_event_handling_seconds histogram\n"
    )
    names = promql.exported_names(page)
    assert {"taskwave_events_total", "taskwave_event_handling_seconds_bucket"} <= names
