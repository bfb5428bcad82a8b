"""Is the release really up: what `helm --wait` cannot see, read from the Kubernetes API.

One pass (`observe`) looks at every object the rendered chart promises and says, per
object, whether it is ready and if not why; `wait` repeats passes until all are ready
or the time is up. Nothing here changes the cluster.

  * rollout: each Deployment's rollout is complete (kubectl rollout status's rules);
  * sidecar: every pod of a Dapr-enabled Deployment has a ready `daprd` container;
  * dapr: each Component, Configuration, Resiliency and Subscription exists;
  * keda: each ScaledObject is Ready=True and its HorizontalPodAutoscaler exists;
  * kafka / topic / user: Strimzi's Kafka, every KafkaTopic and every KafkaUser are
    Ready=True (when the chart manages Kafka).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from deploy.expected import CUSTOM, Expected


@dataclass(frozen=True)
class Finding:
    check: str  # rollout, sidecar, dapr, keda, hpa, kafka, topic, user, ...
    subject: str  # kind/name
    ok: bool
    detail: str


class Apis:
    def __init__(self, api: client.ApiClient) -> None:
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.autoscaling = client.AutoscalingV2Api(api)


def _get_custom(apis: Apis, namespace: str, kind: str, name: str) -> dict[str, Any] | None:
    crd = CUSTOM[kind]
    try:
        found = apis.custom.get_namespaced_custom_object(
            crd.group, crd.version, namespace, crd.plural, name
        )
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return found if isinstance(found, dict) else None


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            found: dict[str, Any] = condition
            return found
    return None


def rollout(apis: Apis, namespace: str, name: str) -> Finding:
    subject = f"deployment/{name}"
    try:
        dep = apis.apps.read_namespaced_deployment(name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return Finding("rollout", subject, False, "not found")
        raise
    status = dep.status or client.V1DeploymentStatus()
    want = dep.spec.replicas if dep.spec and dep.spec.replicas is not None else 1
    generation = dep.metadata.generation if dep.metadata else None
    if (status.observed_generation or 0) < (generation or 0):
        return Finding("rollout", subject, False, "the new spec is not yet observed")
    for condition in status.conditions or []:
        if condition.type == "Progressing" and condition.reason == "ProgressDeadlineExceeded":
            return Finding("rollout", subject, False, "exceeded its progress deadline")
    updated = status.updated_replicas or 0
    if updated < want:
        return Finding("rollout", subject, False, f"{updated} of {want} replicas updated")
    if (status.replicas or 0) > updated:
        old = (status.replicas or 0) - updated
        return Finding("rollout", subject, False, f"{old} old replicas pending termination")
    available = status.available_replicas or 0
    if available < updated:
        return Finding("rollout", subject, False, f"{available} of {updated} updated available")
    return Finding("rollout", subject, True, f"{available} of {want} available")


def sidecars(apis: Apis, namespace: str, name: str, selector: dict[str, str]) -> Finding:
    subject = f"deployment/{name}"
    label_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    pods = [
        p
        for p in apis.core.list_namespaced_pod(namespace, label_selector=label_selector).items
        if p.metadata is None or p.metadata.deletion_timestamp is None
    ]
    if not pods:
        dep = apis.apps.read_namespaced_deployment(name, namespace)
        if dep.spec is not None and dep.spec.replicas == 0:
            return Finding("sidecar", subject, True, "scaled to zero (no pods)")
        return Finding("sidecar", subject, False, "no pods")
    bad = []
    for pod in pods:
        status = pod.status or client.V1PodStatus()
        pod_name = pod.metadata.name if pod.metadata else "?"
        # daprd is an ordinary container, or an init container when it runs as a
        # native sidecar.
        statuses = [*(status.container_statuses or []), *(status.init_container_statuses or [])]
        daprd = next((s for s in statuses if s.name == "daprd"), None)
        if daprd is None:
            bad.append(f"pod {pod_name} has no daprd container (is the Dapr injector running?)")
        elif not daprd.ready:
            waiting = daprd.state.waiting if daprd.state else None
            why = f" ({waiting.reason})" if waiting and waiting.reason else ""
            bad.append(f"pod {pod_name}: daprd not ready{why}")
    if bad:
        return Finding("sidecar", subject, False, "; ".join(bad))
    return Finding("sidecar", subject, True, f"daprd ready in {len(pods)} pod(s)")


def dapr_resource(apis: Apis, namespace: str, kind: str, name: str) -> Finding:
    subject = f"{kind.lower()}/{name}"
    if _get_custom(apis, namespace, kind, name) is None:
        return Finding("dapr", subject, False, "missing")
    return Finding("dapr", subject, True, "exists")


def _ready(obj: dict[str, Any]) -> tuple[bool, str]:
    generation = (obj.get("metadata") or {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    ready = _condition(obj, "Ready")
    if ready is None:
        return False, "no Ready condition yet"
    text = " ".join(str(ready.get(k) or "") for k in ("reason", "message")).strip()
    if ready.get("status") != "True":
        return False, f"Ready={ready.get('status')}" + (f": {text}" if text else "")
    if generation is not None and observed is not None and observed < generation:
        return False, f"Ready but generation {generation} not yet reconciled ({observed})"
    return True, "Ready=True"


def scaled_object(apis: Apis, namespace: str, name: str, hpa: str) -> list[Finding]:
    obj = _get_custom(apis, namespace, "ScaledObject", name)
    if obj is None:
        return [Finding("keda", f"scaledobject/{name}", False, "missing")]
    ok, detail = _ready(obj)
    found = [Finding("keda", f"scaledobject/{name}", ok, detail)]
    hpa = (obj.get("status") or {}).get("hpaName") or hpa
    try:
        apis.autoscaling.read_namespaced_horizontal_pod_autoscaler(hpa, namespace)
        found.append(Finding("hpa", f"hpa/{hpa}", True, "exists"))
    except ApiException as exc:
        if exc.status != 404:
            raise
        found.append(Finding("hpa", f"hpa/{hpa}", False, f"missing (KEDA creates it for {name})"))
    return found


def strimzi(apis: Apis, namespace: str, kind: str, name: str) -> Finding:
    check = {"Kafka": "kafka", "KafkaTopic": "topic", "KafkaUser": "user"}[kind]
    subject = f"{kind.lower()}/{name}"
    obj = _get_custom(apis, namespace, kind, name)
    if obj is None:
        return Finding(check, subject, False, "missing")
    ok, detail = _ready(obj)
    return Finding(check, subject, ok, detail)


def observe(apis: Apis, namespace: str, exp: Expected) -> list[Finding]:
    """One look at everything the release should have made ready."""
    found = [rollout(apis, namespace, name) for name in exp.deployments]
    found += [sidecars(apis, namespace, name, exp.selectors[name]) for name in exp.dapr_apps]
    found += [dapr_resource(apis, namespace, kind, name) for kind, name in exp.dapr]
    for name, hpa in sorted(exp.scaled_objects.items()):
        found += scaled_object(apis, namespace, name, hpa)
    found += [strimzi(apis, namespace, "Kafka", name) for name in exp.kafkas]
    found += [strimzi(apis, namespace, "KafkaTopic", name) for name in exp.topics]
    found += [strimzi(apis, namespace, "KafkaUser", name) for name in exp.kafka_users]
    return found


def wait(
    apis: Apis,
    namespace: str,
    exp: Expected,
    timeout: float,
    interval: float = 5.0,
    progress: Callable[[list[Finding]], None] | None = None,
) -> list[Finding]:
    """Look again every `interval` seconds until everything is ready or `timeout` passed."""
    deadline = time.monotonic() + timeout
    while True:
        found = observe(apis, namespace, exp)
        if all(f.ok for f in found) or time.monotonic() >= deadline:
            return found
        if progress is not None:
            progress(found)
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
