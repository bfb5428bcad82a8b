"""python -m deploy: install or upgrade taskwave and prove it is up.

  TAG=<commit sha> HOST=taskwave.example.com python -m deploy helm/taskwave/values-aks.yaml

In order, each step only if the one before passed:
  1. pre-flight (deploy/preflight.py): TAG is a full commit SHA, the release is not
     left pending-*, every Secret the rendered chart names exists; the revision a
     rollback would go back to is written to $GITHUB_OUTPUT as `previous=`;
  2. `helm upgrade --install --atomic --wait --timeout $HELM_TIMEOUT` (a failed
     upgrade rolls itself back); `upgraded=true` to $GITHUB_OUTPUT once it passed;
  3. the readiness checks (deploy/checks.py) until all pass or --wait-timeout;
  4. the smoke test (scripts/smoke.py) against --base-url.
It prints one line per problem on stderr, a summary table on stdout, and exits 1
when anything failed. `--no-upgrade` checks a live release without changing it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from deploy import checks, preflight
from deploy.checks import Finding
from deploy.expected import expected

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "helm" / "taskwave"
SMOKE = ROOT / "scripts" / "smoke.py"
# helm's bound on the upgrade; --atomic's rollback after a failed one may take as long
# again (.github/workflows/deploy-cluster.yml's step timeout allows for both).
HELM_TIMEOUT = "10m"
# The readiness checks after helm, all objects together.
WAIT_TIMEOUT = "5m"
# The smoke test: sign-in, a live WebSocket event, the audit log (scripts/smoke.py's
# own waits are 60 s and 180 s).
SMOKE_TIMEOUT = "6m"


def seconds(duration: str) -> float:
    """helm-style durations: 90s, 10m, 1h."""
    units = {"s": 1, "m": 60, "h": 3600}
    if not duration or duration[-1] not in units or not duration[:-1].isdigit():
        raise argparse.ArgumentTypeError(f"not a duration like 90s or 10m: {duration!r}")
    return float(int(duration[:-1]) * units[duration[-1]])


@dataclass
class Outcome:
    findings: list[Finding] = field(default_factory=list)

    def add(self, check: str, subject: str, ok: bool, detail: str) -> None:
        self.findings.append(Finding(check, subject, ok, detail))

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    def problems(self) -> list[str]:
        return [f"deploy: {f.check} {f.subject}: {f.detail}" for f in self.findings if not f.ok]

    def table(self) -> str:
        rows = [("CHECK", "OBJECT", "STATE", "DETAIL")] + [
            (f.check, f.subject, "ok" if f.ok else "FAILED", f.detail) for f in self.findings
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:3])) + "  " + r[3]
            for r in rows
        ]
        failed = sum(1 for f in self.findings if not f.ok)
        lines.append(f"{len(self.findings) - failed} ok, {failed} failed")
        return "\n".join(lines)


def github_output(key: str, value: str) -> None:
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a") as out:
            out.write(f"{key}={value}\n")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m deploy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("values", nargs="*", type=Path, help="values file(s) on top of the chart's")
    parser.add_argument("--tag", default=env("TAG", ""), help="image tag: a full commit SHA")
    parser.add_argument("--host", default=env("HOST", ""), help="the ingress host")
    parser.add_argument(
        "--owner",
        default=env("IMAGE_OWNER") or env("GITHUB_REPOSITORY_OWNER") or "taskwave",
        help="GHCR owner of the images (lower-cased)",
    )
    parser.add_argument("--release", default=env("RELEASE", "taskwave"))
    parser.add_argument("--namespace", default=env("NAMESPACE", "taskwave"))
    parser.add_argument("--helm", default=env("HELM", "helm"), help="the helm binary")
    parser.add_argument("--helm-timeout", default=env("HELM_TIMEOUT", HELM_TIMEOUT))
    parser.add_argument("--wait-timeout", default=env("WAIT_TIMEOUT", WAIT_TIMEOUT))
    parser.add_argument("--smoke-timeout", default=SMOKE_TIMEOUT)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between checks")
    parser.add_argument("--kubeconfig", default=env("KUBECONFIG"))
    parser.add_argument("--context")
    parser.add_argument("--allow-any-tag", action="store_true", default=env("ALLOW_ANY_TAG") == "1")
    parser.add_argument("--no-upgrade", action="store_true", help="check the live release only")
    parser.add_argument(
        "--base-url", help="smoke-test this URL (default https://HOST when HOST is set)"
    )
    parser.add_argument("--no-smoke", action="store_true")
    args = parser.parse_args(argv)
    for name in ("helm_timeout", "wait_timeout", "smoke_timeout"):
        seconds(getattr(args, name))  # fail on a malformed duration before anything runs
    if args.base_url is None and args.host and not args.no_smoke:
        args.base_url = f"https://{args.host}"
    return args


def helm_values(args: argparse.Namespace) -> list[str]:
    flags = ["--namespace", args.namespace]
    for path in args.values:
        flags += ["-f", str(path)]
    flags += ["--set", f"image.owner={args.owner.lower()}"]
    if args.tag:
        flags += ["--set", f"image.tag={args.tag}"]
    if args.host:
        flags += ["--set", f"ingress.host={args.host}"]
    return flags


def helm_global(args: argparse.Namespace) -> list[str]:
    flags = []
    if args.kubeconfig:
        flags += ["--kubeconfig", args.kubeconfig]
    if args.context:
        flags += ["--kube-context", args.context]
    return flags


def render(args: argparse.Namespace, kube_version: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [args.helm, "template", args.release, str(CHART), *helm_values(args),
         "--kube-version", kube_version],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    if out.returncode != 0:
        raise preflight.PreflightError(f"helm template failed: {out.stderr.strip()}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def stream(argv: list[str], prefix: str, timeout: float | None = None) -> int | None:
    """Run a child, its output line by line on stderr; None when `timeout` ended it."""
    proc = subprocess.Popen(
        argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    expired = threading.Event()

    def kill() -> None:
        expired.set()
        proc.kill()

    timer = threading.Timer(timeout, kill) if timeout else None
    if timer:
        timer.start()
    assert proc.stdout is not None
    for line in proc.stdout:
        print(
            f"[{prefix}] {line.rstrip()}" if prefix else line.rstrip(), file=sys.stderr, flush=True
        )
    code = proc.wait()
    if timer:
        timer.cancel()
    return None if expired.is_set() else code


def upgrade(args: argparse.Namespace) -> tuple[bool, str]:
    argv = [
        args.helm, "upgrade", "--install", args.release, str(CHART), *helm_values(args),
        *helm_global(args), "--atomic", "--wait", "--timeout", args.helm_timeout,
        "--history-max", "10",
    ]  # fmt: skip
    started = time.monotonic()
    # helm's own output goes to the log: it is what a person reads on failure.
    code = stream(argv, "helm")
    took = f"{time.monotonic() - started:.0f} s"
    if code != 0:
        return False, f"helm upgrade failed after {took} (exit {code}); --atomic rolled it back"
    return True, f"upgraded in {took}"


def smoke(args: argparse.Namespace) -> tuple[bool, str]:
    argv = [sys.executable, str(SMOKE), "--base-url", args.base_url]
    code = stream(argv, "", seconds(args.smoke_timeout))  # it prefixes its own lines
    if code is None:
        return False, f"no result within {args.smoke_timeout}"
    if code != 0:
        return False, f"failed against {args.base_url} (exit {code}; its log is above)"
    return True, f"passed against {args.base_url}"


def say(message: str) -> None:
    print(f"[deploy] {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace, api: client.ApiClient, outcome: Outcome) -> None:
    """Pre-flight on the cluster, upgrade, checks, smoke: stops at the first failed step."""
    apis = checks.Apis(api)
    kube = client.VersionApi(api).get_code().git_version
    say(f"cluster {api.configuration.host} runs Kubernetes {kube}")
    state = preflight.release_state(apis.core, args.namespace, args.release)
    try:
        preflight.check_not_pending(state, args.namespace, args.release)
    except preflight.PreflightError as exc:
        outcome.add("preflight", f"release/{args.release}", False, str(exc))
        return
    previous = "" if state.previous is None else str(state.previous)
    github_output("previous", previous)
    now = state.status or "not installed"
    outcome.add(
        "preflight", f"release/{args.release}", True, f"{now}; rollback to: {previous or 'none'}"
    )
    try:
        docs = render(args, kube)
    except preflight.PreflightError as exc:
        outcome.add("preflight", "chart", False, str(exc))
        return
    exp = expected(docs)
    missing = preflight.missing_secrets(apis.core, args.namespace, exp.secrets)
    if missing:
        outcome.add("preflight", f"namespace/{args.namespace}", False,
                    preflight.missing_secrets_message(args.namespace, missing))  # fmt: skip
        return
    outcome.add("preflight", "secrets", True, f"{len(exp.secrets)} present")
    if not args.no_upgrade:
        say(f"helm upgrade --install {args.release} (timeout {args.helm_timeout})")
        ok, detail = upgrade(args)
        outcome.add("helm", f"release/{args.release}", ok, detail)
        if not ok:
            return
        github_output("upgraded", "true")
    say(f"checking {len(exp.deployments)} Deployments, {len(exp.dapr)} Dapr resources, "
        f"{len(exp.scaled_objects)} ScaledObjects, {len(exp.kafkas) + len(exp.topics)} "
        f"Strimzi objects (up to {args.wait_timeout})")  # fmt: skip

    def progress(found: list[Finding]) -> None:
        waiting = [f"{f.subject} ({f.detail})" for f in found if not f.ok]
        more = " ..." if len(waiting) > 4 else ""
        say(f"waiting for {len(waiting)}: {', '.join(waiting[:4])}{more}")

    outcome.findings += checks.wait(
        apis, args.namespace, exp, seconds(args.wait_timeout), args.interval, progress
    )
    if not outcome.ok:
        return
    if args.base_url and not args.no_smoke:
        say(f"smoke test against {args.base_url}")
        ok, detail = smoke(args)
        outcome.add("smoke", args.base_url, ok, detail)
    else:
        why = "--no-smoke" if args.no_smoke else "no --base-url or HOST"
        outcome.add("smoke", "-", True, f"skipped ({why})")


def api_client(args: argparse.Namespace) -> client.ApiClient:
    api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=args.kubeconfig, context=args.context
    )
    return api


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    outcome = Outcome()
    try:
        # First, before any connection: the tag is what every image is pushed with.
        preflight.check_tag(args.tag, args.allow_any_tag)
        outcome.add("preflight", "tag", True, args.tag)
        try:
            api = api_client(args)
        except ConfigException as exc:
            outcome.add("preflight", "kubeconfig", False, f"no usable cluster context: {exc}")
        else:
            with api:
                run(args, api, outcome)
    except preflight.PreflightError as exc:
        outcome.add("preflight", "tag", False, str(exc))
    except (ApiException, HTTPError) as exc:
        # Unreachable API server or refused credentials: one line, not a traceback.
        reason = f"{exc.status} {exc.reason}" if isinstance(exc, ApiException) else str(exc)
        outcome.add("cluster", args.context or "current context", False, f"API error: {reason}")
    for line in outcome.problems():
        print(line, file=sys.stderr)
    print(outcome.table())
    return 0 if outcome.ok else 1
