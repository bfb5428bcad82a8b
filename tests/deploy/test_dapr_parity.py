"""The chart's Dapr resources are the local ones (dapr/), with only the documented
cluster differences: the two cannot drift apart."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy import model
from tests.deploy.conftest import Rendered, crd_schemas

LOCAL_COMPONENTS = {c["metadata"]["name"]: c for c in model.local_docs("components")}
LOCAL_SUBSCRIPTIONS = {s["metadata"]["name"]: s for s in model.local_docs("subscriptions")}
LOCAL_RESILIENCY = model.local_docs("resiliency")

# Metadata that differs by design between the local stack and a cluster
# (helm/taskwave/templates/dapr-components.yaml explains each).
CLUSTER_ONLY = {"saslUsername", "saslPassword", "saslMechanism", "caCert"}
DIFFERS = {"brokers", "authType", "disableTls"}
LOCAL_ONLY = {"secretsFile", "multiValued"}  # the local file secret store


def _prune(value: Any, schema: dict[str, Any]) -> Any:
    """What the API server keeps of `value`: fields the structural schema lacks are dropped."""
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return value
        if props is not None:
            return {k: _prune(v, props[k]) for k, v in value.items() if k in props}
        if isinstance(extra, dict):
            return {k: _prune(v, extra) for k, v in value.items()}
        return value
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_prune(v, schema["items"]) for v in value]
    return value


def test_subscriptions_equal_the_local_ones(rendered: Rendered) -> None:
    chart = {s["metadata"]["name"]: s for s in rendered.of_kind("Subscription")}
    assert set(chart) == set(LOCAL_SUBSCRIPTIONS), (
        "helm/taskwave/templates/_helpers.tpl (taskwave.subscriptions) and dapr/subscriptions/ "
        "must list the same subscriptions"
    )
    for name, local in LOCAL_SUBSCRIPTIONS.items():
        assert chart[name]["apiVersion"] == local["apiVersion"]
        assert chart[name]["spec"] == local["spec"], name
        assert chart[name]["scopes"] == local["scopes"], name


def test_resiliency_equals_the_local_one_as_the_api_server_keeps_it(rendered: Rendered) -> None:
    (chart,) = rendered.of_kind("Resiliency")
    (local,) = LOCAL_RESILIENCY
    schema = crd_schemas()[(local["apiVersion"], local["kind"])]
    assert chart["metadata"]["name"] == local["metadata"]["name"]
    assert chart["spec"] == _prune(local, schema)["spec"]


def test_configuration_traces_like_the_local_one(rendered: Rendered) -> None:
    (chart,) = rendered.of_kind("Configuration")
    local = _local_config()
    assert chart["spec"]["metric"] == local["spec"]["metric"]
    otel = chart["spec"]["tracing"].get("otel")
    if otel:  # same exporter protocol as the local sidecars, to the cluster's collector
        assert otel["protocol"] == local["spec"]["tracing"]["otel"]["protocol"]
        assert otel["endpointAddress"].endswith(":4318")


def _local_config() -> dict[str, Any]:
    import yaml

    doc: dict[str, Any] = yaml.safe_load((model.DAPR / "config.yaml").read_text())
    return doc


@pytest.mark.parametrize("name", sorted(LOCAL_COMPONENTS))
def test_components_match_the_local_ones(rendered: Rendered, name: str) -> None:
    chart = {c["metadata"]["name"]: c for c in rendered.of_kind("Component")}
    assert set(chart) == set(LOCAL_COMPONENTS)
    local, cluster = LOCAL_COMPONENTS[name], chart[name]
    assert cluster["scopes"] == local["scopes"]
    assert cluster["spec"]["version"] == local["spec"]["version"]
    if name == "secrets":
        assert local["spec"]["type"].startswith("secretstores.")
        assert cluster["spec"]["type"] == "secretstores.kubernetes"
    else:
        assert cluster["spec"]["type"] == local["spec"]["type"]
    assert cluster.get("auth") == local.get("auth")
    lm, cm = model.metadata_of(local), model.metadata_of(cluster)
    assert set(lm) - DIFFERS - LOCAL_ONLY == set(cm) - DIFFERS - CLUSTER_ONLY
    for key in set(lm) - DIFFERS - LOCAL_ONLY:
        if name == "pubsub-fanout" and key == "consumerGroup":
            # One group per pod: {uuid} locally, {podName} in a cluster.
            assert lm[key] == "realtime-{uuid}"
            assert cm[key] == "realtime-{podName}"
        elif key == "connectionString":
            assert cm[key][0] == "secretKeyRef"
            assert cm[key][2] == lm[key][2]
        else:
            assert cm[key] == lm[key], f"{name}.{key}"
