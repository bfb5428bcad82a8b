"""The chart applied for real: every values file, server-side, to a real kube-apiserver
(tests/deploy/apiserver.py) with the vendored Dapr, KEDA and Strimzi CRDs installed.

Offline validation (test_chart.py, test_crds.py) checks the rendered objects against
the schemas; here the API server itself decides: admission, defaulting, the built-in
validation and each CRD's structural schema and CEL rules. Each values file is
applied first with dryRun=All and then for real into a namespace of its own, and an
upgrade to a changed values file must apply cleanly on top of a live release.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from deploy.expected import expected
from tests.deploy import kube as k
from tests.deploy.conftest import VALUES_FILES, Kube, render, run_helm

SHA = "0123456789abcdef0123456789abcdef01234567"
pytestmark = pytest.mark.apiserver


def _prepare(kube: Kube, namespace: str, docs: list[dict[str, Any]]) -> None:
    k.ensure_namespace(kube.api, namespace)
    # The Secrets the chart names must exist first (the deploy tool refuses otherwise).
    k.create_secrets(kube.api, namespace, expected(docs).secrets)


@pytest.mark.parametrize("case", list(VALUES_FILES))
def test_every_values_file_is_accepted_by_a_real_api_server(kube: Kube, case: str) -> None:
    docs = [dict(d) for d in render(case).docs]
    namespace = f"apply-{case}"
    _prepare(kube, namespace, docs)
    applied = k.apply_release(kube.dyn, docs, namespace)
    assert len(applied) == len(docs)
    for doc in docs:
        assert k.exists(kube.dyn, doc, namespace), k.key(doc)
    # Defaulting ran: what the server stored is more than what was sent.
    deployments = {a["metadata"]["name"]: a for a in applied if a["kind"] == "Deployment"}
    for name, dep in deployments.items():
        assert dep["spec"]["replicas"] == 1, name  # KEDA scales it later
        assert dep["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst", name
    print(f"{case}: {len(docs)} objects applied server-side to {kube.server.version}")


def test_the_api_server_really_enforces_the_crd_rules(kube: Kube) -> None:
    """The accepting test above could pass against a server that checks nothing."""
    namespace = "apply-refused"
    docs = [dict(d) for d in render("defaults").docs]
    _prepare(kube, namespace, docs)
    scaled = next(d for d in docs if d["kind"] == "ScaledObject")
    # KEDA's CEL rule (x-kubernetes-validations), evaluated by the server.
    inverted = {**scaled, "spec": {**scaled["spec"], "minReplicaCount": 9, "maxReplicaCount": 2}}
    with pytest.raises(AssertionError, match="must be less than or equal to maxReplicaCount"):
        k.apply(kube.dyn, inverted, namespace, dry_run=True)
    negative = {**scaled, "spec": {**scaled["spec"], "minReplicaCount": -1}}
    with pytest.raises(AssertionError, match="minReplicaCount"):
        k.apply(kube.dyn, negative, namespace, dry_run=True)
    kafka = next(d for d in docs if d["kind"] == "Kafka")
    no_spec = {**kafka, "spec": {}}
    with pytest.raises(AssertionError, match="refused"):
        k.apply(kube.dyn, no_spec, namespace, dry_run=True)
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    unknown = {**deployment, "spec": {**deployment["spec"], "replicas": "two"}}
    with pytest.raises(AssertionError, match="refused"):
        k.apply(kube.dyn, unknown, namespace, dry_run=True)


def _render_with(tmp_path: Path, case: str, extra: str) -> list[dict[str, Any]]:
    import yaml

    values = VALUES_FILES[case]
    changed = tmp_path / f"changed-{case}.yaml"
    changed.write_text(extra)
    args = ["template", "taskwave", "helm/taskwave", "--namespace", "taskwave",
            "--kube-version", "1.33.0"]  # fmt: skip
    if values:
        args += ["-f", str(values)]
    out = run_helm(*args, "-f", str(changed))
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def test_an_upgrade_to_changed_values_applies_cleanly(kube: Kube, tmp_path: Path) -> None:
    namespace = "apply-upgrade"
    before = [dict(d) for d in render("aks").docs]
    _prepare(kube, namespace, before)
    k.apply_release(kube.dyn, before, namespace)
    # A new image tag (the migrations hook Job's template changes: helm recreates it),
    # more Kafka nodes, other scaling bounds.
    after = _render_with(
        tmp_path,
        "aks",
        f"image:\n  tag: {SHA}\n"
        "kafka:\n  strimzi:\n    nodePool:\n      replicas: 5\n"
        "functions:\n  audit:\n    maxReplicas: 9\n",
    )
    _prepare(kube, namespace, after)
    k.apply_release(kube.dyn, after, namespace, previous=before)
    apps = client.AppsV1Api(kube.api)
    deployment = apps.read_namespaced_deployment("todo-api", namespace)
    assert deployment.spec is not None
    assert deployment.spec.template.spec is not None
    image = deployment.spec.template.spec.containers[0].image
    assert image is not None
    assert image.endswith(f":{SHA}")
    custom = client.CustomObjectsApi(kube.api)
    audit = custom.get_namespaced_custom_object(
        "keda.sh", "v1alpha1", namespace, "scaledobjects", "audit"
    )
    assert isinstance(audit, dict)
    assert audit["spec"]["maxReplicaCount"] == 9
    pools = custom.list_namespaced_custom_object(
        "kafka.strimzi.io", "v1", namespace, "kafkanodepools"
    )
    assert isinstance(pools, dict)
    assert [p["spec"]["replicas"] for p in pools["items"]] == [5]


def test_an_upgrade_to_external_kafka_removes_the_strimzi_objects(
    kube: Kube, tmp_path: Path
) -> None:
    namespace = "apply-to-external"
    before = [dict(d) for d in render("oke").docs]
    _prepare(kube, namespace, before)
    k.apply_release(kube.dyn, before, namespace)
    after = [dict(d) for d in render("gke").docs]
    _prepare(kube, namespace, after)
    k.apply_release(kube.dyn, after, namespace, previous=before)
    custom = client.CustomObjectsApi(kube.api)
    for plural in ("kafkas", "kafkatopics", "kafkanodepools"):
        left = custom.list_namespaced_custom_object("kafka.strimzi.io", "v1", namespace, plural)
        assert isinstance(left, dict)
        assert left["items"] == [], plural
    auth = custom.get_namespaced_custom_object(
        "keda.sh", "v1alpha1", namespace, "triggerauthentications", "kafka-sasl"
    )
    assert isinstance(auth, dict)
    assert auth["spec"]["secretTargetRef"][0]["name"] == "kafka-sasl"
