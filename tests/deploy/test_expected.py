"""deploy/expected.py on the real rendered chart, offline: the Secrets the pre-flight
demands (every cloud's pull secret included) and the objects the readiness checks wait
for come from the rendering, so a chart change cannot slip past the deploy tool."""

from __future__ import annotations

import pytest

from deploy.expected import expected, needed_secrets
from tests.deploy.conftest import Rendered

TOKENS = {"taskwave-app-token", "taskwave-dapr-api-token"}
STORE = {"postgres", "jwt", "jwt-public"}  # the Dapr secret store's Role resourceNames


@pytest.mark.parametrize("cloud", ["aks", "gke", "oke"])
def test_every_cloud_needs_its_pull_secret(cloud: str) -> None:
    from tests.deploy.conftest import render

    assert "ghcr-pull" in needed_secrets(render(cloud).docs)


def test_the_needed_secrets_are_exactly_what_the_chart_names(rendered: Rendered) -> None:
    secrets = set(needed_secrets(rendered.docs))
    pull = {s["name"] for d in rendered.of_kind("Deployment")
            for s in d["spec"]["template"]["spec"].get("imagePullSecrets") or []}  # fmt: skip
    auths = {d["metadata"]["name"] for d in rendered.of_kind("TriggerAuthentication")}
    sasl = {"kafka-sasl"} & auths  # external Kafka's credentials
    assert secrets == TOKENS | STORE | pull | sasl


def test_what_strimzi_makes_is_waited_for_not_demanded(rendered: Rendered) -> None:
    # The KafkaUsers' password Secrets and the cluster CA exist only once Strimzi's
    # operators made them, after the install: the pre-flight must not ask for them.
    users = {d["metadata"]["name"] for d in rendered.of_kind("KafkaUser")}
    kafkas = {d["metadata"]["name"] for d in rendered.of_kind("Kafka")}
    made = users | {f"{k}-cluster-ca-cert" for k in kafkas}
    assert not made & set(needed_secrets(rendered.docs))
    assert set(expected(rendered.docs).kafka_users) == users
    if users:  # they are named by the sidecars' annotations and KEDA's authentication
        refs = {r["name"] for d in rendered.of_kind("TriggerAuthentication")
                for r in d["spec"]["secretTargetRef"]}  # fmt: skip
        assert refs <= made


def test_a_secret_the_chart_renders_itself_is_not_demanded(rendered: Rendered) -> None:
    own = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "jwt"}}
    assert "jwt" not in needed_secrets([*rendered.docs, own])


def test_the_checks_wait_for_every_rendered_object(rendered: Rendered) -> None:
    exp = expected(rendered.docs)
    functions = {"todo-api", "recurring", "reminders", "audit", "realtime"}
    assert set(exp.deployments) == functions
    assert set(exp.dapr_apps) == functions  # every function has a sidecar
    kinds = {kind for kind, _ in exp.dapr}
    assert kinds == {"Component", "Configuration", "Resiliency", "Subscription"}
    assert len(exp.dapr) == sum(
        len(rendered.of_kind(k))
        for k in ("Component", "Configuration", "Resiliency", "Subscription")
    )
    assert exp.scaled_objects == {name: f"keda-hpa-{name}" for name in functions}
    strimzi = bool(rendered.of_kind("Kafka"))
    assert bool(exp.kafkas) == strimzi
    assert bool(exp.topics) == strimzi
    assert set(exp.topics) == {d["metadata"]["name"] for d in rendered.of_kind("KafkaTopic")}
    for name, selector in exp.selectors.items():
        assert selector["app.kubernetes.io/name"] == name
