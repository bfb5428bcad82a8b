"""Kafka access in the rendered chart: in every cloud values file nothing reaches a topic
without TLS and a credential, each function signs in as its own KafkaUser whose ACLs
allow only its own topics and consumer group, and no password is in any manifest;
minikube (and the local stack) stay plaintext."""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest

from shared.topics import Topic, dead_letter
from tests.deploy import model
from tests.deploy.conftest import VALUES_FILES, Rendered, render

FUNCTIONS = model.functions()
CLOUD = ("aks", "gke", "oke")
STRIMZI_CLOUD = ("aks", "oke")  # the cloud files whose Kafka the chart renders (Strimzi)
PLAINTEXT = ("minikube",)
PASSWORD_ENV = "KAFKA_SASL_PASSWORD"


def _components(r: Rendered) -> dict[str, dict[str, Any]]:
    return {c["metadata"]["name"]: c for c in r.of_kind("Component")}


def _pubsubs(r: Rendered) -> list[dict[str, Any]]:
    return [c for c in r.of_kind("Component") if c["spec"]["type"] == "pubsub.kafka"]


def _annotations(r: Rendered, app_id: str) -> dict[str, str]:
    meta = r.one("Deployment", app_id)["spec"]["template"]["metadata"]
    return dict(meta.get("annotations") or {})


def _strimzi(case: str) -> bool:
    return bool(render(case).of_kind("Kafka"))


def test_the_cloud_cases_are_the_cloud_values_files() -> None:
    assert set(VALUES_FILES) - {"defaults"} == {*CLOUD, *PLAINTEXT}
    assert {c for c in CLOUD if _strimzi(c)} == set(STRIMZI_CLOUD)


# --- what the code does on Kafka ------------------------------------------------------


def code_publishes(app_id: str) -> set[str]:
    """Topics the function's code publishes to: every `.publish(Topic.X, ...)` and
    `.publish_many(Topic.X, ...)` in its package."""
    package = model.root() / FUNCTIONS[app_id].replace(".", "/")
    found: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("publish", "publish_many")
                and node.args
                and isinstance(first := node.args[0], ast.Attribute)
                and isinstance(first.value, ast.Name)
                and first.value.id == "Topic"
            ):
                found.add(Topic[first.attr].value)
    return found


def test_the_publish_scan_sees_the_publishers() -> None:
    # The scan above is what the ACLs are compared with: it must find real publishers.
    assert code_publishes("todo-api") == {"task-events", "task-updates"}
    assert code_publishes("recurring") == set()


def _expected_access(r: Rendered, app_id: str) -> dict[str, Any]:
    """What the function needs: write what it publishes and its subscriptions' dead
    letters, read what it subscribes to, in the group its pub/sub component names."""
    subs = [s for s in r.of_kind("Subscription") if app_id in s["scopes"]]
    read = {s["spec"]["topic"] for s in subs}
    write = code_publishes(app_id) | {
        s["spec"]["deadLetterTopic"] for s in subs if s["spec"].get("deadLetterTopic")
    }
    # With routing rules or in bulk the app dead-letters its DROPs itself
    # (shared/web/pubsub.DeadLetters), to the topic Dapr would have used.
    write |= {
        dead_letter(Topic(s["spec"]["topic"]))
        for s in subs
        if "rules" in s["spec"]["routes"] or s["spec"].get("bulkSubscribe", {}).get("enabled")
    }
    group = None
    if subs:
        (pubsub,) = {s["spec"]["pubsubname"] for s in subs}
        template = model.metadata_of(_components(r)[pubsub])["consumerGroup"]
        group = model.resolve_template(template, app_id)
    return {"read": read, "write": write, "group": group}


def _acls(user: dict[str, Any]) -> list[dict[str, Any]]:
    acls: list[dict[str, Any]] = user["spec"]["authorization"]["acls"]
    return acls


def _granted(user: dict[str, Any]) -> dict[str, Any]:
    read: set[str] = set()
    write: set[str] = set()
    groups: list[tuple[str, str]] = []
    for acl in _acls(user):
        res, ops = acl["resource"], set(acl["operations"])
        assert acl.get("type", "allow") == "allow"
        assert acl.get("host", "*") == "*"
        assert ops <= {"Read", "Write", "Describe"}, acl  # never All, Alter, Create, Delete
        if res["type"] == "topic":
            assert res["patternType"] == "literal", acl
            assert "*" not in res["name"], acl
            if "Read" in ops:
                read.add(res["name"])
            if "Write" in ops:
                write.add(res["name"])
        elif res["type"] == "group":
            groups.append((res["name"], res["patternType"]))
        else:  # cluster, transactionalId: nothing of ours needs them
            raise AssertionError(f"unexpected ACL resource {res}")
    return {"read": read, "write": write, "groups": groups}


