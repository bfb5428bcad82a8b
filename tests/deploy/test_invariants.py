"""Invariants of the rendered chart, for every values file: Dapr wiring, KEDA consumer
groups, Kafka topics, container hardening, and no secret in any values file."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.deploy import model
from tests.deploy.conftest import (
    CHART,
    KUBE_VERSION,
    NAMESPACE,
    VALUES_FILES,
    Rendered,
    run_helm,
)

FUNCTIONS = model.functions()


def _pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def _annotations(deployment: dict[str, Any]) -> dict[str, str]:
    return dict(deployment["spec"]["template"]["metadata"].get("annotations") or {})


def _components(r: Rendered) -> dict[str, dict[str, Any]]:
    return {c["metadata"]["name"]: c for c in r.of_kind("Component")}


def _app_of(r: Rendered, deployment_name: str) -> str:
    return _annotations(r.one("Deployment", deployment_name))["dapr.io/app-id"]


def _consumer_group(r: Rendered, app_id: str) -> str:
    """The Kafka consumer group the app's sidecar joins: its pub/sub component's
    consumerGroup, resolved for that app."""
    pubsub = _components(r)[model.settings(app_id).pubsub]
    assert app_id in pubsub["spec"]["type"] or app_id in pubsub["scopes"]
    return model.resolve_template(model.metadata_of(pubsub)["consumerGroup"], app_id)


def _consumed_topics(r: Rendered, app_id: str) -> set[str]:
    subs = [s for s in r.of_kind("Subscription") if app_id in s["scopes"]]
    return {s["spec"]["topic"] for s in subs}


# --- Dapr ---------------------------------------------------------------------------


def test_every_function_has_a_deployment_with_dapr_annotations(rendered: Rendered) -> None:
    deployments = {d["metadata"]["name"]: d for d in rendered.of_kind("Deployment")}
    assert set(deployments) == set(FUNCTIONS)
    configs = {c["metadata"]["name"] for c in rendered.of_kind("Configuration")}
    for app_id, deployment in deployments.items():
        ann = _annotations(deployment)
        port = next(p for p in _pod_spec(deployment)["containers"][0]["ports"])
        assert ann["dapr.io/enabled"] == "true"
        assert ann["dapr.io/app-id"] == app_id
        assert ann["dapr.io/app-port"] == str(port["containerPort"])
        assert ann["dapr.io/config"] in configs
        for key in ("cpu-request", "memory-request", "cpu-limit", "memory-limit"):
            assert ann.get(f"dapr.io/sidecar-{key}"), f"{app_id}: no sidecar {key}"
        assert ann["dapr.io/app-token-secret"]
        assert ann["dapr.io/api-token-secret"]


def test_every_function_runs_its_module_with_the_settings_env(rendered: Rendered) -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for app_id, module in FUNCTIONS.items():
        assert values["functions"][app_id]["module"] == module
        container = _pod_spec(rendered.one("Deployment", app_id))["containers"][0]
        env = {e["name"]: e for e in container["env"]}
        assert env["APP_ID"]["value"] == app_id
        assert env["APP_PORT"]["value"] == str(container["ports"][0]["containerPort"])
        assert env["TASKWAVE_HOST"]["value"] == "0.0.0.0"
        # Tokens only by reference.
        for name in ("APP_API_TOKEN", "DAPR_API_TOKEN"):
            assert "value" not in env[name]
            assert env[name]["valueFrom"]["secretKeyRef"]
        image, _, tag = container["image"].rpartition(":")
        assert image.endswith(f"/taskwave-{app_id}")
        assert tag


def _sampling(r: Rendered) -> tuple[str, dict[str, tuple[str, str]]]:
    """The sidecars' sampling rate, and each app's OpenTelemetry sampler and argument."""
    (configuration,) = r.of_kind("Configuration")
    apps = {}
    for app_id in FUNCTIONS:
        env = {
            e["name"]: e.get("value", "")
            for e in _pod_spec(r.one("Deployment", app_id))["containers"][0]["env"]
        }
        apps[app_id] = (env["OTEL_TRACES_SAMPLER"], env["OTEL_TRACES_SAMPLER_ARG"])
    return str(configuration["spec"]["tracing"]["samplingRate"]), apps


def test_apps_sample_traces_at_the_sidecars_rate(rendered: Rendered) -> None:
    """A request's trace starts in the app and daprd follows the app's decision, so a rate
    set for the sidecars alone would sample every request anyway."""
    rate, apps = _sampling(rendered)
    for app_id, sampler in apps.items():
        assert sampler == ("parentbased_traceidratio", rate), app_id


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--set", "observability.samplingRate=0.1"], "0.1"),
        (["--set", "observability.otlpEndpoint="], "0"),
    ],
)
def test_a_sampling_rate_reaches_sidecars_and_apps_alike(flags: list[str], expected: str) -> None:
    out = run_helm(
        "template",
        "taskwave",
        str(CHART),
        "--namespace",
        NAMESPACE,
        "--kube-version",
        KUBE_VERSION,
        *flags,
    )
    assert out.returncode == 0, out.stderr
    r = Rendered("sampling", None, tuple(d for d in yaml.safe_load_all(out.stdout) if d))
    rate, apps = _sampling(r)
    assert rate == expected
    assert set(apps.values()) == {("parentbased_traceidratio", expected)}


def test_every_function_is_in_the_scopes_of_the_components_it_uses(rendered: Rendered) -> None:
    components = _components(rendered)
    for app_id in FUNCTIONS:
        for name in model.used_components(app_id):
            assert name in components, f"{app_id} uses {name}, which is not rendered"
            assert app_id in components[name]["scopes"], f"{app_id} not in {name}'s scopes"
    for sub in rendered.of_kind("Subscription"):
        for app_id in sub["scopes"]:
            assert app_id in components[sub["spec"]["pubsubname"]]["scopes"]
    for comp in components.values():
        assert comp["scopes"]
        assert set(comp["scopes"]) <= set(FUNCTIONS)
    assert components["tasks"]["scopes"] == ["todo-api"]


def test_no_component_uses_daprs_outbox(rendered: Rendered) -> None:
    # Every event leaves through taskwave's own outbox (DESIGN §2): Dapr's would
    # publish a second, unkeyed copy of nothing we wrote.
    for comp in _components(rendered).values():
        assert not any(k.startswith("outbox") for k in model.metadata_of(comp)), comp["metadata"]


def test_only_the_apps_that_invoke_others_may_invoke(rendered: Rendered) -> None:
    (config,) = rendered.of_kind("Configuration")
    acl = config["spec"].get("accessControl")
    if acl is None:
        pytest.skip("access control off")
    # An app that invokes another has a setting naming the other's app id.
    invokers = {
        app_id
        for app_id in FUNCTIONS
        if any(f.endswith("_app_id") for f in type(model.settings(app_id)).model_fields)
    }
    # The callees name who may call their internal routes (internal_callers).
    callers = {
        caller
        for app_id in FUNCTIONS
        for field in ("internal_callers", "session_callers")
        for caller in getattr(model.settings(app_id), field, ())
    }
    allowed = {p["appId"] for p in acl["policies"] if p["defaultAction"] == "allow"}
    assert acl["defaultAction"] == "deny"
    assert allowed == callers | invokers
    assert all(p["namespace"] == NAMESPACE for p in acl["policies"])


def test_realtime_has_a_consumer_group_per_pod(rendered: Rendered) -> None:
    group = _consumer_group(rendered, "realtime")
    assert "{podName}" in group or "{uuid}" in group
    others = {_consumer_group(rendered, a) for a in FUNCTIONS if a != "realtime"}
    assert others == set(FUNCTIONS) - {"realtime"}  # one group per app, named as the app


# --- KEDA ---------------------------------------------------------------------------


def test_keda_consumer_groups_are_the_dapr_consumer_groups(rendered: Rendered) -> None:
    scaled = rendered.of_kind("ScaledObject")
    if not scaled:
        pytest.skip("autoscaling off in this values file")
    pubsub_brokers = model.metadata_of(_components(rendered)["pubsub"])["brokers"]
    kafka_triggers = 0
    for so in scaled:
        app_id = _app_of(rendered, so["spec"]["scaleTargetRef"]["name"])
        for trigger in so["spec"]["triggers"]:
            if trigger["type"] != "kafka":
                continue
            kafka_triggers += 1
            meta = trigger["metadata"]
            assert meta["consumerGroup"] == _consumer_group(rendered, app_id), so["metadata"]
            assert meta.get("topic"), f"{app_id}: a Kafka trigger without a topic"
            assert meta["topic"] in _consumed_topics(rendered, app_id)
            assert meta["bootstrapServers"] == pubsub_brokers
    assert kafka_triggers >= 4


def test_keda_minimum_replicas_follow_the_design(rendered: Rendered) -> None:
    scaled = {
        so["spec"]["scaleTargetRef"]["name"]: so["spec"] for so in rendered.of_kind("ScaledObject")
    }
    if not scaled:
        pytest.skip("autoscaling off in this values file")
    assert set(scaled) == set(FUNCTIONS)
    # A cold start takes seconds (keda/README.md), so recurring keeps one replica to
    # meet "the next occurrence within 1 s"; audit has no latency target.
    assert scaled["recurring"]["minReplicaCount"] == 1
    assert scaled["audit"]["minReplicaCount"] == 0
    for app_id in ("reminders", "realtime", "todo-api"):
        assert scaled[app_id]["minReplicaCount"] >= 1, app_id

    def kafka_topics(app_id: str) -> set[str]:
        return {t["metadata"]["topic"] for t in scaled[app_id]["triggers"] if t["type"] == "kafka"}

    assert {"task-events", "reminders"} <= kafka_topics("audit")  # one trigger per topic
    assert kafka_topics("recurring") == {"task-events"}  # one path per consumer
    assert kafka_topics("reminders") == {"task-events"}
    assert kafka_topics("todo-api") == set()  # it consumes nothing
    # Every realtime pod has its own group: lag is no measure of its load.
    assert not any(t["type"] == "kafka" for t in scaled["realtime"]["triggers"])
    for spec in scaled.values():
        assert spec["maxReplicaCount"] >= max(1, spec["minReplicaCount"])
    # The reasons are written next to the numbers.
    text = (CHART / "templates" / "keda.yaml").read_text()
    for reason in ("from zero", "only to a connected", "HTTP needs one replica", "own consumer"):
        assert reason in text


# --- Kafka topics -------------------------------------------------------------------


def test_every_topic_in_code_has_a_kafka_topic(rendered: Rendered) -> None:
    kafka = rendered.of_kind("Kafka")
    if not kafka:
        assert VALUES_FILES[rendered.case] is not None
        pytest.skip("external Kafka: topics are created with the provider's tooling")
    cluster = kafka[0]["metadata"]["name"]
    topics = {t["spec"]["topicName"]: t for t in rendered.of_kind("KafkaTopic")}
    expected = model.code_topics(namespace=NAMESPACE)
    assert set(topics) == set(expected)
    for name, partitions in expected.items():
        assert topics[name]["spec"]["partitions"] == partitions, name
        assert topics[name]["metadata"]["labels"]["strimzi.io/cluster"] == cluster
    used = model.event_topics()
    for sub in rendered.of_kind("Subscription"):
        used.add(sub["spec"]["topic"])
        if "deadLetterTopic" in sub["spec"]:
            used.add(sub["spec"]["deadLetterTopic"])
    for so in rendered.of_kind("ScaledObject"):
        used |= {t["metadata"]["topic"] for t in so["spec"]["triggers"] if t["type"] == "kafka"}
    assert used <= set(topics), used - set(topics)
    replicas = kafka[0]["spec"]["kafka"]["config"]["default.replication.factor"]
    nodes = rendered.of_kind("KafkaNodePool")[0]["spec"]["replicas"]
    assert all(t["spec"]["replicas"] <= nodes for t in topics.values())
    assert replicas <= nodes


def test_topic_retention_follows_the_code(rendered: Rendered) -> None:
    from shared.topics import RETENTION_MS

    topics = {t["spec"]["topicName"]: t for t in rendered.of_kind("KafkaTopic")}
    if not topics:
        pytest.skip("external Kafka")
    for name, ms in RETENTION_MS.items():
        assert topics[name]["spec"]["config"]["retention.ms"] == ms, name


def test_strimzi_kafka_is_kraft_with_a_node_pool(rendered: Rendered) -> None:
    kafka = rendered.of_kind("Kafka")
    if not kafka:
        pytest.skip("external Kafka")
    pools = rendered.of_kind("KafkaNodePool")
    assert kafka[0]["apiVersion"] == "kafka.strimzi.io/v1"
    assert len(pools) == 1
    assert set(pools[0]["spec"]["roles"]) == {"controller", "broker"}
    assert pools[0]["metadata"]["labels"]["strimzi.io/cluster"] == kafka[0]["metadata"]["name"]
    assert "zookeeper" not in kafka[0]["spec"]
    assert "topicOperator" in kafka[0]["spec"]["entityOperator"]


def test_external_kafka_takes_sasl_credentials_from_a_secret(rendered: Rendered) -> None:
    if rendered.of_kind("Kafka"):
        pytest.skip("Strimzi Kafka")
    for name in ("pubsub", "pubsub-fanout"):
        meta = model.metadata_of(_components(rendered)[name])
        assert meta["authType"] == "password"
        assert meta["saslUsername"][0] == "secretKeyRef"
        assert meta["saslPassword"][0] == "secretKeyRef"
        assert meta["disableTls"] == "false"
    auth = rendered.one("TriggerAuthentication", "kafka-sasl")
    params = {r["parameter"] for r in auth["spec"]["secretTargetRef"]}
    assert params == {"username", "password"}
    for so in rendered.of_kind("ScaledObject"):
        for t in so["spec"]["triggers"]:
            if t["type"] == "kafka":
                assert t["authenticationRef"]["name"] == "kafka-sasl"
                assert t["metadata"]["sasl"] in {"plaintext", "scram_sha256", "scram_sha512"}


# --- Containers and policies --------------------------------------------------------


def _workloads(r: Rendered) -> list[dict[str, Any]]:
    kinds = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
    return [d for d in r.docs if d["kind"] in kinds]


def test_every_container_has_resources_probes_and_runs_as_non_root(rendered: Rendered) -> None:
    workloads = _workloads(rendered)
    assert workloads
    for w in workloads:
        pod = _pod_spec(w)
        pod_sc = pod.get("securityContext", {})
        for c in pod.get("initContainers", []) + pod["containers"]:
            where = f"{w['metadata']['name']}/{c['name']}"
            res = c.get("resources", {})
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(res.get(kind, {})), f"{where}: {kind}"
            if w["kind"] != "Job":  # a run-to-completion hook serves nothing to probe
                assert c.get("livenessProbe"), where
                assert c.get("readinessProbe"), where
            sc = c.get("securityContext", {})
            assert sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True, where
            assert sc.get("runAsUser", pod_sc.get("runAsUser", 1)) != 0, where
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("readOnlyRootFilesystem") is True, where
            assert "ALL" in sc.get("capabilities", {}).get("drop", []), where


def test_probes_use_the_health_routes(rendered: Rendered) -> None:
    for w in rendered.of_kind("Deployment"):
        c = _pod_spec(w)["containers"][0]
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_every_function_has_a_service_and_a_pdb(rendered: Rendered) -> None:
    for app_id in FUNCTIONS:
        labels = rendered.one("Deployment", app_id)["spec"]["template"]["metadata"]["labels"]
        svc = rendered.one("Service", app_id)
        assert svc["spec"]["selector"].items() <= labels.items()
        pdb = rendered.one("PodDisruptionBudget", app_id)
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_ingress_routes_root_to_todo_api_and_ws_to_realtime(rendered: Rendered) -> None:
    ingress = rendered.one("Ingress", "taskwave")
    paths = {
        p["path"]: p["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    }
    assert paths == {"/": "todo-api", "/ws": "realtime"}
    ann = ingress["metadata"]["annotations"]
    assert int(ann["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(ann["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600


def test_network_policies_deny_by_default_and_select_every_function(rendered: Rendered) -> None:
    policies = rendered.of_kind("NetworkPolicy")
    deny = [p for p in policies if not p["spec"].get("ingress")]
    assert deny, "no default-deny policy"
    for app_id in FUNCTIONS:
        labels = rendered.one("Deployment", app_id)["spec"]["template"]["metadata"]["labels"]
        assert any(
            p["spec"]["podSelector"]["matchLabels"].items() <= labels.items() for p in deny
        ), app_id
    ports = {
        port["port"]
        for p in policies
        for rule in p["spec"].get("ingress", [])
        for port in rule.get("ports", [])
    }
    assert {"http", 50002, 9090} <= ports


def test_metrics_have_a_port_of_their_own_that_only_the_monitoring_namespace_reaches(
    rendered: Rendered,
) -> None:
    for app_id in FUNCTIONS:
        container = _pod_spec(rendered.one("Deployment", app_id))["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["TASKWAVE_METRICS_PORT"] == str(ports["metrics"]) != env["APP_PORT"]
        assert env["TASKWAVE_FORWARDED_ALLOW_IPS"]
    if not rendered.of_kind("NetworkPolicy"):
        return
    metrics = rendered.one("NetworkPolicy", "taskwave-allow-metrics")
    opened = {port["port"] for rule in metrics["spec"]["ingress"] for port in rule["ports"]}
    assert opened == {"metrics", 9090}  # not the app port: no events or internal routes
    ingress = rendered.one("NetworkPolicy", "taskwave-allow-ingress-controller")
    assert {port["port"] for rule in ingress["spec"]["ingress"] for port in rule["ports"]} == {
        "http"
    }


def test_each_function_reads_only_the_secrets_it_needs(rendered: Rendered) -> None:
    """One service account per function; its Role names only the Secrets the function's
    own components and code read (recurring: none)."""
    readable: dict[str, set[str]] = {}
    for deployment in rendered.of_kind("Deployment"):
        app = deployment["metadata"]["name"]
        account = _pod_spec(deployment)["serviceAccountName"]
        assert account == f"taskwave-{app}"
        rendered.one("ServiceAccount", account)
        bindings = [
            b
            for b in rendered.of_kind("RoleBinding")
            if any(s["name"] == account for s in b["subjects"])
        ]
        readable[app] = set()
        for binding in bindings:
            role = rendered.one("Role", binding["roleRef"]["name"])
            for rule in role["rules"]:
                assert rule["verbs"] == ["get"]
                assert rule["resourceNames"]
                readable[app] |= set(rule["resourceNames"])
    assert readable["recurring"] == set()
    assert readable["realtime"] == {"jwt-public"}  # verifies only: no private key
    assert readable["todo-api"] >= {"jwt", "jwt-public"}
    # Components that resolve their secretKeyRefs through the `secrets` store, for the
    # functions in their scopes.
    for component in rendered.of_kind("Component"):
        if component.get("auth", {}).get("secretStore") != "secrets":
            continue
        referenced = {
            m["secretKeyRef"]["name"] for m in component["spec"]["metadata"] if "secretKeyRef" in m
        }
        for app in component.get("scopes", []):
            assert referenced <= readable[app], (component["metadata"]["name"], app)


def test_the_code_may_ask_dapr_only_for_the_secrets_it_reads(rendered: Rendered) -> None:
    """Dapr's secret scopes (Configuration) allow the `secrets` store only the keys code
    reads; with each account's RBAC, each function's code can read exactly its own."""
    (config,) = rendered.of_kind("Configuration")
    scopes = {s["storeName"]: s for s in config["spec"]["secrets"]["scopes"]}
    scope = scopes["secrets"]
    assert scope["defaultAccess"] == "deny"
    assert not scope.get("deniedSecrets")
    allowed = set(scope["allowedSecrets"])
    store = {c["metadata"]["name"]: c for c in rendered.of_kind("Component")}["secrets"]
    for deployment in rendered.of_kind("Deployment"):
        app = deployment["metadata"]["name"]
        account = _pod_spec(deployment)["serviceAccountName"]
        rbac: set[str] = set()
        for binding in rendered.of_kind("RoleBinding"):
            if any(s["name"] == account for s in binding["subjects"]):
                role = rendered.one("Role", binding["roleRef"]["name"])
                rbac |= {n for rule in role["rules"] for n in rule["resourceNames"]}
        settings = model.settings(app)
        reads = {getattr(settings, n, None) for n in ("jwt_secret", "jwt_public_secret")} - {None}
        readable = (allowed & rbac) if app in store["scopes"] else set()
        assert readable == reads, app
    # The connection string is resolved by the sidecars for their state stores, never
    # handed to the code; nor are Kafka passwords or the app tokens.
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["secrets"]["postgres"]["existingSecret"] not in allowed
    assert not any(name.startswith("kafka-") or "token" in name for name in allowed)


def test_hsts_is_on_exactly_when_the_ingress_has_tls(rendered: Rendered) -> None:
    from functions.todo_api.settings import Settings

    values = yaml.safe_load((CHART / "values.yaml").read_text())
    if rendered.values_file:
        values.update(yaml.safe_load(rendered.values_file.read_text()))
    tls = bool((values.get("ingress") or {}).get("tls", {}).get("enabled"))
    assert "hsts_max_age_s" in Settings.model_fields  # TASKWAVE_HSTS_MAX_AGE_S
    for app_id in FUNCTIONS:
        env = {
            e["name"]: e.get("value")
            for e in _pod_spec(rendered.one("Deployment", app_id))["containers"][0]["env"]
        }
        if app_id == "todo-api" and tls:  # it serves every page and API answer
            assert int(env["TASKWAVE_HSTS_MAX_AGE_S"]) >= 15_552_000  # 180 days or more
        else:
            assert "TASKWAVE_HSTS_MAX_AGE_S" not in env, app_id
    if rendered.case in ("aks", "gke", "oke"):
        assert tls
        assert rendered.one("Ingress", "taskwave")["spec"]["tls"]


def test_components_are_scoped_to_the_functions_that_use_them(rendered: Rendered) -> None:
    scopes = {
        c["metadata"]["name"]: set(c.get("scopes", [])) for c in rendered.of_kind("Component")
    }
    assert "recurring" not in scopes["kv"]
    assert "realtime" not in scopes["kv"]
    assert "recurring" not in scopes["secrets"]
    assert scopes["tasks"] == {"todo-api"}


# --- Values files -------------------------------------------------------------------

SECRET_KEY = re.compile(
    r"(?i)(password|passwd|secret|token|apikey|api_key|credential|privatekey"
    r"|connectionstring|signingkey)"
)
# Keys that only NAME a secret (or a key inside one): their values are references.
REFERENCE_KEY = re.compile(r"(?i)(existingsecret|secretname|tokensecret|stringkey)$|^key$")
SECRET_VALUE = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"),  # credentials in a URL
    re.compile(r"(?i)\bpassword=[^\s;]+"),  # in a connection string
    re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),  # a JWT
    re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"),  # AWS key id
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),  # GitHub token
]


def _leaves(node: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _leaves(v, (*path, str(k)))]
    if isinstance(node, list):
        return [leaf for i, v in enumerate(node) for leaf in _leaves(v, (*path, str(i)))]
    return [(path, node)]


def secret_values(text: str) -> list[str]:
    found = [f"matches {p.pattern}" for p in SECRET_VALUE if p.search(text)]
    for path, value in _leaves(yaml.safe_load(text)):
        key = path[-1] if path else ""
        if SECRET_KEY.search(key) and not REFERENCE_KEY.search(key) and value not in ("", None):
            found.append(f"{'.'.join(path)} holds a value")
    return found


ALL_VALUES_FILES = [CHART / "values.yaml", *filter(None, VALUES_FILES.values())]


@pytest.mark.parametrize("values_file", ALL_VALUES_FILES, ids=lambda p: p.name)
def test_no_secret_value_in_any_values_file(values_file: Any) -> None:
    assert secret_values(values_file.read_text()) == []


@pytest.mark.parametrize(
    "text",
    [
        "secrets:\n  postgres:\n    password: hunter2\n",
        "db: postgresql://taskwave:hunter2@db:5432/taskwave\n",
        "kafka:\n  external:\n    sasl:\n      token: abc\n",
        "conn: host=db user=t password=hunter2\n",
        "jwt:\n  signingKey: 3f9a0c\n",
    ],
)
def test_the_secret_scan_catches_values(text: str) -> None:
    assert secret_values(text)
