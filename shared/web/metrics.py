"""Prometheus metrics shared by all functions (one process per function, one registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

REQUESTS = Histogram(
    "taskwave_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["function", "method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
EVENTS = Counter(
    "taskwave_events_total",
    "Pub/sub deliveries handled, by topic, event type and outcome (success|retry|drop).",
    ["function", "topic", "type", "outcome"],
)
EVENT_LATENCY = Histogram(
    "taskwave_event_handling_seconds",
    "Time a subscriber spends on one delivery.",
    ["function", "topic"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
# todo-api's outbox (functions/todo_api/outbox.py).
OUTBOX_BACKLOG = Gauge(
    "taskwave_outbox_backlog",
    "Committed events this replica's relay has not published yet.",
)
OUTBOX_PUBLISHED = Counter(
    "taskwave_outbox_published_total",
    "Events the outbox published, by path (relay: right after the commit; sweeper: left "
    "behind by a crash or an outage).",
    ["path"],
)
OUTBOX_FAILURES = Counter(
    "taskwave_outbox_failures_total", "Relay rounds that failed (the broker or store away)."
)
OUTBOX_BATCH_SECONDS = Histogram(
    "taskwave_outbox_batch_seconds",
    "One relay batch: bulk publishes to task-events and task-updates.",
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
REFUSED = Counter(
    "taskwave_refused_requests_total",
    "Requests refused at the edge or by a limit, by reason "
    "(app_token, body_too_large, hash_busy, login_throttled, register_throttled, "
    "ws_too_big, ws_sockets).",
    ["function", "reason"],
)


def start_metrics_server(host: str, port: int) -> None:
    """/metrics on its own port (a daemon thread): only the scraper is let in there,
    and the app port never shows it."""
    start_http_server(port, addr=host)
