"""Install what the stack needs and is missing, once; later runs find it cached.

Kafka jars come from Maven Central into .cache/kafka/lib; daprd and the Dapr
scheduler are built from the pinned Dapr Go module into .cache/bin (unless a
user-installed pair is on PATH or in ~/.dapr/bin), and so is Jaeger v2 (the trace
backend) from its Go module; PostgreSQL comes from Debian. For the tests only, etcd
and kube-apiserver are built from stack/go/kube-apiserver into .cache/bin
(tests/deploy/apiserver.py runs them; `up` never needs them).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from stack.config import CACHE, DAPR_VERSION, JAEGER_VERSION, KAFKA_VERSION, ROOT
from stack.errors import StackError
from stack.steps import run_step

MIN_FREE_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class Tools:
    java: str
    kafka_lib: Path
    daprd: str
    scheduler: str
    pg_bin: Path
    jaeger: str


def say(message: str) -> None:
    print(f"[bootstrap] {message}", file=sys.stderr, flush=True)


def _need(binary: str, fix: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise StackError(f"{binary} not found: {fix}")
    return path


def check_disk(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path).free
    if free < MIN_FREE_BYTES:
        raise StackError(
            f"only {free // 1024**2} MiB free under {path}: free at least 2 GiB "
            "(or point TASKWAVE_CACHE / TASKWAVE_RUN_DIR at a bigger disk)"
        )


def ensure_java() -> str:
    java = _need("java", "install Java 17+ (apt-get install openjdk-17-jre-headless)")
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)', out)
    if match is None or int(match.group(1)) < 17:
        raise StackError(f"Kafka 4 needs Java 17+, found: {out.splitlines()[0] if out else '?'}")
    return java


def ensure_kafka() -> Path:
    lib = CACHE / "kafka" / "lib"
    if (lib / f"kafka_2.13-{KAFKA_VERSION}.jar").exists():
        return lib
    mvn = _need("mvn", "install Maven (apt-get install maven) to fetch Kafka from Maven Central")
    say(f"fetching Apache Kafka {KAFKA_VERSION} and its dependencies from Maven Central")
    run_step(
        "maven",
        [
            mvn,
            "-B",
            "-f",
            str(ROOT / "stack/kafka/pom.xml"),
            f"-Dlibdir={lib}",
            "dependency:copy-dependencies",
        ],
    )
    return lib


def _dapr_version(binary: str) -> str:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip()


def _build_stamp(module: str = "daprd", files: tuple[str, ...] = ("main.go", "tools.go")) -> str:
    src = ROOT / "stack/go" / module
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum", *files):
        digest.update((src / name).read_bytes())
    return digest.hexdigest()[:16]


def ensure_dapr() -> tuple[str, str]:
    """daprd and scheduler: TASKWAVE_DAPRD/_SCHEDULER, PATH, ~/.dapr/bin, else built here."""
    explicit = os.environ.get("TASKWAVE_DAPRD"), os.environ.get("TASKWAVE_SCHEDULER")
    if all(explicit):
        return explicit[0] or "", explicit[1] or ""
    for folder in (None, Path.home() / ".dapr" / "bin"):
        found = shutil.which("daprd", path=str(folder) if folder else None)
        found_scheduler = shutil.which("scheduler", path=str(folder) if folder else None)
        if found and found_scheduler and _dapr_version(found).startswith("1.18"):
            return found, found_scheduler
    out = CACHE / "bin"
    stamp = out / ".stamp"
    daprd, scheduler = out / "daprd", out / "scheduler"
    if (
        daprd.exists()
        and scheduler.exists()
        and stamp.exists()
        and stamp.read_text() == _build_stamp()
    ):
        return str(daprd), str(scheduler)
    go = _need("go", "install Go 1.22+ (it fetches the toolchain the Dapr module needs)")
    say(
        f"building daprd and the scheduler {DAPR_VERSION} from the Dapr Go module "
        "(first time only: a few minutes on 2 cores)"
    )
    out.mkdir(parents=True, exist_ok=True)
    ldflags = f"-s -w -X github.com/dapr/dapr/pkg/buildinfo.version={DAPR_VERSION}"
    env = {"CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false"}
    src = ROOT / "stack/go/daprd"
    for target, pkg in ((daprd, "."), (scheduler, "github.com/dapr/dapr/cmd/scheduler")):
        run_step(
            f"go build {target.name}",
            [go, "build", "-v", "-trimpath", "-ldflags", ldflags, "-o", str(target), pkg],
            cwd=src,
            env=env,
        )
    stamp.write_text(_build_stamp())
    return str(daprd), str(scheduler)


def ensure_jaeger() -> str:
    """Jaeger v2 (`cmd/jaeger`): TASKWAVE_JAEGER, else built from stack/go/jaeger.

    `go install github.com/jaegertracing/jaeger/cmd/jaeger@<version>` is refused
    (Jaeger's go.mod has a replace directive), so a wrapper module pins it as a tool.
    """
    explicit = os.environ.get("TASKWAVE_JAEGER")
    if explicit:
        return explicit
    out = CACHE / "bin"
    binary, stamp = out / "jaeger", out / ".jaeger.stamp"
    expected = _build_stamp("jaeger", ())
    if binary.exists() and stamp.exists() and stamp.read_text() == expected:
        return str(binary)
    go = _need("go", "install Go 1.22+ (it fetches the toolchain the Jaeger module needs)")
    say(
        f"building Jaeger {JAEGER_VERSION} (trace backend) from its Go module "
        "(first time only: a few minutes on 2 cores)"
    )
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".jaeger.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another stack may be building it right now
        if not (binary.exists() and stamp.exists() and stamp.read_text() == expected):
            _build_jaeger(go, binary)
            stamp.write_text(expected)
    return str(binary)


def _build_jaeger(go: str, binary: Path) -> None:
    partial = binary.with_name(".jaeger.build")
    run_step(
        "go build jaeger",
        [
            go,
            "build",
            "-v",
            "-trimpath",
            "-ldflags",
            "-s -w",
            "-o",
            str(partial),
            "github.com/jaegertracing/jaeger/cmd/jaeger",
        ],
        cwd=ROOT / "stack/go/jaeger",
        env={"CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false"},
    )
    partial.replace(binary)  # never a half-written binary under the final name


@dataclass(frozen=True)
class KubeTools:
    etcd: str
    kube_apiserver: str
    version: str  # the k8s.io/kubernetes release both were built for


KUBE_SRC = ROOT / "stack/go/kube-apiserver"


def kube_release() -> str:
    """The k8s.io/kubernetes version stack/go/kube-apiserver/go.mod requires."""
    match = re.search(r"^\s*k8s\.io/kubernetes (v\S+)$", (KUBE_SRC / "go.mod").read_text(), re.M)
    if match is None:
        raise StackError(f"{KUBE_SRC / 'go.mod'} does not require k8s.io/kubernetes")
    return match.group(1)


def _kube_stamp() -> str:
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum", "tools.go"):
        digest.update((KUBE_SRC / name).read_bytes())
    return digest.hexdigest()[:16]


def ensure_kube_apiserver() -> KubeTools:
    """etcd and kube-apiserver built from the Go module proxy into .cache/bin, once.

    TASKWAVE_ETCD / TASKWAVE_KUBE_APISERVER point at existing binaries instead. A
    second caller (another test run) waits on a lock instead of building twice.
    """
    version = kube_release()
    explicit = os.environ.get("TASKWAVE_ETCD"), os.environ.get("TASKWAVE_KUBE_APISERVER")
    if explicit[0] and explicit[1]:
        return KubeTools(explicit[0], explicit[1], version)
    out = CACHE / "bin"
    etcd, apiserver = out / "etcd", out / "kube-apiserver"
    stamp = out / ".kube-apiserver.stamp"

    def cached() -> bool:
        return (
            etcd.exists()
            and apiserver.exists()
            and stamp.exists()
            and stamp.read_text() == _kube_stamp()
        )

    if cached():
        return KubeTools(str(etcd), str(apiserver), version)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".kube-apiserver.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cached():
            _build_kube(etcd, apiserver, version)
            stamp.write_text(_kube_stamp())
    return KubeTools(str(etcd), str(apiserver), version)


def _build_kube(etcd: Path, apiserver: Path, version: str) -> None:
    go = _need("go", "install Go 1.22+ (it fetches the toolchain the modules need)")
    check_disk(CACHE)
    say(
        f"building etcd and kube-apiserver {version} from their Go modules for the "
        "deployment tests (first time only: about half an hour on 2 cores)"
    )
    # The version the API server reports (/version) and checks its emulation
    # version against; without it a module build says v0.0.0-master.
    major, minor = version.lstrip("v").split(".")[:2]
    base = "k8s.io/component-base/version"
    kube_ldflags = (
        f"-s -w -X {base}.gitVersion={version} -X {base}.gitMajor={major} "
        f"-X {base}.gitMinor={minor} -X {base}.gitTreeState=clean"
    )
    env = {"CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false"}
    for target, pkg, ldflags in (
        (etcd, "go.etcd.io/etcd/server/v3", "-s -w"),
        (apiserver, "k8s.io/kubernetes/cmd/kube-apiserver", kube_ldflags),
    ):
        partial = target.with_name(f".{target.name}.partial")
        started = time.monotonic()
        run_step(
            f"go build {target.name}",
            [go, "build", "-trimpath", "-ldflags", ldflags, "-o", str(partial), pkg],
            cwd=KUBE_SRC,
            env=env,
        )
        partial.replace(target)
        say(f"built {target} in {time.monotonic() - started:.0f} s")


def _pg_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "postgres").exists() and (candidate / "initdb").exists():
            return candidate
    found = shutil.which("postgres")
    return Path(found).resolve().parent if found else None


def ensure_postgres() -> Path:
    found = _pg_bin()
    if found is not None:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise StackError(
            "PostgreSQL server not found: install it (sudo apt-get install postgresql)"
        )
    say("installing PostgreSQL from Debian packages")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    run_step("apt-get", ["apt-get", "update"], env=env)
    run_step(
        "apt-get", ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"], env=env
    )
    found = _pg_bin()
    if found is None:
        raise StackError(
            "PostgreSQL installed but no server binary found under /usr/lib/postgresql"
        )
    return found


def ensure_all() -> Tools:
    check_disk(CACHE)
    java = ensure_java()
    pg_bin = ensure_postgres()
    kafka_lib = ensure_kafka()
    daprd, scheduler = ensure_dapr()
    jaeger = ensure_jaeger()
    return Tools(
        java=java,
        kafka_lib=kafka_lib,
        daprd=daprd,
        scheduler=scheduler,
        pg_bin=pg_bin,
        jaeger=jaeger,
    )
