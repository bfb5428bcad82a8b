"""The function images, checked without a Docker engine: one Dockerfile for all five,
the function named by a build argument; multi-stage on a pinned slim base, non-root, no
build tools or HEALTHCHECK in the final stage, the five sharing every layer; and the
dependencies they install are pinned."""

from __future__ import annotations

import ast
import json
import re
import shlex
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from stack.config import FUNCTIONS, ROOT
from tests.scripts import load_script

DOCKER = ROOT / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
ARG = "FUNCTION"
BASE = "python:3.11-slim-bookworm"
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|make|build-essential|apt-get|apk|git|curl|wget)\b")
# What the Dockerfile may use of BuildKit's variable expansion, and all this file models:
# $X, ${X}, ${X:?} (stop the build when X is unset or empty), ${X//from/to} (literal).
VARIABLE = re.compile(r"\$(?:(\w+)|\{(\w+)(?:(:\?)|//([^/}]*)/([^}]*))?\})")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def stages(text: str) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for ins in instructions(text):
        if ins[0] == "FROM":
            result.append([])
        result[-1].append(ins)
    return result


def expand(word: str, env: dict[str, str]) -> str:
    """The word as BuildKit expands it in LABEL and ENV, for the syntax VARIABLE allows."""
    if "$" in VARIABLE.sub("", word):
        raise AssertionError(f"expansion this test does not model: {word}")

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if match.group(3) and not env.get(name):
            raise LookupError(f"{name}: is not allowed to be unset")
        value = env.get(name, "")
        return value.replace(match.group(4), match.group(5)) if match.group(4) else value

    return VARIABLE.sub(one, word)


def pairs(args: str, env: dict[str, str]) -> dict[str, str]:
    """LABEL/ENV `key=value ...` arguments, quotes removed and values expanded."""
    return dict(
        (key, expand(value, env)) for key, _, value in (w.partition("=") for w in shlex.split(args))
    )


def final_stage(function: str | None) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """The last stage as `--build-arg FUNCTION=<function>` builds it: labels, env, CMD."""
    args = {ARG: function} if function is not None else {}
    labels: dict[str, str] = {}
    env: dict[str, str] = {}
    cmd: list[str] = []
    for ins, rest in stages(DOCKERFILE.read_text())[-1]:
        if ins == "LABEL":
            labels |= pairs(rest, args | env)
        elif ins == "ENV":
            env |= pairs(rest, args | env)
        elif ins == "CMD":
            cmd = json.loads(rest)
    return labels, env, cmd


def command(function: str) -> list[str]:
    """What the container runs: the CMD, through its `sh -c` with the image's ENV."""
    _, env, cmd = final_stage(function)
    if cmd[:2] == ["/bin/sh", "-c"]:
        script = re.sub(r"\$(\w+)", lambda m: env[m.group(1)], cmd[2])
        words = shlex.split(script)
        assert words[0] == "exec", "the shell must hand PID 1 to python"
        return words[1:]
    return cmd


def test_one_dockerfile_builds_every_function() -> None:
    assert sorted(p.name for p in DOCKER.iterdir() if "Dockerfile" in p.name) == ["Dockerfile"]


def test_only_the_last_stage_reads_the_function_and_it_adds_no_layer() -> None:
    # So every layer is the same in the five images: built, stored and pulled once.
    text = DOCKERFILE.read_text()
    assert instructions(text)[0][0] == "FROM"  # no global ARG
    *shared, last = stages(text)
    assert all(ARG not in args for stage in shared for _, args in stage)
    assert ("ARG", ARG) in last
    assert {ins for ins, _ in last} <= {"FROM", "ARG", "LABEL", "ENV", "EXPOSE", "CMD"}


def test_a_build_without_the_function_stops() -> None:
    with pytest.raises(LookupError, match=ARG):
        final_stage(None)
    with pytest.raises(LookupError, match=ARG):
        final_stage("")


def test_the_model_of_the_expansion_refuses_what_it_does_not_know() -> None:
    assert expand("taskwave-${FUNCTION:?}", {"FUNCTION": "todo-api"}) == "taskwave-todo-api"
    assert expand("functions.${FUNCTION//-/_}", {"FUNCTION": "todo-api"}) == "functions.todo_api"
    with pytest.raises(AssertionError):
        expand("${FUNCTION:-audit}", {})


@pytest.mark.parametrize("app", list(FUNCTIONS))
def test_each_function_gets_its_entrypoint_name_and_ports(app: str) -> None:
    labels, env, _ = final_stage(app)
    module = FUNCTIONS[app]
    assert command(app) == ["python", "-m", module]
    assert (ROOT / module.replace(".", "/") / "__main__.py").is_file()
    assert env["APP_ID"] == app
    assert env["APP_PORT"] == "8000"
    assert labels["org.opencontainers.image.title"] == f"taskwave-{app}"
    assert app in labels["org.opencontainers.image.description"]
    last = stages(DOCKERFILE.read_text())[-1]
    assert ("EXPOSE", "8000") in last
    assert ("EXPOSE", "9464") in last


