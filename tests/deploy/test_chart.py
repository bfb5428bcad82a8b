"""The chart renders for every values file, lints clean and every object it renders
would be accepted by the API server (core schemas) and by the operators' CRDs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.conftest import (
    CHART,
    CRDS,
    KUBE_VERSION,
    VALUES_FILES,
    Rendered,
    helm_args,
    render,
    run_helm,
)
from tests.deploy.validation import errors, is_custom


@pytest.mark.parametrize("case", list(VALUES_FILES))
def test_helm_lint_strict_is_clean(helm: Path, case: str) -> None:
    out = run_helm("lint", "--strict", str(CHART), *helm_args(VALUES_FILES[case]))
    report = out.stdout + out.stderr
    assert out.returncode == 0, report
    assert "[WARNING]" not in report, report
    assert "[ERROR]" not in report, report


def test_there_is_a_values_file_per_cluster() -> None:
    assert set(VALUES_FILES) == {"defaults", "minikube", "aks", "gke", "oke"}


def test_every_rendered_object_is_valid_offline(rendered: Rendered) -> None:
    assert rendered.docs
    problems = [p for doc in rendered.docs for p in errors(doc)]
    assert problems == [], "\n".join(problems)


def test_every_kind_is_known_to_a_validator(rendered: Rendered) -> None:
    # A kind outside both schema sets would slip through unvalidated.
    kinds = {(d["apiVersion"], d["kind"]) for d in rendered.docs}
    custom = {k for k in kinds if is_custom({"apiVersion": k[0], "kind": k[1]})}
    assert {k for _, k in custom} >= {"Component", "Configuration", "Resiliency", "Subscription"}
    assert {k for _, k in kinds - custom} >= {"Deployment", "Service", "PodDisruptionBudget"}


def test_names_are_unique_per_kind(rendered: Rendered) -> None:
    seen = [(d["kind"], d["metadata"]["name"]) for d in rendered.docs]
    assert len(seen) == len(set(seen))


def test_the_versions_the_chart_claims_match_the_crds() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    # The vendored CRDs' release tags (tests/deploy/crds/sources.yaml).
    projects = yaml.safe_load((CRDS / "sources.yaml").read_text())["projects"]
    notes = chart["annotations"]
    for project in ("dapr", "keda", "strimzi"):
        tag = projects[project]["tag"].removeprefix("v")
        assert tag.startswith(f"{notes[f'taskwave.io/{project}-version']}."), project
    assert chart["kubeVersion"].startswith(">=")
    assert tuple(map(int, KUBE_VERSION.split(".")[:2])) >= (1, 29)


def test_both_kafka_modes_are_rendered() -> None:
    modes = {
        yaml.safe_load(p.read_text()).get("kafka", {}).get("mode", "strimzi")
        for p in VALUES_FILES.values()
        if p
    }
    assert modes == {"strimzi", "external"}


# The validators themselves: a wrong object must not pass.
def _broken(case: str, kind: str, mutate: Any) -> dict[str, Any]:
    doc = copy.deepcopy(render(case).of_kind(kind)[0])
    mutate(doc)
    return doc


@pytest.mark.parametrize(
    ("kind", "mutate"),
    [
        ("Deployment", lambda d: d["spec"]["template"]["spec"].update(containerz=[])),
        ("Deployment", lambda d: d["spec"].update(replicas="two")),
        ("Service", lambda d: d["spec"]["ports"][0].update(port="http")),
        ("KafkaTopic", lambda d: d["spec"].update(partitionz=3)),
        ("KafkaTopic", lambda d: d["spec"].update(partitions="six")),
        ("ScaledObject", lambda d: d["spec"].pop("triggers")),
        ("ScaledObject", lambda d: d["spec"]["triggers"][0].update(metadata={"lag": 5})),
        ("Component", lambda d: d["spec"].pop("type")),
        ("Subscription", lambda d: d["spec"].update(route="/old-v1alpha1-field")),
        ("KafkaNodePool", lambda d: d["spec"].update(roles=["zookeeper"])),
        ("Kafka", lambda d: d["spec"]["kafka"]["listeners"][0].pop("tls")),
    ],
)
def test_the_validators_reject_a_broken_object(kind: str, mutate: Any) -> None:
    assert errors(_broken("defaults", kind, mutate))


def test_the_values_schema_rejects_a_secret_value(helm: Path) -> None:
    out = run_helm(
        "template", "t", str(CHART), "--kube-version", KUBE_VERSION,
        "--set", "secrets.postgres.connectionString=postgresql://u:p@db/taskwave",
    )  # fmt: skip
    assert out.returncode != 0
    assert "additional properties" in out.stderr


def test_the_values_schema_is_valid_json_schema() -> None:
    schema = yaml.safe_load((CHART / "values.schema.json").read_text())
    jsonschema.validators.validator_for(schema).check_schema(schema)
    for path in VALUES_FILES.values():
        if path:
            # Each file alone is a partial overlay; merged with the defaults helm checks it.
            assert isinstance(yaml.safe_load(path.read_text()), dict)


@pytest.fixture(scope="session")
def notes_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the chart that renders NOTES.txt into a ConfigMap: `helm template` skips
    the notes and `helm install --dry-run` needs a cluster, so render them with `tpl`."""
    import shutil

    copy = tmp_path_factory.mktemp("notes") / "taskwave"
    shutil.copytree(CHART, copy)
    (copy / "NOTES.txt").write_text((copy / "templates" / "NOTES.txt").read_text())
    (copy / "templates" / "NOTES.txt").unlink()
    (copy / "templates" / "zz-notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n"
        '  notes: {{ tpl (.Files.Get "NOTES.txt") . | quote }}\n'
    )
    return copy


@pytest.mark.parametrize("case", list(VALUES_FILES))
def test_install_notes_render_and_name_what_must_exist(notes_chart: Path, case: str) -> None:
    out = run_helm(
        "template", "taskwave", str(notes_chart), "--namespace", "taskwave",
        "--kube-version", KUBE_VERSION, "--show-only", "templates/zz-notes.yaml",
        *helm_args(VALUES_FILES[case]),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    notes = yaml.safe_load(out.stdout)["data"]["notes"]
    docs = render(case)
    for secret in (
        "postgres",
        "jwt",
        "jwt-public",
        "taskwave-app-token",
        "taskwave-dapr-api-token",
    ):
        assert secret in notes
    if not docs.of_kind("Kafka"):  # external Kafka: the topics to create are listed
        from shared.topics import all_topics

        for topic in all_topics():
            assert f"  {topic}  partitions=" in notes, topic
        assert "kafka-sasl" in notes
    assert "helm rollback" in notes
