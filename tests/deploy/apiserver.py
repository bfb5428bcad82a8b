"""A real Kubernetes API server for the deployment tests: etcd plus kube-apiserver.

Both are built from their Go modules by the bootstrap (stack/bootstrap.py,
`ensure_kube_apiserver`) and cached in .cache/bin. They listen and advertise on
127.0.0.1 only, with certificates and service-account keys generated into a temp
dir. No controller manager, scheduler or kubelet runs: nothing ever creates a pod,
so the tests write the objects and status a controller would (tests/deploy/test_tool.py).

The apiserver's `kubernetes` Service endpoint reconciler is off (it would publish
the loopback address, which Endpoints reject), and every CRD installed here keeps
its upstream conversion settings; the only one with a webhook (Dapr's Subscription)
names a Service that does not exist here, so the server never dials anything.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from stack.bootstrap import KubeTools, ensure_kube_apiserver

HOST = "127.0.0.1"


class ApiServerError(RuntimeError):
    pass


@dataclass(frozen=True)
class ApiServer:
    url: str
    ca_file: Path
    client_cert: Path
    client_key: Path
    kubeconfig: Path
    version: str  # what the running server's /version reports, e.g. v1.37.2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certs(folder: Path) -> None:
    """A CA, the server's certificate for 127.0.0.1, a system:masters client, SA keys."""
    if shutil.which("openssl") is None:
        raise ApiServerError("openssl not found (apt-get install openssl)")
    days = "2"
    _openssl("genrsa", "-out", "ca.key", "2048", cwd=folder)
    _openssl(
        "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=taskwave-test-ca",
        "-days", days, "-out", "ca.crt", cwd=folder,
    )  # fmt: skip
    (folder / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
    )
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, subject in (
        ("server", "/CN=kube-apiserver"),
        ("client", "/O=system:masters/CN=test"),
    ):
        _openssl("genrsa", "-out", f"{name}.key", "2048", cwd=folder)
        _openssl("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr",
                 cwd=folder)  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", days, "-extfile", f"{name}.ext", "-out", f"{name}.crt",
            cwd=folder,
        )  # fmt: skip
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=folder)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=folder)


def _kubeconfig(folder: Path, url: str) -> Path:
    path = folder / "kubeconfig"
    ca, cert, key = (str(folder / name) for name in ("ca.crt", "client.crt", "client.key"))
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {{server: "{url}", certificate-authority: "{ca}"}}
users:
- name: test
  user: {{client-certificate: "{cert}", client-key: "{key}"}}
contexts:
- name: test
  context: {{cluster: test, user: test}}
current-context: test
"""
    )
    return path


class Processes:
    """etcd and kube-apiserver as child processes, logs in the temp dir, stopped in reverse."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder)
        log.close()
        self.procs.append((name, proc))
        return proc

    def log_tail(self, name: str, lines: int = 25) -> str:
        path = self.folder / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _wait_ready(url: str, ca: Path, cert: Path, key: Path, procs: Processes, timeout: float) -> str:
    """Wait for /readyz; return what /version reports (gitVersion)."""
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.load_cert_chain(str(cert), str(key))
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        for name, proc in procs.procs:
            if proc.poll() is not None:
                raise ApiServerError(f"{name} exited ({proc.returncode}):\n{procs.log_tail(name)}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", context=ctx, timeout=5) as resp:
                ready = resp.status == 200
            if ready:
                with urllib.request.urlopen(f"{url}/version", context=ctx, timeout=5) as resp:
                    version: str = json.load(resp)["gitVersion"]
                    return version
        except OSError as exc:
            last = str(exc)
        time.sleep(0.5)
    raise ApiServerError(
        f"kube-apiserver not ready in {timeout:.0f} s ({last}):\n{procs.log_tail('kube-apiserver')}"
    )


def start(
    folder: Path, tools: KubeTools | None = None, timeout: float = 180
) -> tuple[ApiServer, Processes]:
    """Start etcd and kube-apiserver on loopback ports; the caller stops the Processes."""
    tools = tools or ensure_kube_apiserver()
    make_certs(folder)
    client, peer, secure = _free_port(), _free_port(), _free_port()
    procs = Processes(folder)
    etcd_url = f"http://{HOST}:{client}"
    procs.start(
        "etcd",
        [
            tools.etcd,
            "--name", "test",
            "--data-dir", str(folder / "etcd"),
            "--listen-client-urls", etcd_url,
            "--advertise-client-urls", etcd_url,
            "--listen-peer-urls", f"http://{HOST}:{peer}",
            "--initial-advertise-peer-urls", f"http://{HOST}:{peer}",
            "--initial-cluster", f"test=http://{HOST}:{peer}",
            # Throw-away data: no fsync keeps a busy 2-core machine responsive.
            "--unsafe-no-fsync",
            "--log-level", "warn",
        ],
    )  # fmt: skip
    url = f"https://{HOST}:{secure}"
    ca, cert, key = folder / "ca.crt", folder / "client.crt", folder / "client.key"
    procs.start(
        "kube-apiserver",
        [
            tools.kube_apiserver,
            "--etcd-servers", etcd_url,
            "--bind-address", HOST,
            "--advertise-address", HOST,
            "--secure-port", str(secure),
            "--tls-cert-file", str(folder / "server.crt"),
            "--tls-private-key-file", str(folder / "server.key"),
            "--client-ca-file", str(ca),
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file", str(folder / "sa.pub"),
            "--service-account-signing-key-file", str(folder / "sa.key"),
            # Addresses are only allocated to Services here; nothing is ever sent to one.
            "--service-cluster-ip-range", "10.96.0.0/16",
            "--endpoint-reconciler-type", "none",
            "--authorization-mode", "RBAC",
            "--anonymous-auth=false",
            "--profiling=false",
            "--cert-dir", str(folder / "certs"),
        ],
    )  # fmt: skip
    try:
        version = _wait_ready(url, ca, cert, key, procs, timeout)
    except BaseException:
        procs.stop()
        raise
    return ApiServer(url, ca, cert, key, _kubeconfig(folder, url), version), procs


if __name__ == "__main__":  # python -m tests.deploy.apiserver: start one, print how to reach it
    import tempfile

    with tempfile.TemporaryDirectory(prefix="taskwave-apiserver-") as tmp:
        server, running = start(Path(tmp))
        print(f"{server.url} ({server.version}); KUBECONFIG={server.kubeconfig}; Ctrl-C stops")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            running.stop()
