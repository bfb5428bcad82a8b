"""One ASGI middleware for every function: a server span per request (continuing the
caller's W3C trace, e.g. from the Dapr sidecar), its `traceparent` on the response so a
person can find the trace of a request, and the request-latency histogram."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.telemetry import traceparent_of
from shared.web.errors import error_response
from shared.web.metrics import REQUESTS

log = logging.getLogger(__name__)

# Probes and scrapes would drown the traces; they still count in metrics.
_UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})


def route_template(routes: Sequence[BaseRoute], scope: Scope) -> str:
    for route in routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return str(getattr(route, "path", "other"))
    return "unmatched"


class TelemetryMiddleware:
    def __init__(self, app: ASGIApp, *, function: str, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.function = function
        self.routes = routes
        self.tracer = trace.get_tracer("taskwave.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        template = route_template(self.routes, scope)
        method = scope.get("method", "WS")
        status = {"code": 500}
        started = {"yes": False}
        server: list[trace.SpanContext] = []  # the request's span, once it exists

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                started["yes"] = True
                if server:
                    header = (b"traceparent", traceparent_of(server[0]).encode("latin-1"))
                    message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        start = time.perf_counter()
        if template in _UNTRACED:
            try:
                await self.app(scope, receive, send_wrapper)
            finally:
                self._observe(method, template, status["code"], start)
            return
        with self.tracer.start_as_current_span(
            f"{method} {template}",
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": template},
        ) as span:
            if span.get_span_context().is_valid:
                server.append(span.get_span_context())
            try:
                await self.app(scope, receive, send_wrapper)
            except Exception as exc:
                # Handled here, inside the span, rather than by Starlette's outermost
                # ServerErrorMiddleware after the span ended: so the ERROR line carries
                # the trace id and the 500 carries `traceparent`.
                span.record_exception(exc)
                log.exception("unhandled error on %s %s", method, template)
                if started["yes"] or scope["type"] != "http":
                    raise
                status["code"] = 500
                response = error_response(500, "internal error", code="internal")
                await response(scope, receive, send_wrapper)
            finally:
                span.set_attribute("http.response.status_code", status["code"])
                if status["code"] >= 500:
                    span.set_status(Status(StatusCode.ERROR))
                self._observe(method, template, status["code"], start)
                # The access line (uvicorn's is off), in the span: it carries the trace id.
                # The route's template, never the raw path: a path can hold a credential
                # (a calendar feed's token).
                if scope["type"] == "http":
                    log.info(
                        "%s %s %d %.1f ms",
                        method,
                        template,
                        status["code"],
                        (time.perf_counter() - start) * 1000,
                    )

    def _observe(self, method: str, template: str, code: int, start: float) -> None:
        REQUESTS.labels(self.function, method, template, str(code)).observe(
            time.perf_counter() - start
        )
