"""A property-based fuzz run over todo-api's own OpenAPI document, on the real stack:
bodies drawn from each route's JSON Schema (hypothesis-jsonschema) and from arbitrary
JSON, query parameters from theirs, path parameters from real ids and junk, as a signed-in
user. Bodies are drawn from each schema by `_draw_schema` (hypothesis, which the tests
already pin; hypothesis-jsonschema 0.23 does not run on today's hypothesis). Bounded
in time (FUZZ_SECONDS). No answer may be a 5xx, and afterwards every row
of todo-api's outbox is drained (published and cleared) and every consumer group on
task-events, task-updates and reminders is at zero lag (read from Kafka's admin API,
as KEDA reads it): nothing the fuzzing caused is stuck in front of a consumer."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from functions.todo_api.outbox import PENDING
from shared.dapr.sidecar import DaprSidecar
from shared.topics import Topic
from stack.services import Stack
from tests.integration.api import User, poll
from tests.integration.kafka import GroupLag, group_lags, stale_group

pytestmark = pytest.mark.integration

FUZZ_SECONDS = float(os.environ.get("TASKWAVE_FUZZ_SECONDS", "75"))
# Routes that would end the fuzzing user's own session rather than test anything.
SKIP = {("POST", "/api/v1/auth/signout"), ("POST", "/api/v1/auth/signout-all")}

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)


DATETIMES = st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()) | st.text(
    max_size=30
)


def _schema(schema: dict[str, Any], doc: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of a JSON Schema (the subset pydantic writes), mostly valid, sometimes at
    and past its bounds."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        target = doc.get("components", {}).get("schemas", {}).get(name)
        return JSON if target is None else _schema(target, doc, depth + 1)
    if depth > 6:
        return st.none()
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return st.one_of([_schema(s, doc, depth + 1) for s in schema[key]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: _schema(v, doc, depth + 1) for k, v in props.items() if k in required},
            optional={k: _schema(v, doc, depth + 1) for k, v in props.items() if k not in required},
        )
    if kind == "array":
        items = _schema(schema.get("items", {}), doc, depth + 1)
        return st.lists(items, max_size=schema.get("maxItems", 5) + 1)
    if kind == "string":
        if schema.get("format") in ("date-time", "date"):
            return DATETIMES
        return st.text(max_size=schema.get("maxLength", 50) + 2)
    if kind == "integer":
        return st.integers(min_value=-(2**40), max_value=2**40)
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return JSON


def _operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    ops = []
    for path, item in doc["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, op in item.items():
            if (method.upper(), path) in SKIP:
                continue
            body = (op.get("requestBody", {}).get("content", {}).get("application/json", {})).get(
                "schema"
            )
            query = {
                p["name"]: _schema(p.get("schema", {}), doc)
                for p in op.get("parameters", [])
                if p.get("in") == "query"
            }
            ops.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "body": None if body is None else _schema(body, doc) | JSON,
                    "query": query,
                }
            )
    return ops


async def _pending(todo_api: DaprSidecar) -> int:
    total = 0
    for store in ("tasks", "kv"):
        items, _ = await todo_api.state(store).query(
            {"filter": {"EQ": {"kind": PENDING}}, "page": {"limit": 100}}
        )
        total += len(items)
    return total


TOPICS = {t.value for t in Topic}  # task-events, task-updates, reminders
# The groups of the functions that consume them on `pubsub` (its consumerGroup is the
# app id); realtime's are one per sidecar, "realtime-<uuid>".
GROUPS = {"recurring", "reminders", "audit"}


def _lagging(lags: list[GroupLag]) -> list[GroupLag]:
    """Groups with messages left. An empty realtime group belongs to a sidecar that is
    gone (one group per sidecar start): nobody will read it, and it expires."""
    return [g for g in lags if g.total and not (g.group.startswith("realtime-") and g.members == 0)]


def test_fuzzing_the_api_gets_no_5xx_and_leaves_the_outbox_drained(
    stack: Stack, sidecars: dict[str, DaprSidecar]
) -> None:
    base = stack.config.url("todo-api")
    user = User(base)
    task = user.create(title="fuzz target")
    made = user.http.post("/lists", json={"name": "fuzz"}).json()
    doc = httpx.get(base + "/api/v1/openapi.json", timeout=10).json()
    ops = _operations(doc)
    ids = st.sampled_from([task["id"], made["id"], user.default_list, user.name]) | st.text(
        min_size=1, max_size=40
    )
    seen: Counter[int] = Counter()
    failures: list[str] = []
    deadline = time.monotonic() + FUZZ_SECONDS

    @settings(
        max_examples=50,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def fuzz(data: st.DataObject) -> None:
        op = data.draw(st.sampled_from(ops))
        path = op["path"]
        while "{" in path:
            name = path[path.index("{") + 1 : path.index("}")]
            path = path.replace("{" + name + "}", quote(data.draw(ids), safe=""), 1)
        params = {
            k: v
            for k, s in op["query"].items()
            if data.draw(st.booleans()) and isinstance(v := data.draw(s), str | int | float | bool)
        }
        body = data.draw(op["body"]) if op["body"] is not None else None
        try:
            resp = user.http.request(
                op["method"], path.removeprefix("/api/v1"), json=body, params=params
            )
        except httpx.HTTPError as exc:
            failures.append(f"{op['method']} {path}: {exc!r}")
            return
        seen[resp.status_code] += 1
        if resp.status_code >= 500:
            failures.append(f"{op['method']} {path} {params} {body!r:.300} -> {resp.status_code}")

    while time.monotonic() < deadline:  # rounds of 50 examples until the time is up
        fuzz()
    total = sum(seen.values())
    print(
        f"\nfuzz: {total} requests in {FUZZ_SECONDS:.0f} s over {len(ops)} operations: "
        f"{dict(sorted(seen.items()))}"
    )
    routes = sorted({f.split(" {")[0].split("/%")[0] for f in failures})
    assert total > 100, (routes, failures[:10])
    assert not failures, (routes, failures[:10])
    drained = poll(lambda: asyncio.run(_pending(sidecars["todo-api"])) == 0, timeout=60)
    assert drained, "outbox rows left pending after the fuzz run"

    bootstrap = stack.config.kafka_bootstrap
    lags: list[GroupLag] = []

    def caught_up() -> bool:
        nonlocal lags
        lags = group_lags(bootstrap, TOPICS)
        return not _lagging(lags)

    # Dapr commits consumed offsets about once a second.
    settled = poll(caught_up, timeout=60, every=1.0)
    print("consumer lag after the fuzz run:", {g.group: g.lag for g in lags})
    assert settled, [g for g in _lagging(lags)]
    groups = {g.group for g in lags}
    assert groups >= GROUPS, GROUPS - groups  # every consumer was measured, not skipped
    assert any(g.group.startswith("realtime-") and g.members for g in lags)
    consumed = {t for g in lags for t in g.lag}
    assert consumed == TOPICS, consumed
    # The reading above can see lag: a group left at offset 0 of task-events has some.
    with stale_group(bootstrap, Topic.TASK_EVENTS.value) as stale:
        measured = {g.group: g for g in group_lags(bootstrap, TOPICS)}
        assert measured[stale].lag[Topic.TASK_EVENTS.value] > 0
        assert _lagging([measured[stale]]) == [measured[stale]]
