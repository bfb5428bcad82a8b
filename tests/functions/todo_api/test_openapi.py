"""The OpenAPI document and the routes come from one declaration; this keeps it so."""

from __future__ import annotations

from starlette.routing import Route

from functions.todo_api.app import create_app
from shared.dapr.fake import FakeDapr

FRAME = {"/healthz", "/readyz", "/metrics", "/"}  # platform frame and the web page


def test_every_route_is_documented_and_every_documented_route_exists() -> None:
    app = create_app(dapr=FakeDapr())
    served = {
        (m, r.path)
        for r in app.routes
        if isinstance(r, Route) and r.path not in FRAME
        for m in (r.methods or set())
        if m != "HEAD"
    }
    doc = app.state.api.openapi_document()
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert served == documented


def test_the_document_is_valid_openapi_shape() -> None:
    doc = create_app(dapr=FakeDapr()).state.api.openapi_document()
    assert doc["openapi"].startswith("3.1")
    create = doc["paths"]["/api/v1/tasks"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "TaskCreate"
    )
    assert {"201", "401", "422"} <= set(create["responses"])
    schemas = doc["components"]["schemas"]
    assert "TaskCreate" in schemas
    assert "Recurrence" in schemas
    assert "Error" in schemas
    listing = doc["paths"]["/api/v1/tasks"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {
        "q",
        "status",
        "priority",
        "tag",
        "sort",
        "limit",
        "cursor",
    }
