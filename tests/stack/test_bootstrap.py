"""A missing prerequisite stops the stack with one line naming the fix, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest

from stack import bootstrap
from stack.config import ROOT, StackConfig, env_name, resolve_ports
from stack.errors import StackError


def test_missing_java_names_the_fix(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PATH": str(tmp_path),
        "TASKWAVE_RUN_DIR": str(tmp_path / "run"),
        "TASKWAVE_CACHE": str(tmp_path / "cache"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "stack", "up"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "taskwave: java not found: install Java 17+ (apt-get install openjdk-17-jre-headless)"
    ]
    assert "Traceback" not in result.stdout + result.stderr


def test_too_little_disk_names_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr("stack.bootstrap.shutil.disk_usage", lambda _: usage(10, 10, 50 * 1024**2))
    with pytest.raises(StackError, match="only 50 MiB free .* free at least 2 GiB"):
        bootstrap.check_disk(tmp_path)


def test_old_java_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("stack.bootstrap.shutil.which", lambda _b, path=None: "/usr/bin/java")
    done = subprocess.CompletedProcess([], 0, "", 'openjdk version "11.0.2" 2019-01-15\n')
    monkeypatch.setattr("stack.bootstrap.subprocess.run", lambda *a, **k: done)
    with pytest.raises(StackError, match="Kafka 4 needs Java 17"):
        bootstrap.ensure_java()


def test_a_taken_port_names_its_variable(tmp_path: Path) -> None:
    from stack.services import Stack

    config = StackConfig.for_tests(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", config.ports["kafka"]))
        taken.listen()
        stack = Stack(config, tools=None)  # type: ignore[arg-type]
        with pytest.raises(StackError) as err:
            stack._check_ports()
        stack.sup.stop_all()
    assert str(err.value) == (
        f"port {config.ports['kafka']} (kafka) is in use: stop what uses it "
        f"or set TASKWAVE_PORT_KAFKA=<free port>"
    )


def test_ports_are_overridable_and_free_ports_never_collide(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(env_name("todo-api.app"), "9999")
    ports = resolve_ports(free=False)
    assert ports["todo-api.app"] == 9999
    assert ports["kafka"] == 9092
    free = resolve_ports(free=True)
    assert free["todo-api.app"] == 9999
    assert len(set(free.values())) == len(free)
    monkeypatch.setenv(env_name("kafka"), "nine")
    with pytest.raises(StackError, match="TASKWAVE_PORT_KAFKA='nine' is not a port number"):
        resolve_ports(free=False)


def test_kube_apiserver_pins_every_k8s_module_to_its_release() -> None:
    """k8s.io/kubernetes replaces its staging modules with ./staging paths a dependent
    module cannot see: stack/go/kube-apiserver must pin each to the matching v0.x.y."""
    import re

    from stack.bootstrap import KUBE_SRC, kube_release

    release = kube_release()
    assert re.fullmatch(r"v1\.\d+\.\d+", release)
    staging = "v0." + release.removeprefix("v1.")
    go_mod = (KUBE_SRC / "go.mod").read_text()
    replaces = dict(re.findall(r"^\s*(k8s\.io/[\w-]+) => k8s\.io/[\w-]+ (v\S+)$", go_mod, re.M))
    assert len(replaces) >= 25
    assert set(replaces.values()) == {staging}
    # Every k8s.io module in the build graph that has a staging twin is among them.
    go_sum = (KUBE_SRC / "go.sum").read_text()
    used = set(re.findall(r"^(k8s\.io/[\w-]+) v0\.\d+\.\d+ ", go_sum, re.M))
    assert used <= set(replaces), used - set(replaces)


def test_existing_etcd_and_kube_apiserver_are_used_as_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from stack.bootstrap import ensure_kube_apiserver

    monkeypatch.setenv("TASKWAVE_ETCD", "/opt/etcd")
    monkeypatch.setenv("TASKWAVE_KUBE_APISERVER", "/opt/kube-apiserver")
    tools = ensure_kube_apiserver()
    assert (tools.etcd, tools.kube_apiserver) == ("/opt/etcd", "/opt/kube-apiserver")
