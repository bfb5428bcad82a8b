"""docs/ follows the code: the event catalogue is regenerated and compared, the Mermaid
diagrams name only real functions, topics and components (and all of them), and the
guides name the values files, workflow settings, alerts and folders that exist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shared.events import EVENT_TYPES
from shared.topics import all_topics
from stack.config import FUNCTIONS, ROOT
from tests.scripts import load_script

DOCS = ROOT / "docs"
ARCHITECTURE = DOCS / "architecture.md"
# Participants of the sequence diagrams that are not code names.
EXTERNAL = {"Client", "Ingress", "PostgreSQL", "Dapr scheduler", "Kafka"}
FLOWS = {"create", "complete-recurring", "reminder", "reconnect"}
NODE = re.compile(r"\b(fn|sc|topic|comp)_\w+\s*(?:\[\[|\[\(|\(\[|\(\(|\[|\(|\{\{|\{)\"([^\"]+)\"")
PARTICIPANT = re.compile(r"^\s*(?:participant|actor)\s+\w+\s+as\s+(.+?)\s*$", re.M)


def components() -> set[str]:
    return {
        d["metadata"]["name"]
        for p in (ROOT / "dapr" / "components").glob("*.yaml")
        for d in yaml.safe_load_all(p.read_text())
        if d
    }


def topics() -> set[str]:
    return set(all_topics())


def mermaid_blocks(path: Path) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", path.read_text(), re.S)


def _label(text: str) -> str:
    text = text.replace("&lt;", "<").replace("&gt;", ">")
    return re.split(r" · |<br/?>", text)[0].strip()


def test_event_catalogue_is_generated_from_the_schema_module() -> None:
    expected = load_script("event_catalogue").render()
    assert (DOCS / "events.md").read_text() == expected, (
        "docs/events.md is stale: run python scripts/event_catalogue.py"
    )
    for name in EVENT_TYPES:
        assert f"### `{name}`" in expected
    for topic in all_topics():
        assert f"| `{topic}` |" in expected


def test_the_catalogue_check_mode_agrees() -> None:
    out = subprocess.run(
        [sys.executable, "scripts/event_catalogue.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout


def test_flowchart_names_every_function_topic_and_component_and_nothing_else() -> None:
    flowcharts = [b for b in mermaid_blocks(ARCHITECTURE) if b.lstrip().startswith("flowchart")]
    assert flowcharts
    found: dict[str, set[str]] = {"fn": set(), "sc": set(), "topic": set(), "comp": set()}
    for block in flowcharts:
        for kind, label in NODE.findall(block):
            found[kind].add(_label(label))
    assert found["fn"] == set(FUNCTIONS)
    assert found["sc"] == {f"{fn} sidecar" for fn in FUNCTIONS}
    assert found["topic"] == topics()
    assert found["comp"] == components()


def test_sequence_diagrams_cover_the_main_flows_with_real_names() -> None:
    sequences = [b for b in mermaid_blocks(ARCHITECTURE) if "sequenceDiagram" in b]
    flows = {m for b in sequences for m in re.findall(r"%% flow: ([\w-]+)", b)}
    assert flows == FLOWS
    allowed = (
        set(FUNCTIONS)
        | {f"{fn} sidecar" for fn in FUNCTIONS}
        | topics()
        | {f"{t} topic" for t in topics()}
        | components()
        | EXTERNAL
    )
    for block in sequences:
        participants = set(PARTICIPANT.findall(block))
        assert participants, block[:60]
        assert participants <= allowed, participants - allowed
        for event_type in re.findall(r"\b(?:task|reminder)\.[a-z]+\b", block):
            assert event_type in EVENT_TYPES, event_type


def test_the_name_checks_catch_a_wrong_name() -> None:
    block = 'flowchart LR\n  fn_x["todo-apii"]\n  topic_y[["task-event"]]'
    labels = {_label(label) for _, label in NODE.findall(block)}
    assert labels == {"todo-apii", "task-event"}
    assert not labels & (set(FUNCTIONS) | topics())


def test_component_reference_lists_every_component() -> None:
    text = (DOCS / "dapr-components.md").read_text()
    for name in components():
        assert f"| `{name}` |" in text, name
    for kind in ("pubsub.kafka", "state.postgresql", "secretstores.kubernetes"):
        assert kind in text


def tracked_top_level() -> set[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    files = out.stdout.split() if out.returncode == 0 else []
    return {f.split("/")[0] for f in files if "/" in f and not f.startswith(".")}


def test_folder_map_covers_the_tree_and_names_real_paths() -> None:
    text = (DOCS / "folder-map.md").read_text()
    mapped = set(re.findall(r"^\| `([^`]+)` \|", text, re.M))
    for folder in tracked_top_level() - {"taskwave.egg-info"}:
        assert f"{folder}/" in mapped, f"{folder}/ is missing from docs/folder-map.md"
    for path in mapped:
        assert (ROOT / path).exists(), path


LONG = 300


def long_modules(root: Path) -> list[str]:
    """Non-test Python modules over LONG lines, as repository paths."""
    found = []
    for top in ("functions", "shared", "stack", "deploy", "loadtest", "scripts"):
        for path in sorted((root / top).rglob("*.py")):
            name = path.relative_to(root).as_posix()
            if len(path.read_text().splitlines()) > LONG:
                found.append(name)
    return found


def test_every_long_module_says_why_it_is_one_concept() -> None:
    section = (DOCS / "folder-map.md").read_text().split("## Long modules", 1)[-1]
    named = set(re.findall(r"^\| `([^`]+)` \|", section, re.M))
    assert [m for m in long_modules(ROOT) if m not in named] == []


def test_the_long_module_rule_sees_one(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "big.py").write_text("x = 1\n" * (LONG + 1))
    (tmp_path / "shared" / "small.py").write_text("x = 1\n" * LONG)
    assert long_modules(tmp_path) == ["shared/big.py"]


def test_deployment_guide_names_every_values_file_and_workflow_setting() -> None:
    text = (DOCS / "deployment.md").read_text()
    for values in sorted((ROOT / "helm" / "taskwave").glob("values*.yaml")):
        assert f"helm/taskwave/{values.name}" in text, values.name
    for word in ("helm upgrade", "helm rollback", "required reviewers", "minikube"):
        assert word in text
    workflow = (ROOT / ".github" / "workflows" / "deploy-cluster.yml").read_text()
    for name in set(re.findall(r"\$\{\{ (?:vars|secrets)\.(\w+) \}\}", workflow)):
        assert name in text, f"{name} (deploy-cluster.yml) is not documented"


def test_monitoring_guide_names_every_alert_and_scrape_job() -> None:
    text = (DOCS / "monitoring.md").read_text()
    alerts = yaml.safe_load((ROOT / "observability/prometheus/alerts.yaml").read_text())
    for rule in (r for g in alerts["groups"] for r in g["rules"]):
        assert f"`{rule['alert']}`" in text, rule["alert"]
    prom = yaml.safe_load((ROOT / "observability/prometheus/prometheus.yml").read_text())
    for job in prom["scrape_configs"]:
        assert f"`{job['job_name']}`" in text, job["job_name"]


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
        # "/x" is from the repository's root, as GitHub renders it
        path = ROOT / target.lstrip("/") if target.startswith("/") else page.parent / target
        assert path.exists(), f"{page.name}: {target}"