# --- the cloud values files -----------------------------------------------------------


@pytest.mark.parametrize("case", CLOUD)
def test_cloud_kafka_takes_only_tls_with_credentials(case: str) -> None:
    r = render(case)
    for pubsub in _pubsubs(r):
        meta = model.metadata_of(pubsub)
        assert meta["disableTls"] == "false", (case, pubsub["metadata"]["name"])
        assert meta["authType"] == "password"
        assert "skipVerify" not in meta
    if not _strimzi(case):
        return
    (kafka,) = r.of_kind("Kafka")
    listeners = kafka["spec"]["kafka"]["listeners"]
    assert listeners, case
    for listener in listeners:  # no plaintext listener beside the TLS one
        assert listener["tls"] is True, listener
        assert listener["authentication"]["type"] == "scram-sha-512", listener
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    assert "userOperator" in kafka["spec"]["entityOperator"]
    ports = {str(listener["port"]) for listener in listeners}
    for pubsub in _pubsubs(r):
        assert model.metadata_of(pubsub)["brokers"].rsplit(":", 1)[1] in ports


@pytest.mark.parametrize("case", STRIMZI_CLOUD)
def test_each_function_has_a_kafka_user_with_only_its_topics_and_group(case: str) -> None:
    r = render(case)
    (kafka,) = r.of_kind("Kafka")
    users = {u["metadata"]["name"]: u for u in r.of_kind("KafkaUser")}
    assert set(users) == {f"kafka-{app}" for app in FUNCTIONS} | {"kafka-keda"}
    for app_id in FUNCTIONS:
        user = users[f"kafka-{app_id}"]
        assert user["apiVersion"] == "kafka.strimzi.io/v1"
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        assert user["spec"]["authorization"]["type"] == "simple"
        need, got = _expected_access(r, app_id), _granted(user)
        assert got["read"] == need["read"], app_id
        assert got["write"] == need["write"], app_id
        if need["group"] is None:
            assert got["groups"] == [], app_id  # a pure producer joins no group
            continue
        ((name, pattern),) = got["groups"]
        if "{podName}" in need["group"]:  # realtime: one group per pod
            assert pattern == "prefix", app_id
            assert need["group"] == name + "{podName}", app_id
        else:
            assert (name, pattern) == (need["group"], "literal"), app_id
    assert users["kafka-recurring"]["spec"]["authorization"]["acls"]
    assert "task-updates" not in _granted(users["kafka-recurring"])["write"]


