"""The Dapr resources in dapr/ agree with the code: routes, scopes, topics, components."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from shared.dapr.fake import FakeDapr
from shared.settings import FunctionSettings
from shared.topics import Topic, all_topics, dead_letter
from stack.config import FUNCTIONS, ROOT, resolve_ports
from tests.sidecar import FROM_SIDECAR

DAPR = ROOT / "dapr"


def _docs(folder: str) -> list[dict[str, Any]]:
    return [
        d
        for p in sorted((DAPR / folder).glob("*.yaml"))
        for d in yaml.safe_load_all(p.read_text())
        if d
    ]


def _app(fn: str) -> Starlette:
    module = __import__(f"{FUNCTIONS[fn]}.app", fromlist=["create_app"])
    app: Starlette = module.create_app(dapr=FakeDapr())
    return app


def _app_routes(fn: str) -> set[str]:
    return {r.path for r in _app(fn).routes if isinstance(r, Route)}


SUBSCRIPTIONS = _docs("subscriptions")
COMPONENTS = {d["metadata"]["name"]: d for d in _docs("components")}


@pytest.mark.parametrize("sub", SUBSCRIPTIONS, ids=lambda s: s["metadata"]["name"])
def test_every_subscription_routes_to_an_existing_handler(sub: dict[str, Any]) -> None:
    spec = sub["spec"]
    assert sub["apiVersion"] == "dapr.io/v2alpha1"
    assert sub["kind"] == "Subscription"
    assert spec["topic"] in all_topics()
    assert spec["pubsubname"] in COMPONENTS
    for app_id in sub["scopes"]:
        assert app_id in COMPONENTS[spec["pubsubname"]]["scopes"]
        paths = [r["path"] for r in spec["routes"].get("rules", [])]
        for path in paths or [spec["routes"]["default"]]:
            assert path in _app_routes(app_id)


@pytest.mark.parametrize("sub", SUBSCRIPTIONS, ids=lambda s: s["metadata"]["name"])
def test_a_subscription_is_in_bulk_exactly_when_its_route_takes_bulk_deliveries(
    sub: dict[str, Any],
) -> None:
    """A single CloudEvent sent to a bulk endpoint, or a bulk body to a single one, is
    answered with nothing daprd reads as a failure: the events would be lost without
    a trace. A bulk endpoint answers an empty bulk body with `statuses`."""
    spec = sub["spec"]
    bulk = bool(spec.get("bulkSubscribe", {}).get("enabled"))
    empty = {"id": "b", "type": "com.dapr.event.sent.bulk", "topic": spec["topic"], "entries": []}
    for app_id in sub["scopes"]:
        client = TestClient(_app(app_id), headers=FROM_SIDECAR)
        paths = [r["path"] for r in spec["routes"].get("rules", [])]
        for path in paths or [spec["routes"]["default"]]:
            answer = client.post(path, json=empty).json()
            assert ("statuses" in answer) is bulk, (app_id, path, answer)


def test_audit_is_sent_its_batches_well_inside_its_2_s() -> None:
    """daprd sends what each partition holds every maxAwaitDurationMs; audit must hold
    every event within 2 s of the last write (commit to Kafka and the transaction
    take their share)."""
    audit = [s["spec"] for s in SUBSCRIPTIONS if "audit" in s["scopes"]]
    main = [spec for spec in audit if spec["topic"] in {t.value for t in Topic}]
    assert {spec["topic"] for spec in main} == {Topic.TASK_EVENTS.value, Topic.REMINDERS.value}
    for spec in main:
        assert spec["bulkSubscribe"]["enabled"] is True
        assert 0 < spec["bulkSubscribe"]["maxAwaitDurationMs"] <= 1000


def test_every_main_topic_subscription_dead_letters_its_poison() -> None:
    """Through Dapr (deadLetterTopic), or by the app where Dapr would dead-letter too
    much: with routing rules (every unmatched event) or in bulk (every entry not
    SUCCESS, retries included). Those apps send DROPs to the topic themselves."""
    for sub in SUBSCRIPTIONS:
        spec, topic = sub["spec"], sub["spec"]["topic"]
        if topic not in {t.value for t in Topic}:
            continue
        if "rules" in spec["routes"] or spec.get("bulkSubscribe", {}).get("enabled"):
            assert "deadLetterTopic" not in spec, sub["metadata"]["name"]
        else:
            assert spec["deadLetterTopic"] == dead_letter(Topic(topic))


def test_components_are_scoped_and_named_as_the_settings_expect() -> None:
    defaults = FunctionSettings()
    for name in (
        defaults.pubsub,
        defaults.state_store,
        defaults.kv_store,
        defaults.secret_store,
        "pubsub-fanout",
    ):
        assert name in COMPONENTS, name
    for comp in COMPONENTS.values():
        assert comp["scopes"], f"{comp['metadata']['name']} has no scopes"
        assert set(comp["scopes"]) <= set(FUNCTIONS)
    assert COMPONENTS["tasks"]["scopes"] == ["todo-api"]  # the only writer of task state
    for comp in COMPONENTS.values():  # taskwave's own outbox only (DESIGN §2)
        assert not any(m["name"].startswith("outbox") for m in comp["spec"]["metadata"])
    assert COMPONENTS["tasks"]["spec"]["version"] == "v1"  # v1 has the Query API


def test_dapr_run_file_matches_the_launcher() -> None:
    run = yaml.safe_load((ROOT / "dapr.yaml").read_text())
    ports = resolve_ports(free=False)
    apps = {a["appID"]: a for a in run["apps"]}
    assert set(apps) == set(FUNCTIONS)
    for app_id, app in apps.items():
        assert app["command"][-1] == FUNCTIONS[app_id]
        assert app["appPort"] == ports[f"{app_id}.app"]
        assert app["daprHTTPPort"] == ports[f"{app_id}.dapr-http"]
        assert app["env"]["TASKWAVE_METRICS_PORT"] == str(ports[f"{app_id}.metrics"])
    for path in run["common"]["resourcesPaths"]:
        assert (ROOT / path).is_dir()
    assert Path(ROOT / run["common"]["configFilePath"]).is_file()


def test_raw_payloads_go_to_bulk_endpoints_only() -> None:
    """Only the bulk endpoint decodes a raw entry (shared/web/pubsub.py); the single
    one would take the base64 text for a CloudEvent and drop every event."""
    for sub in SUBSCRIPTIONS:
        spec = sub["spec"]
        if spec.get("metadata", {}).get("rawPayload") == "true":
            assert spec.get("bulkSubscribe", {}).get("enabled"), sub["metadata"]["name"]
