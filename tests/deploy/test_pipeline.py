"""The delivery pipeline would go green on its first real run: what each workflow relies
on is checked here, offline, against the actions' recorded releases, the runners' sizes
and the chart (issue "a delivery pipeline whose first real run goes green").

  * every action is pinned by commit SHA to a release recorded in .github/actions-lock.yaml,
    with only inputs its action.yml declares;
  * nothing is promoted without a green `ci` of the same SHA;
  * deploys are serialised per environment and cloud, never across environments;
  * a deploy job outlives helm's timeout plus --atomic's rollback;
  * minikube fits a standard 2-vCPU / 7 GB runner, requests included;
  * every cloud values file pulls with a secret, and the deploy tool refuses to deploy
    without it (tests/deploy/test_tool.py runs it against a real API server);
  * images are multi-arch, attested, signed and scanned; pip installs verify hashes.
"""

from __future__ import annotations

import re
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack.config import FUNCTIONS, ROOT
from tests.deploy.conftest import VALUES_FILES, render
from tests.deploy.test_workflows import FILES, WORKFLOWS, load
from tests.scripts import load_script

LOCK = ROOT / ".github" / "actions-lock.yaml"
USES = re.compile(r"^\s*(?:-\s*)?uses:\s*(\S+?)(?:\s+#\s*(\S+))?\s*$", re.M)
SHA = re.compile(r"[0-9a-f]{40}")
CLOUDS = ("aks", "gke", "oke")
# GitHub-hosted standard runner labels; for a private repository they have 2 vCPU and
# 7 GB of memory (public repositories get more, but the workflows must not rely on it).
STANDARD_RUNNERS = {"ubuntu-latest", "ubuntu-24.04", "ubuntu-22.04"}
STANDARD_CPUS, STANDARD_MEMORY_MB = 2, 7 * 1024


def lock() -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = yaml.safe_load(LOCK.read_text())["actions"]
    return entries


def steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


def minutes(value: str) -> int:
    match = re.fullmatch(r"(\d+)m", value)
    assert match, f"not a duration in minutes: {value}"
    return int(match.group(1))


# --- actions: pinned, verified, recorded ---------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_action_is_sha_pinned_to_a_recorded_release(path: Path) -> None:
    recorded = lock()
    for use, comment in USES.findall(path.read_text()):
        if use.startswith("./"):
            continue
        name, _, ref = use.partition("@")
        assert SHA.fullmatch(ref), f"{path.name}: {use} is not pinned by a 40-hex commit SHA"
        entry = recorded.get(name.lower())
        assert entry, f"{path.name}: {name} is not in .github/actions-lock.yaml"
        assert ref == entry["sha"], f"{name}: {ref} is not the recorded {entry['tag']}"
        assert comment == entry["tag"], f"{name}@{ref}: comment {comment!r} != {entry['tag']}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_action_input_is_one_recorded_from_its_action_yml(path: Path) -> None:
    recorded = lock()
    for step in steps(load(path)):
        use = step.get("uses", "")
        if not use or use.startswith("./"):
            continue
        entry = recorded[use.partition("@")[0].lower()]
        unknown = set(step.get("with") or {}) - set(entry["inputs"])
        assert not unknown, f"{path.name}: {use} has inputs {unknown} not verified in the lock"


def test_the_lock_lists_only_what_the_workflows_use_and_says_where() -> None:
    used: dict[str, set[str]] = {}
    for path in FILES:
        for use, _ in USES.findall(path.read_text()):
            if not use.startswith("./"):
                used.setdefault(use.partition("@")[0].lower(), set()).add(path.name)
    recorded = lock()
    assert set(recorded) == set(used)
    for name, entry in recorded.items():
        assert SHA.fullmatch(entry["sha"]), name
        assert re.fullmatch(r"v\d+(\.\d+)*", entry["tag"]), name
        assert entry["repository"].lower() == name
        assert set(entry["workflows"]) == used[name], name
        # Actions on Node 20 are forced onto Node 24 by the runners: say so where it happens.
        assert entry["runs"] in {"node24", "composite"} or "node20" in entry.get("note", "")


