"""Every traced response names its trace (`traceparent`), even a 500, and the lines
logged while handling it carry the same trace id."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from shared.dapr.fake import FakeDapr
from shared.settings import FunctionSettings
from shared.web.app import create_function_app

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def _hello(_: Request) -> JSONResponse:
    logging.getLogger("handler").info("handling")
    return JSONResponse({"ok": True})


async def _boom(_: Request) -> JSONResponse:
    raise RuntimeError("the sidecar went away")


def _client() -> tuple[TestClient, io.StringIO]:
    app = create_function_app(
        name="t",
        settings=FunctionSettings(),
        dapr=FakeDapr(),
        routes=[Route("/hello", _hello), Route("/boom", _boom, methods=["POST"])],
        public=["/hello", "/boom"],
    )
    stream = io.StringIO()
    logging.getLogger().handlers[0].stream = stream  # type: ignore[attr-defined]
    return TestClient(app, raise_server_exceptions=False), stream


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_response_carries_the_traceparent_of_its_server_span(
    spans: InMemorySpanExporter,
) -> None:
    client, stream = _client()
    resp = client.get("/hello", headers={"traceparent": CALLER})
    assert resp.status_code == 200
    (span,) = [s for s in spans.get_finished_spans() if s.name == "GET /hello"]
    assert span.context is not None
    assert span.parent is not None
    _, trace_id, span_id, _ = resp.headers["traceparent"].split("-")
    # The caller's trace, continued: a person can paste it into Jaeger's query API.
    assert trace_id == "0af7651916cd43dd8448eb211c80319c" == f"{span.context.trace_id:032x}"
    assert span_id == f"{span.context.span_id:016x}"
    (line,) = [x for x in _lines(stream) if x["message"] == "handling"]
    assert (line["trace_id"], line["span_id"]) == (trace_id, span_id)


def test_an_unhandled_error_is_a_500_with_its_trace_and_an_error_line_in_it(
    spans: InMemorySpanExporter,
) -> None:
    client, stream = _client()
    resp = client.post("/boom")
    assert resp.status_code == 500
    assert resp.json() == {
        "error": {"code": "internal", "message": "internal error", "details": {}}
    }
    _, trace_id, span_id, _ = resp.headers["traceparent"].split("-")
    (error,) = [x for x in _lines(stream) if x["level"] == "ERROR"]
    assert "the sidecar went away" in error["exc_info"]
    assert (error["trace_id"], error["span_id"]) == (trace_id, span_id)
    (span,) = [s for s in spans.get_finished_spans() if s.name == "POST /boom"]
    assert span.status.is_ok is False
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 500


def test_probes_and_scrapes_are_not_traced(spans: InMemorySpanExporter) -> None:
    client, _ = _client()
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert "traceparent" not in resp.headers
    assert spans.get_finished_spans() == ()


def test_log_lines_name_the_route_not_a_path_that_may_hold_a_secret() -> None:
    async def feed(_: Request) -> JSONResponse:
        raise RuntimeError("feed broke")

    app = create_function_app(
        name="t",
        settings=FunctionSettings(),
        dapr=FakeDapr(),
        routes=[Route("/feeds/{token}.ics", feed)],
        public=["/feeds/"],
    )
    stream = io.StringIO()
    logging.getLogger().handlers[0].stream = stream  # type: ignore[attr-defined]
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/feeds/s3cr3t-token.ics").status_code == 500
    ours = [x for x in _lines(stream) if not x["logger"].startswith("httpx")]  # the client
    assert ours
    assert not any("s3cr3t-token" in json.dumps(x) for x in ours)
    assert any("/feeds/{token}.ics" in x["message"] for x in ours)