def test_dockerfile_is_multi_stage_slim_pinned_and_non_root() -> None:
    all_stages = stages(DOCKERFILE.read_text())
    assert len(all_stages) >= 2, "not multi-stage"
    froms = [s[0][1] for s in all_stages]
    for image in froms:
        ref = image.split()[0]
        assert ref in {"build", "runtime"} or ref.startswith(BASE), ref
        assert ":latest" not in ref
    final = all_stages[-1]
    chain = {s[0][1].split()[-1]: s for s in all_stages if " AS " in s[0][1].upper()}
    # The final stage and what it builds on: no build tools, a numeric non-root user.
    inherited = chain.get(final[0][1].split()[0], [])
    effective = inherited + final
    users = [args for ins, args in effective if ins == "USER"]
    assert users
    assert users[-1].split(":")[0].isdigit()
    assert users[-1].split(":")[0] != "0"
    for ins, args in effective:
        assert ins != "HEALTHCHECK", "Kubernetes probes the app; no HEALTHCHECK"
        if ins == "RUN":
            assert not BUILD_TOOLS.search(args), f"build tool in the final image: {args}"
            assert "pip install" not in args
    copies = [args for ins, args in effective if ins == "COPY"]
    assert copies
    assert all(c.startswith("--from=build") for c in copies)


def test_the_images_carry_every_package_the_functions_import() -> None:
    text = DOCKERFILE.read_text()
    copied = set(re.findall(r"^COPY (\w+)/ /app/", text, re.M))
    first_party = {"shared", "functions", "stack", "tests"}
    imported: set[str] = set()
    for folder in ("shared", "functions"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    imported.add(node.module.split(".")[0])
                elif isinstance(node, ast.Import):
                    imported |= {a.name.split(".")[0] for a in node.names}
    assert imported & first_party <= copied, "the functions import a package the image lacks"


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert lines[[i for i, x in enumerate(lines) if x and not x.startswith("#")][0]] == "*"
    allowed = {x[1:].rstrip("/") for x in lines if x.startswith("!")}
    assert allowed == {"docker/requirements.txt", "shared", "functions"}
    text = DOCKERFILE.read_text()
    for src in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
        for item in src.split():
            assert item.rstrip("/") in allowed, item


def _closure(requirements: list[str]) -> set[str]:
    """Distribution names the requirements pull in, from the installed .venv metadata."""
    seen: set[str] = set()
    # By name and extras: uvicorn (from mcp) and uvicorn[standard] pull in different sets.
    visited: set[tuple[str, frozenset[str]]] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        name = req.name.lower().replace("_", "-")
        if (name, frozenset(req.extras)) in visited:
            continue
        visited.add((name, frozenset(req.extras)))
        seen.add(name)
        dist = metadata.distribution(req.name)
        for sub in dist.requires or []:
            sub_req = Requirement(sub)
            extras = req.extras or {""}
            if sub_req.marker is None or any(sub_req.marker.evaluate({"extra": e}) for e in extras):
                todo.append(sub_req)
    return seen


def test_every_runtime_dependency_is_pinned_in_the_lock() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = {
        line.split("==")[0].strip().lower().replace("_", "-")
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line
    }
    missing = _closure(project["dependencies"]) - lock
    assert missing == set(), f"runtime dependencies not pinned in requirements.lock: {missing}"


def test_the_images_install_exactly_the_locked_closure_with_hashes() -> None:
    script = load_script("hash_requirements")
    assert script.problems() == []
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = script.pinned()
    # The whole runtime closure and nothing else, every pin with a hash.
    assert set(pins) == _closure(project["dependencies"])
    assert all(len(hashes) >= 1 for _, hashes in pins.values())
    text = DOCKERFILE.read_text()
    assert "pip install --require-hashes --no-deps --only-binary=:all: -r requirements.txt" in text
    assert "COPY docker/requirements.txt ./" in text


def test_the_hash_check_catches_a_drifted_pin(tmp_path: Path) -> None:
    script = load_script("hash_requirements")
    drifted = tmp_path / "requirements.txt"
    text = (ROOT / "docker" / "requirements.txt").read_text()
    # At a line start: "sse-starlette==" holds the same text.
    drifted.write_text(text.replace("\nstarlette==", "\nstarlette==0.0.1.dev0+", 1))
    assert any(p.startswith("starlette==0.0.1") for p in script.problems(drifted))


def test_paths_in_the_dockerfile_exist() -> None:
    for src in re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE.read_text(), re.M):
        for item in src.split():
            assert (ROOT / item).exists(), item