def test_the_pin_check_rejects_a_tag_and_an_unrecorded_sha() -> None:
    text = "steps:\n  - uses: actions/checkout@v4\n  - uses: foo/bar@" + "a" * 40 + " # v1\n"
    found = USES.findall(text)
    assert found == [("actions/checkout@v4", ""), ("foo/bar@" + "a" * 40, "v1")]
    assert not SHA.fullmatch(found[0][0].partition("@")[2])
    assert "foo/bar" not in lock()


def test_the_oke_login_is_a_release_that_exists() -> None:
    # `configure-kubectl-oke@v1` named a tag that does not exist (releases are v1.0 … v1.5.0).
    entry = lock()["oracle-actions/configure-kubectl-oke"]
    assert entry["tag"] == "v1.5.0"


# --- promotion: only a green ci of the same SHA ---------------------------------------

CI_RUNS_QUERY = "actions/workflows/ci.yml/runs?head_sha=$SHA&status=success"


def test_ci_is_the_workflow_the_promotion_waits_for() -> None:
    assert load(WORKFLOWS / "ci.yml")["name"] == "ci"
    assert "push" in load(WORKFLOWS / "ci.yml")["on"]


def test_images_are_built_only_after_a_green_ci_of_the_same_sha() -> None:
    doc = load(WORKFLOWS / "images.yml")
    trigger = doc["on"]
    assert trigger["workflow_run"] == {
        "workflows": ["ci"],
        "types": ["completed"],
        "branches": ["main"],
    }
    assert "branches" not in (trigger.get("push") or {}), "a push to main must not build"
    gate = doc["jobs"]["gate"]
    assert "github.event.workflow_run.conclusion == 'success'" in gate["if"]
    run = " ".join(s.get("run", "") for s in gate["steps"])
    assert CI_RUNS_QUERY in run
    assert gate["permissions"] == {"actions": "read"}
    env = gate["steps"][0]["env"]
    assert env["SHA"] == "${{ github.event.workflow_run.head_sha || github.sha }}"
    for name, job in doc["jobs"].items():
        if name == "gate":
            continue
        assert "gate" in job["needs"], name
        checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout"))
        assert checkout["with"]["ref"] == "${{ needs.gate.outputs.sha }}", name


def test_deploys_happen_only_for_a_green_ci_of_the_same_sha() -> None:
    doc = load(WORKFLOWS / "deploy.yml")
    assert doc["on"]["workflow_run"]["workflows"] == ["images"]
    verify = doc["jobs"]["verify"]
    run = " ".join(s.get("run", "") for s in verify["steps"])
    assert CI_RUNS_QUERY in run
    assert "merge-base --is-ancestor" in run  # the SHA is on main
    assert "[0-9a-f]{40}" in run  # a full commit SHA, not a branch or short tag
    assert "imagetools inspect" in run  # its images exist
    assert "refs/heads/main" in verify["if"]  # a manual run only from main
    jobs = doc["jobs"]
    assert jobs["staging"]["needs"] == "verify"
    assert set(jobs["production"]["needs"]) == {"verify", "staging"}
    for env in ("staging", "production"):
        assert jobs[env]["with"]["tag"] == "${{ needs.verify.outputs.sha }}"


def test_secrets_are_passed_by_name_never_inherited() -> None:
    for path in FILES:
        assert "secrets: inherit" not in path.read_text(), path.name
    called = load(WORKFLOWS / "deploy-cluster.yml")
    declared = set(called["on"]["workflow_call"]["secrets"])
    used = set(re.findall(r"secrets\.(\w+)", (WORKFLOWS / "deploy-cluster.yml").read_text()))
    assert used <= declared
    for env in ("staging", "production"):
        assert set(load(WORKFLOWS / "deploy.yml")["jobs"][env]["secrets"]) == declared


# --- concurrency and time ---------------------------------------------------------------


def test_deploys_are_serialised_per_environment_and_cloud() -> None:
    deploy = load(WORKFLOWS / "deploy.yml")
    assert "concurrency" not in deploy, "one group for all deploys: production blocks staging"
    called = load(WORKFLOWS / "deploy-cluster.yml")
    groups = set()
    for cloud, job in called["jobs"].items():
        group = job["concurrency"]["group"]
        assert "${{ inputs.environment }}" in group, group
        assert cloud in group, group
        assert job["concurrency"]["cancel-in-progress"] is False  # never kill a helm upgrade
        groups.add(group)
    assert len(groups) == len(called["jobs"])


