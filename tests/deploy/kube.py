"""The chart applied to the real API server with the `kubernetes` client, as helm would.

Server-side apply (application/apply-patch+yaml) of every rendered object, first with
dryRun=All (admission, defaulting and validation, CEL rules included, without
storing anything), then for real. An upgrade emulates helm: hook objects with the
before-hook-creation policy are deleted first (a Job's template is immutable), and
objects the new rendering no longer has are deleted afterwards.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError

FIELD_MANAGER = "taskwave-tests"
CRD_DIR = Path(__file__).resolve().parent / "crds"

Doc = dict[str, Any]


def dynamic(api: client.ApiClient, cache: Path) -> DynamicClient:
    # A discovery cache of its own: CRDs installed in this session must be seen.
    return DynamicClient(api, cache_file=str(cache))  # type: ignore[no-untyped-call]


def install_crds(api: client.ApiClient, timeout: float = 60) -> list[str]:
    """Create every vendored CRD (tests/deploy/crds) and wait until each is Established."""
    ext = client.ApiextensionsV1Api(api)
    names = []
    for path in sorted(CRD_DIR.glob("*/*.yaml")):
        crd = yaml.safe_load(path.read_text())
        try:
            ext.create_custom_resource_definition(crd)
        except ApiException as exc:
            if exc.status != 409:  # already there from an earlier test of this session
                raise AssertionError(f"{path.name}: {exc.status} {exc.body}") from exc
        names.append(crd["metadata"]["name"])
    deadline = time.monotonic() + timeout
    for name in names:
        while True:
            crd = ext.read_custom_resource_definition(name)
            assert crd.status is not None
            conditions = {c.type: c.status for c in (crd.status.conditions or [])}
            if conditions.get("Established") == "True":
                break
            assert time.monotonic() < deadline, f"CRD {name} not Established: {conditions}"
            time.sleep(0.2)
    return names


def ensure_namespace(api: client.ApiClient, name: str) -> None:
    try:
        client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata={"name": name}))
    except ApiException as exc:
        if exc.status != 409:
            raise


def create_secrets(api: client.ApiClient, namespace: str, names: tuple[str, ...]) -> None:
    core = client.CoreV1Api(api)
    for name in names:
        body = client.V1Secret(
            metadata=client.V1ObjectMeta(name=name), string_data={"token": "test-" + name}
        )
        try:
            core.create_namespaced_secret(namespace, body)
        except ApiException as exc:
            if exc.status != 409:
                raise


def _resource(dyn: DynamicClient, doc: Doc) -> Any:
    return dyn.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])


def apply(dyn: DynamicClient, doc: Doc, namespace: str, dry_run: bool = False) -> Doc:
    """Server-side apply one object; raise AssertionError with the server's reason."""
    resource = _resource(dyn, doc)
    kwargs: dict[str, Any] = {"field_manager": FIELD_MANAGER, "force_conflicts": True}
    if dry_run:
        kwargs["dry_run"] = "All"
    try:
        result = dyn.server_side_apply(  # type: ignore[no-untyped-call]
            resource, body=doc, namespace=namespace if resource.namespaced else None, **kwargs
        )
    except ApiException as exc:
        what = f"{doc['kind']}/{doc['metadata']['name']}"
        mode = "dry run" if dry_run else "apply"
        raise AssertionError(f"{what} refused ({mode}): {exc.body}") from None
    applied: Doc = result.to_dict()
    return applied


def _is_recreated_hook(doc: Doc) -> bool:
    annotations = doc["metadata"].get("annotations") or {}
    policy = annotations.get("helm.sh/hook-delete-policy", "")
    return "helm.sh/hook" in annotations and "before-hook-creation" in policy


def delete(dyn: DynamicClient, doc: Doc, namespace: str) -> None:
    resource = _resource(dyn, doc)
    with contextlib.suppress(NotFoundError):
        resource.delete(
            name=doc["metadata"]["name"],
            namespace=namespace if resource.namespaced else None,
            body={"propagationPolicy": "Background"},
        )


def key(doc: Doc) -> tuple[str, str, str]:
    return doc["apiVersion"], doc["kind"], doc["metadata"]["name"]


def apply_release(
    dyn: DynamicClient, docs: list[Doc], namespace: str, previous: list[Doc] | None = None
) -> list[Doc]:
    """Dry-run every object, then apply them all (deleting what `previous` had extra)."""
    for doc in docs:
        apply(dyn, doc, namespace, dry_run=True)
    applied = []
    for doc in docs:
        if previous is not None and _is_recreated_hook(doc):
            delete(dyn, doc, namespace)
        applied.append(apply(dyn, doc, namespace))
    if previous is not None:
        kept = {key(d) for d in docs}
        for doc in previous:
            if key(doc) not in kept:
                delete(dyn, doc, namespace)
    return applied


def exists(dyn: DynamicClient, doc: Doc, namespace: str) -> bool:
    resource = _resource(dyn, doc)
    try:
        resource.get(
            name=doc["metadata"]["name"], namespace=namespace if resource.namespaced else None
        )
    except NotFoundError:
        return False
    return True
