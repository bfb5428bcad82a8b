"""Checks before the release is touched: each fails in seconds, not after helm's timeout.

  * the image tag is a full 40-hex commit SHA (what images.yml tags every image with);
  * the release is not stuck pending-* from an interrupted run (every later upgrade
    would be refused until someone decides);
  * every Secret the rendered chart names exists in the namespace.

The release's state is read from helm's own storage (Secrets of type
helm.sh/release.v1, labelled owner=helm), through the Kubernetes API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubernetes import client

SHA = re.compile(r"[0-9a-f]{40}")
PENDING = ("pending-install", "pending-upgrade", "pending-rollback")
LIVE = ("deployed", "superseded")


class PreflightError(Exception):
    """A check that stops the deploy before anything changes; the message says what to do."""


def check_tag(tag: str, allow_any: bool = False) -> None:
    if not SHA.fullmatch(tag) and not allow_any:
        raise PreflightError(
            f"TAG={tag} is not a 40-hex commit SHA (images.yml tags every image with the "
            "full SHA; --allow-any-tag to override)"
        )


@dataclass(frozen=True)
class Release:
    status: str  # of the newest revision; "" when there is no release yet
    revision: int | None  # the newest revision
    previous: int | None  # the newest deployed or superseded: what a rollback goes back to


def release_state(core: client.CoreV1Api, namespace: str, release: str) -> Release:
    secrets = core.list_namespaced_secret(
        namespace, label_selector=f"owner=helm,name={release}"
    ).items
    revisions: dict[int, str] = {}
    for secret in secrets:
        labels = (secret.metadata.labels if secret.metadata else None) or {}
        if secret.type == "helm.sh/release.v1" and labels.get("version", "").isdigit():
            revisions[int(labels["version"])] = labels.get("status", "")
    if not revisions:
        return Release("", None, None)
    newest = max(revisions)
    live = [r for r, status in revisions.items() if status in LIVE]
    return Release(revisions[newest], newest, max(live) if live else None)


def check_not_pending(state: Release, namespace: str, release: str) -> None:
    if state.status in PENDING:
        raise PreflightError(
            f"release {release} is {state.status} (an earlier run was interrupted): inspect with "
            f"`helm history {release} -n {namespace}`, then roll back to the last deployed "
            f"revision (`helm rollback {release} <revision> -n {namespace} --wait`) or, after a "
            f"failed first install, `helm uninstall {release} -n {namespace}`; then deploy again"
        )


def missing_secrets(core: client.CoreV1Api, namespace: str, names: tuple[str, ...]) -> list[str]:
    present = {s.metadata.name for s in core.list_namespaced_secret(namespace).items if s.metadata}
    return [name for name in names if name not in present]


def missing_secrets_message(namespace: str, missing: list[str]) -> str:
    message = (
        f"missing Secret(s) in namespace {namespace}: {' '.join(missing)}; create them first "
        "(docs/deployment.md, 'Secrets in the cluster')"
    )
    if "ghcr-pull" in missing:
        message += (
            f"; the image pull secret: kubectl -n {namespace} create secret docker-registry "
            "ghcr-pull --docker-server=ghcr.io --docker-username=<user> "
            "--docker-password=<token with read:packages>"
        )
    return message