def test_ci_cancels_superseded_runs_only_for_pull_requests() -> None:
    concurrency = load(WORKFLOWS / "ci.yml")["concurrency"]
    assert concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"


def _deploy_tool_minutes() -> tuple[int, int, int]:
    """(helm's default timeout, the readiness checks' bound, the smoke test's) of deploy/."""
    from deploy import cli

    return minutes(cli.HELM_TIMEOUT), minutes(cli.WAIT_TIMEOUT), minutes(cli.SMOKE_TIMEOUT)


def test_a_deploy_job_outlives_helm_plus_its_rollback() -> None:
    default_helm, checks, smoke = _deploy_tool_minutes()
    called = load(WORKFLOWS / "deploy-cluster.yml")
    helm = minutes(called["env"]["HELM_TIMEOUT"])
    assert helm == default_helm
    for cloud, job in called["jobs"].items():
        by_name = {s.get("name"): s for s in job["steps"]}
        deploy = by_name["Deploy"]
        rollback = by_name["Roll back after a failed check or smoke test"]
        # --atomic: the upgrade may take `helm` minutes, its rollback as long again; then
        # the readiness checks and the smoke test, and a minute to install the tool.
        assert deploy["timeout-minutes"] >= 2 * helm + checks + smoke + 1, cloud
        assert rollback["timeout-minutes"] >= helm, cloud
        assert "--timeout" in rollback["run"]
        assert "--wait" in rollback["run"]
        budget = deploy["timeout-minutes"] + rollback["timeout-minutes"]
        # Checkout, logins and tool set-up get at least 5 minutes of their own.
        assert job["timeout-minutes"] >= budget + 5, cloud


def test_the_deploy_step_runs_the_deploy_tool_with_the_smoke_test() -> None:
    called = load(WORKFLOWS / "deploy-cluster.yml")
    for cloud, job in called["jobs"].items():
        deploy = next(s for s in job["steps"] if s.get("name") == "Deploy")
        assert deploy["id"] == "upgrade"
        assert f"python -m deploy helm/taskwave/values-{cloud}.yaml" in deploy["run"], cloud
        assert "--base-url" in deploy["run"]
        assert {"TAG", "HOST", "SMOKE_USERNAME", "SMOKE_PASSWORD"} <= set(deploy["env"]), cloud
    assert not (ROOT / "scripts" / "deploy.sh").exists(), "one deploy path, not two"


def test_rollback_goes_to_the_revision_that_was_live_and_never_after_a_first_install() -> None:
    called = load(WORKFLOWS / "deploy-cluster.yml")
    for cloud, job in called["jobs"].items():
        rollback = next(s for s in job["steps"] if s.get("name", "").startswith("Roll back"))
        assert "steps.upgrade.outputs.previous != ''" in rollback["if"], cloud
        # Only after helm's upgrade passed: a failed one was rolled back by --atomic.
        assert "steps.upgrade.outputs.upgraded == 'true'" in rollback["if"], cloud
        assert '"$PREVIOUS"' in rollback["run"], cloud
    # The tool writes both outputs (tests/deploy/test_tool.py checks their values).
    source = (ROOT / "deploy" / "cli.py").read_text()
    assert 'github_output("previous", previous)' in source
    assert 'github_output("upgraded", "true")' in source


# --- clouds ---------------------------------------------------------------------------


def test_cloud_logins_have_their_explicit_inputs() -> None:
    jobs = load(WORKFLOWS / "deploy-cluster.yml")["jobs"]
    aks = {s.get("uses", "").partition("@")[0]: s for s in jobs["aks"]["steps"]}
    assert aks["azure/aks-set-context"]["with"]["use-kubelogin"] == "true"
    assert "azure/use-kubelogin" in aks
    gke = {s.get("uses", "").partition("@")[0]: s for s in jobs["gke"]["steps"]}
    assert gke["google-github-actions/auth"]["with"]["project_id"]
    assert gke["google-github-actions/get-gke-credentials"]["with"]["project_id"]
    oke = {s.get("uses", "").partition("@")[0]: s for s in jobs["oke"]["steps"]}
    assert oke["oracle-actions/configure-kubectl-oke"]["with"]["cluster"]
    for var in ("OCI_CLI_USER", "OCI_CLI_TENANCY", "OCI_CLI_KEY_CONTENT", "OCI_CLI_REGION"):
        assert var in jobs["oke"]["env"]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_cloud_values_file_pulls_with_a_secret(cloud: str) -> None:
    values = yaml.safe_load((ROOT / "helm" / "taskwave" / f"values-{cloud}.yaml").read_text())
    secrets = values["image"]["pullSecrets"]
    assert secrets, f"values-{cloud}.yaml: GHCR images are private by default"
    for deployment in render(cloud).of_kind("Deployment"):
        pulled = [s["name"] for s in deployment["spec"]["template"]["spec"]["imagePullSecrets"]]
        assert pulled == secrets, deployment["metadata"]["name"]