@pytest.mark.parametrize("case", STRIMZI_CLOUD)
def test_each_sidecar_signs_in_as_its_own_user(case: str) -> None:
    r = render(case)
    (kafka,) = r.of_kind("Kafka")
    ca = f"{kafka['metadata']['name']}-cluster-ca-cert"
    users = {u["metadata"]["name"] for u in r.of_kind("KafkaUser")}
    signed_in: set[str] = set()
    for pubsub in _pubsubs(r):
        meta = model.metadata_of(pubsub)
        assert meta["saslMechanism"] == "SHA-512"
        # One component serves several apps: the password comes from each sidecar's own
        # environment, never from a secretKeyRef that all of them would share.
        assert meta["saslPassword"] == ("envRef", PASSWORD_ENV)
        assert meta["caCert"] == ("secretKeyRef", ca, "ca.crt")
        for app_id in pubsub["scopes"]:
            user = model.resolve_template(meta["saslUsername"], app_id)
            assert user == f"kafka-{app_id}"
            assert user in users
            env = _annotations(r, app_id)["dapr.io/env-from-secret"]
            assert env == f"{PASSWORD_ENV}={user}:password", app_id
            signed_in.add(app_id)
    assert signed_in == set(FUNCTIONS)
    # The function containers never get a Kafka credential.
    for deployment in r.of_kind("Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            names = {e["name"] for e in container.get("env") or []}
            assert PASSWORD_ENV not in names
            assert not any("KAFKA" in n for n in names)


@pytest.mark.parametrize("case", STRIMZI_CLOUD)
def test_keda_reads_lag_as_a_describe_only_user(case: str) -> None:
    r = render(case)
    keda = r.one("KafkaUser", "kafka-keda")
    topics: set[str] = set()
    groups: set[str] = set()
    for acl in _acls(keda):
        assert acl["operations"] == ["Describe"], acl
        res = acl["resource"]
        assert res["patternType"] == "literal"
        (topics if res["type"] == "topic" else groups).add(res["name"])
    triggers = [t for so in r.of_kind("ScaledObject") for t in so["spec"]["triggers"]]
    watched = [t for t in triggers if t["type"] == "kafka"]
    assert watched
    assert topics == {t["metadata"]["topic"] for t in watched}
    assert groups == {t["metadata"]["consumerGroup"] for t in watched}
    auth = r.one("TriggerAuthentication", "kafka-keda")
    refs = {x["parameter"]: x for x in auth["spec"]["secretTargetRef"]}
    assert refs["password"]["name"] == "kafka-keda"
    assert refs["password"]["key"] == "password"
    assert refs["ca"]["key"] == "ca.crt"
    (username,) = auth["spec"]["configMapTargetRef"]
    config_map = r.one("ConfigMap", username["name"])
    assert config_map["data"][username["key"]] == "kafka-keda"
    for t in watched:
        assert t["metadata"]["tls"] == "enable"
        assert t["metadata"]["sasl"] == "scram_sha512"
        assert t["authenticationRef"]["name"] == "kafka-keda"


def test_external_kafka_takes_tls_and_credentials_from_secrets() -> None:
    r = render("gke")
    assert not r.of_kind("KafkaUser")
    for pubsub in _pubsubs(r):
        meta = model.metadata_of(pubsub)
        assert meta["saslUsername"] == ("secretKeyRef", "kafka-sasl", "username")
        assert meta["saslPassword"] == ("secretKeyRef", "kafka-sasl", "password")
        assert meta["disableTls"] == "false"


# --- no password in any manifest ------------------------------------------------------

SECRETISH = re.compile(r"(?i)(password|passwd|secret|token|apikey|credential|privatekey|jaas)")
LITERAL = [
    re.compile(r"-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----"),
    re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"),  # credentials in a URL
    re.compile(r"(?i)\bpassword\s*=\s*[^\s;:]+"),  # a connection string or JAAS line
]


def plaintext_secrets(docs: list[dict[str, Any]]) -> list[str]:
    """Where a rendered object holds a secret value instead of naming where it is."""
    found: list[str] = []
    for doc in docs:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        text = repr(doc)
        found += [f"{where}: matches {p.pattern}" for p in LITERAL if p.search(text)]
        if doc["kind"] == "Secret":
            found.append(f"{where}: the chart renders a Secret")
        if doc["kind"] == "Component":
            for item in doc["spec"].get("metadata") or []:
                if SECRETISH.search(item["name"]) and item.get("value") not in (None, ""):
                    found.append(f"{where}: {item['name']} has a value")
        if doc["kind"] == "ConfigMap":
            found += [f"{where}: data.{k}" for k in doc.get("data") or {} if SECRETISH.search(k)]
        pods = [doc["spec"]["template"]["spec"]] if doc["kind"] in ("Deployment", "Job") else []
        for pod in pods:
            for c in pod["containers"] + pod.get("initContainers", []):
                for env in c.get("env") or []:
                    if re.search(r"(?i)(password|token|key)$", env["name"]) and "value" in env:
                        found.append(f"{where}/{c['name']}: env {env['name']} has a value")
    return found


@pytest.mark.parametrize("case", list(VALUES_FILES))
def test_no_password_in_any_rendered_manifest(case: str) -> None:
    assert plaintext_secrets(list(render(case).docs)) == []


def test_the_manifest_scan_catches_a_password() -> None:
    import copy

    docs = [copy.deepcopy(d) for d in render("aks").docs]
    pubsub = next(d for d in docs if d["kind"] == "Component" and d["metadata"]["name"] == "pubsub")
    item = next(m for m in pubsub["spec"]["metadata"] if m["name"] == "saslPassword")
    item.pop("envRef")
    item["value"] = "hunter2"
    assert plaintext_secrets(docs) == ["Component/pubsub: saslPassword has a value"]
    jaas = 'org.apache.kafka.common.security.scram.ScramLoginModule password="x";'
    assert plaintext_secrets([{"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {
        "sasl.jaas.config": jaas}}])  # fmt: skip


# --- minikube and the local stack -----------------------------------------------------


@pytest.mark.parametrize("case", PLAINTEXT)
def test_minikube_stays_plaintext(case: str) -> None:
    r = render(case)
    (kafka,) = r.of_kind("Kafka")
    for listener in kafka["spec"]["kafka"]["listeners"]:
        assert listener["tls"] is False
        assert "authentication" not in listener
    assert "authorization" not in kafka["spec"]["kafka"]
    assert not r.of_kind("KafkaUser")
    assert not r.of_kind("TriggerAuthentication")
    for pubsub in _pubsubs(r):
        meta = model.metadata_of(pubsub)
        assert (meta["authType"], meta["disableTls"]) == ("none", "true")
        assert meta["brokers"].endswith(":9092")
    for app_id in FUNCTIONS:
        assert "dapr.io/env-from-secret" not in _annotations(r, app_id)


def test_the_local_stack_stays_plaintext() -> None:
    for component in model.local_docs("components"):
        if component["spec"]["type"] == "pubsub.kafka":
            meta = model.metadata_of(component)
            assert (meta["authType"], meta["disableTls"]) == ("none", "true")
