"""Install what the stack needs and is missing, once; later runs find it cached.

Kafka jars come from Maven Central into .cache/kafka/lib; daprd and the Dapr
scheduler are built from the pinned Dapr Go module into .cache/bin (unless a
user-installed pair is on PATH or in ~/.dapr/bin), and so is Jaeger v2 (the trace
backend) from its Go module; PostgreSQL comes from Debian.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
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