def test_every_cloud_has_a_values_file() -> None:
    assert {c for c in CLOUDS} <= set(VALUES_FILES)


# --- images ---------------------------------------------------------------------------


def test_images_are_multi_arch_attested_signed_and_scanned() -> None:
    doc = load(WORKFLOWS / "images.yml")
    assert set(doc["env"]["PLATFORMS"].split(",")) == {"linux/amd64", "linux/arm64"}
    job = doc["jobs"]["function"]
    by_use = {s.get("uses", "").partition("@")[0]: s for s in job["steps"]}
    assert "docker/setup-qemu-action" in by_use
    build = by_use["docker/build-push-action"]["with"]
    assert build["platforms"] == "${{ env.PLATFORMS }}"
    assert build["sbom"] is True
    assert build["provenance"] == "mode=max"
    runs = " ".join(s.get("run", "") for s in job["steps"])
    assert "sigstore/cosign-installer" in by_use
    assert "cosign sign --yes" in runs
    assert "@$DIGEST" in runs  # sign the digest that was pushed, not a movable tag
    scan = by_use["anchore/scan-action"]["with"]
    assert scan["fail-build"] is True
    assert scan["image"].endswith("@${{ steps.build.outputs.digest }}")
    assert job["permissions"]["id-token"] == "write"
    base = doc["jobs"]["base"]["steps"]
    assert any(s.get("with", {}).get("platforms") == "${{ env.PLATFORMS }}" for s in base)


def test_every_pip_install_in_the_workflows_checks_hashes() -> None:
    for path in FILES:
        for step in steps(load(path)):
            for line in step.get("run", "").splitlines():
                if "pip install" in line and "-r " in line:
                    assert "--require-hashes" in line, f"{path.name}: {line.strip()}"
    hashed = r"^([A-Za-z0-9_.-]+)==\S+((?:\s*\\\n\s*--hash=sha256:\w{64})+)"
    for name in ("smoke-requirements.txt", "deploy-requirements.txt"):
        lines = (ROOT / "scripts" / name).read_text()
        requirements = re.findall(hashed, lines, re.M)
        assert requirements, f"scripts/{name} has no hashed pins"


def test_the_deploy_tools_requirements_are_the_locked_versions_with_hashes() -> None:
    module = load_script("hash_requirements")
    pins = module.pinned(module.DEPLOY_OUT)
    lock = module.lock_pins()
    assert {"kubernetes", "pyyaml", "websockets"} <= set(pins)
    for name, (version, hashes) in pins.items():
        assert lock.get(name) == version, f"{name}=={version}: the lock has {lock.get(name)}"
        assert hashes, name


# --- ci and e2e -----------------------------------------------------------------------


def test_ci_runs_in_a_plain_checkout_and_requires_the_browser() -> None:
    doc = load(WORKFLOWS / "ci.yml")
    all_steps = steps(doc)
    guard = '[ -e "$beside/shared" ]'
    assert any(guard in s.get("run", "") and "exit 1" in s.get("run", "") for s in all_steps)
    make = next(s for s in all_steps if s.get("run", "").strip() == "make test")
    assert make["env"]["TASKWAVE_REQUIRE_BROWSER"] == "1"
    by_use = {s.get("uses", "").partition("@")[0]: s for s in all_steps}
    go_paths = by_use["actions/setup-go"]["with"]["cache-dependency-path"].split()
    assert {"stack/go/daprd/go.mod", "stack/go/daprd/go.sum"} <= set(go_paths)
    assert by_use["actions/setup-python"]["with"]["cache"] == "pip"
    key = by_use["actions/cache"]["with"]["key"]
    for module in ("daprd", "kube-apiserver"):  # a new pin rebuilds, an old build is reused
        assert f"stack/go/{module}/go.mod" in key
        assert f"stack/go/{module}/go.sum" in key
        assert f"stack/go/{module}/go.sum" in go_paths


