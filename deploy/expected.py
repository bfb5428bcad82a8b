"""What a rendered chart promises: the objects the deploy tool then finds ready.

Pure functions over the documents `helm template` prints, so the expectations come
from the same rendering the upgrade applies, never from a second list kept by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

Doc = dict[str, Any]

DAPR_KINDS = ("Component", "Configuration", "Resiliency", "Subscription")


@dataclass(frozen=True)
class CustomKind:
    group: str
    version: str
    plural: str


# The custom resources the tool reads, at the versions the chart renders.
CUSTOM: dict[str, CustomKind] = {
    "Component": CustomKind("dapr.io", "v1alpha1", "components"),
    "Configuration": CustomKind("dapr.io", "v1alpha1", "configurations"),
    "Resiliency": CustomKind("dapr.io", "v1alpha1", "resiliencies"),
    "Subscription": CustomKind("dapr.io", "v2alpha1", "subscriptions"),
    "ScaledObject": CustomKind("keda.sh", "v1alpha1", "scaledobjects"),
    "Kafka": CustomKind("kafka.strimzi.io", "v1", "kafkas"),
    "KafkaTopic": CustomKind("kafka.strimzi.io", "v1", "kafkatopics"),
    "KafkaUser": CustomKind("kafka.strimzi.io", "v1", "kafkausers"),
}


@dataclass(frozen=True)
class Expected:
    deployments: tuple[str, ...]
    # Deployments whose pods get a Dapr sidecar (dapr.io/enabled: "true").
    dapr_apps: tuple[str, ...]
    # (kind, name) of every Dapr Component, Configuration, Resiliency, Subscription.
    dapr: tuple[tuple[str, str], ...]
    # ScaledObject name -> the HPA KEDA creates for it.
    scaled_objects: dict[str, str] = field(default_factory=dict)
    kafkas: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    # KafkaUsers: until the User Operator made one's Secret, its function's pods wait.
    kafka_users: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    # Deployment name -> its pod selector (matchLabels).
    selectors: dict[str, dict[str, str]] = field(default_factory=dict)


def _names(docs: Iterable[Doc], kind: str) -> tuple[str, ...]:
    return tuple(sorted(d["metadata"]["name"] for d in docs if d["kind"] == kind))


def _pod_specs(doc: Doc) -> Iterator[Doc]:
    spec = doc.get("spec") or {}
    if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        yield spec["template"]["spec"]
    elif doc["kind"] == "CronJob":
        yield spec["jobTemplate"]["spec"]["template"]["spec"]
    elif doc["kind"] == "Pod":
        yield spec


def needed_secrets(docs: Iterable[Doc]) -> tuple[str, ...]:
    """Every Secret the rendered objects name and that must exist before the upgrade.

    Image pull secrets, the Dapr token secrets (pod annotations), the Secrets the Dapr
    secret store may read (a Role's resourceNames on secrets), every secretKeyRef,
    envFrom secretRef and secret volume, and KEDA TriggerAuthentication secretTargetRefs.
    Secrets the chart itself renders are not needed beforehand, nor those the Strimzi
    operators make for it: each KafkaUser's (same name) and each Kafka's cluster CA.
    """
    docs = list(docs)
    names: set[str] = set()
    for doc in docs:
        for pod in _pod_specs(doc):
            names.update(s["name"] for s in pod.get("imagePullSecrets") or [])
            for container in [*(pod.get("containers") or []), *(pod.get("initContainers") or [])]:
                for env in container.get("env") or []:
                    ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                    if ref and not ref.get("optional"):
                        names.add(ref["name"])
                for source in container.get("envFrom") or []:
                    ref = source.get("secretRef")
                    if ref and not ref.get("optional"):
                        names.add(ref["name"])
            for volume in pod.get("volumes") or []:
                secret = volume.get("secret")
                if secret and not secret.get("optional"):
                    names.add(secret["secretName"])
        if doc["kind"] in ("Deployment", "StatefulSet"):
            annotations = doc["spec"]["template"]["metadata"].get("annotations") or {}
            for key in ("dapr.io/app-token-secret", "dapr.io/api-token-secret"):
                if annotations.get(key):
                    names.add(annotations[key])
        if doc["kind"] == "Role":
            for rule in doc.get("rules") or []:
                if "secrets" in (rule.get("resources") or []):
                    names.update(rule.get("resourceNames") or [])
        if doc["kind"] == "TriggerAuthentication":
            names.update(r["name"] for r in doc["spec"].get("secretTargetRef") or [])
    rendered = set(_names(docs, "Secret")) | strimzi_secrets(docs)
    return tuple(sorted(names - rendered))


def strimzi_secrets(docs: Iterable[Doc]) -> set[str]:
    """The Secrets Strimzi writes for the rendered objects: a KafkaUser's credentials
    (named as the user) and a Kafka cluster's CA certificate (<cluster>-cluster-ca-cert)."""
    made: set[str] = set()
    for doc in docs:
        if not doc["apiVersion"].startswith("kafka.strimzi.io/"):
            continue
        if doc["kind"] == "KafkaUser":
            made.add(doc["metadata"]["name"])
        elif doc["kind"] == "Kafka":
            made.add(f"{doc['metadata']['name']}-cluster-ca-cert")
    return made


def _hpa_name(doc: Doc) -> str:
    advanced = (doc["spec"].get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}
    name: str = advanced.get("name") or f"keda-hpa-{doc['metadata']['name']}"
    return name


def expected(docs: Iterable[Doc]) -> Expected:
    docs = [d for d in docs if d]
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    dapr_apps = tuple(
        sorted(
            d["metadata"]["name"]
            for d in deployments
            if (d["spec"]["template"]["metadata"].get("annotations") or {}).get("dapr.io/enabled")
            == "true"
        )
    )
    return Expected(
        deployments=_names(docs, "Deployment"),
        dapr_apps=dapr_apps,
        dapr=tuple(
            sorted(
                (d["kind"], d["metadata"]["name"])
                for d in docs
                if d["kind"] in DAPR_KINDS and d["apiVersion"].startswith("dapr.io/")
            )
        ),
        scaled_objects={
            d["metadata"]["name"]: _hpa_name(d) for d in docs if d["kind"] == "ScaledObject"
        },
        kafkas=_names(docs, "Kafka"),
        topics=_names(docs, "KafkaTopic"),
        kafka_users=_names(docs, "KafkaUser"),
        secrets=needed_secrets(docs),
        selectors={
            d["metadata"]["name"]: dict(d["spec"]["selector"]["matchLabels"]) for d in deployments
        },
    )
