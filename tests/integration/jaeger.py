"""Reading traces back from the stack's Jaeger, through its HTTP query API (api/v3),
as a person without the UI would (README "Traces")."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    links: tuple[tuple[str, str], ...]  # (trace id, span id)


def _hex(value: str) -> str:
    """OTLP/JSON ids are hex; some encoders emit base64: accept both."""
    if not value:
        return ""
    try:
        int(value, 16)
        return value.lower()
    except ValueError:
        return base64.b64decode(value).hex()


def _spans(body: dict[str, Any]) -> list[Span]:
    found = []
    for resource_spans in body.get("result", {}).get("resourceSpans", []):
        attrs = resource_spans.get("resource", {}).get("attributes", [])
        service = next(
            (a["value"].get("stringValue", "") for a in attrs if a["key"] == "service.name"), ""
        )
        for scope in resource_spans.get("scopeSpans", []):
            for s in scope.get("spans", []):
                found.append(
                    Span(
                        service=service,
                        name=s.get("name", ""),
                        trace_id=_hex(s.get("traceId", "")),
                        span_id=_hex(s.get("spanId", "")),
                        parent_id=_hex(s.get("parentSpanId", "")),
                        links=tuple(
                            (_hex(link.get("traceId", "")), _hex(link.get("spanId", "")))
                            for link in s.get("links", [])
                        ),
                    )
                )
    return found


def trace(base_url: str, trace_id: str) -> list[Span]:
    """Every span Jaeger has of one trace (none yet: [])."""
    resp = httpx.get(f"{base_url}/api/v3/traces/{trace_id}", timeout=10)
    if resp.status_code == 404:
        return []
    resp.raise_for_status()
    return _spans(resp.json())


def find(base_url: str, service: str, operation: str, since: float) -> list[Span]:
    """Spans of `service` named `operation` in traces that started after `since` (epoch s)."""
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since - 1))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
    resp = httpx.get(
        f"{base_url}/api/v3/traces",
        params={
            "query.service_name": service,
            "query.operation_name": operation,
            "query.start_time_min": start,
            "query.start_time_max": end,
            "query.num_traces": "50",  # the memory store refuses a search depth of 0
        },
        timeout=10,
    )
    if resp.status_code == 404:
        return []
    assert resp.status_code == 200, resp.text
    return [s for s in _spans(resp.json()) if s.service == service and s.name == operation]


def wait_for(base_url: str, trace_id: str, ready: Any, timeout: float = 30.0) -> list[Span]:
    """The trace once `ready(spans)` holds (spans arrive in batches from each exporter)."""
    deadline = time.monotonic() + timeout
    spans: list[Span] = []
    while time.monotonic() < deadline:
        spans = trace(base_url, trace_id)
        if ready(spans):
            return spans
        time.sleep(0.5)
    return spans


def log_lines(logs: Path, function: str, trace_id: str) -> list[dict[str, Any]]:
    """The function's JSON log lines that carry `trace_id`."""
    lines = []
    for raw in (logs / f"{function}.log").read_text(errors="replace").splitlines():
        start = raw.find("{")
        if start < 0:
            continue
        try:
            line = json.loads(raw[start:])
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("trace_id") == trace_id:
            lines.append(line)
    return lines