def test_the_browser_check_fails_instead_of_skipping_when_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.browser import chromium

    monkeypatch.setenv("TASKWAVE_CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("TASKWAVE_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception):
        chromium.ensure()
    monkeypatch.delenv("TASKWAVE_REQUIRE_BROWSER")
    with pytest.raises(pytest.skip.Exception):
        chromium.ensure()


def test_e2e_runs_when_what_the_images_contain_changes() -> None:
    paths = set(load(WORKFLOWS / "e2e-minikube.yml")["on"]["pull_request"]["paths"])
    # Everything the Dockerfiles copy (.dockerignore lets in only these) and the smoke test.
    allowed = [
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    for item in allowed:
        assert any(fnmatch(item, p) or fnmatch(f"{item}/x", p) for p in paths), item
    assert {".dockerignore", "docker/**", "helm/**", "dapr/**", "scripts/smoke.py"} <= paths


def _minikube(doc: dict[str, Any]) -> dict[str, Any]:
    step = next(s for s in steps(doc) if s.get("uses", "").startswith("medyagh/setup-minikube@"))
    inputs: dict[str, Any] = step["with"]
    return inputs


def _memory_mb(value: str) -> int:
    match = re.fullmatch(r"(\d+)([mg])", value)
    assert match, f"minikube memory {value!r}: write it as <n>m or <n>g"
    return int(match.group(1)) * (1024 if match.group(2) == "g" else 1)


def test_e2e_pins_minikube_and_enables_metrics_server() -> None:
    doc = load(WORKFLOWS / "e2e-minikube.yml")
    inputs = _minikube(doc)
    assert inputs["minikube-version"] == "${{ env.MINIKUBE_VERSION }}"
    assert re.fullmatch(r"v\d+\.\d+\.\d+", doc["env"]["MINIKUBE_VERSION"])
    assert "metrics-server" in inputs["addons"].split(",")  # KEDA's CPU triggers need it
    assert "ingress" in inputs["addons"].split(",")


def test_e2e_dumps_the_platform_on_failure() -> None:
    doc = load(WORKFLOWS / "e2e-minikube.yml")
    dumps = [s for s in steps(doc) if s.get("if") == "failure()"]
    assert dumps
    text = " ".join(s["run"] for s in dumps)
    for needle in ("dapr-system keda strimzi", "kafkatopics -o yaml", "logs", "describe pods"):
        assert needle in text, needle


# CPU (millicores) and memory (MiB) requested by what runs beside taskwave on the e2e
# minikube, at the versions pinned: kubeadm's static pods and CoreDNS, minikube's
# Calico and its ingress and metrics-server addons (deploy/addons/*, pkg/minikube/cni/
# calico.yaml at v1.38.1); the Dapr chart sets no requests (charts/dapr/charts/*/
# values.yaml at v1.18.3, `resources: {}`); KEDA's three pods and the Strimzi operator
# request what the workflow sets (their charts' defaults are 100m each and 200m).
PLATFORM_CPU = {
    "kube-apiserver": 250,
    "kube-controller-manager": 200,
    "kube-scheduler": 100,
    "etcd": 100,
    "coredns": 100,
    "calico-node": 250,
    "ingress-nginx-controller": 100,
    "metrics-server": 100,
}
PLATFORM_MEMORY = {
    "etcd": 100,
    "coredns": 70,
    "ingress-nginx-controller": 90,
    "metrics-server": 200,
}
CHART_DEFAULT_CPU = {"keda": 300, "strimzi": 200}


def _cpu_m(value: str) -> int:
    return int(value[:-1]) if value.endswith("m") else int(float(value) * 1000)


def _memory_mib(value: str) -> int:
    units = {"Mi": 1, "Gi": 1024}
    return int(value[:-2]) * units[value[-2:]]


def _operator_cpu(runs: str) -> dict[str, int]:
    """The CPU requests the e2e workflow gives KEDA's pods and the Strimzi operator."""
    keda = re.findall(r"resources\.(?:operator|metricServer|webhooks)\.requests\.cpu=(\w+)", runs)
    strimzi = re.findall(r"--set resources\.requests\.cpu=(\w+)", runs)
    return {
        "keda": sum(map(_cpu_m, keda)) + 100 * (3 - len(keda)),
        "strimzi": _cpu_m(strimzi[0]) if strimzi else CHART_DEFAULT_CPU["strimzi"],
    }


def taskwave_requests() -> tuple[int, int]:
    """(millicores, MiB) the chart requests on minikube: every function at its first
    replica with its sidecar, the Kafka node pool, and the e2e PostgreSQL."""
    r = render("minikube")
    cpu = memory = 0
    for deployment in r.of_kind("Deployment"):
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        cpu += _cpu_m(annotations["dapr.io/sidecar-cpu-request"])
        memory += _memory_mib(annotations["dapr.io/sidecar-memory-request"])
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            cpu += _cpu_m(container["resources"]["requests"]["cpu"])
            memory += _memory_mib(container["resources"]["requests"]["memory"])
    for pool in r.of_kind("KafkaNodePool"):
        requests = pool["spec"]["resources"]["requests"]
        cpu += _cpu_m(requests["cpu"]) * pool["spec"]["replicas"]
        memory += _memory_mib(requests["memory"]) * pool["spec"]["replicas"]
    for doc in yaml.safe_load_all((ROOT / ".github" / "e2e" / "postgres.yaml").read_text()):
        if doc and doc["kind"] == "StatefulSet":
            for container in doc["spec"]["template"]["spec"]["containers"]:
                cpu += _cpu_m(container["resources"]["requests"]["cpu"])
                memory += _memory_mib(container["resources"]["requests"]["memory"])
    return cpu, memory


def test_minikube_fits_a_standard_runner_with_every_request() -> None:
    doc = load(WORKFLOWS / "e2e-minikube.yml")
    job = doc["jobs"]["e2e"]
    inputs = _minikube(doc)
    cpus, memory_mb = int(inputs["cpus"]), _memory_mb(inputs["memory"])
    if job["runs-on"] in STANDARD_RUNNERS:
        assert cpus <= STANDARD_CPUS, "minikube refuses more CPUs than the runner has"
        # The runner itself (Docker, the image builds' client, the job) keeps >= 1 GB.
        assert memory_mb <= STANDARD_MEMORY_MB - 1024
    runs = "\n".join(s.get("run", "") for s in steps(doc))
    operators = _operator_cpu(runs)
    app_cpu, app_memory = taskwave_requests()
    requested = sum(PLATFORM_CPU.values()) + sum(operators.values()) + app_cpu
    # The scheduler places pods only while requests fit the node's allocatable CPU;
    # keep a tenth free for what is not counted (Strimzi's entity operator, kube-proxy).
    assert requested <= cpus * 1000 * 0.9, f"{requested}m of CPU requested on {cpus} CPUs"
    assert sum(PLATFORM_MEMORY.values()) + app_memory <= memory_mb * 0.8


def test_the_budget_counts_what_it_should() -> None:
    # The request sum must see every function and react to the operator settings.
    cpu, memory = taskwave_requests()
    assert cpu >= len(FUNCTIONS) * 2
    assert memory >= len(FUNCTIONS) * 64
    assert _operator_cpu("")["keda"] == CHART_DEFAULT_CPU["keda"]
    assert _operator_cpu("--set resources.requests.cpu=50m")["strimzi"] == 50


# --- KEDA speaks a Kafka protocol Kafka 4 accepts -----------------------------------


@pytest.mark.parametrize("case", list(VALUES_FILES))
def test_keda_kafka_triggers_name_the_protocol_version_dapr_uses(case: str) -> None:
    r = render(case)
    versions = set()
    for component in r.of_kind("Component"):
        if component["spec"]["type"] == "pubsub.kafka":
            meta = {m["name"]: m.get("value") for m in component["spec"]["metadata"]}
            versions.add(meta["version"])
    assert len(versions) == 1
    (version,) = versions
    # Kafka 4 removed every protocol older than 2.1.
    assert tuple(map(int, version.split(".")[:2])) >= (2, 1)
    for scaled in r.of_kind("ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            if trigger["type"] == "kafka":
                assert trigger["metadata"].get("version") == version, scaled["metadata"]["name"]
