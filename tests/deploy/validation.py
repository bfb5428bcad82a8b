"""Offline validation of rendered objects: core kinds against the Kubernetes JSON
schemas (kubernetes-validate), custom resources against the upstream CRDs'
openAPIV3Schema (jsonschema), both strict about unknown fields."""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate

from tests.deploy.conftest import KUBE_VERSION, crd_schemas

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def _strict(schema: Any) -> Any:
    """The schema with unknown fields rejected, as `kubectl apply --validate=strict`
    (server-side field validation) would: every object schema that lists its
    properties and does not keep unknown fields gets additionalProperties: false."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@cache
def _crd_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    schema = copy.deepcopy(crd_schemas()[(api_version, kind)])
    strict = _strict(schema)
    # metadata is ObjectMeta, which the CRD leaves open: checked separately below.
    strict["properties"]["metadata"] = {"type": "object"}
    cls = jsonschema.validators.validator_for(strict, default=jsonschema.Draft7Validator)
    return cls(strict)


def is_custom(doc: dict[str, Any]) -> bool:
    return (doc["apiVersion"], doc["kind"]) in crd_schemas()


def errors(doc: dict[str, Any]) -> list[str]:
    """Why `doc` would be rejected by the API server of KUBE_VERSION with the CRDs installed."""
    where = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    if is_custom(doc):
        meta = doc.get("metadata", {})
        found = [
            f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in _crd_validator(doc["apiVersion"], doc["kind"]).iter_errors(doc)
        ]
        if not DNS_SUBDOMAIN.match(str(meta.get("name", ""))):
            found.append(f"{where}: metadata.name is not a DNS subdomain")
        for field in ("labels", "annotations"):
            for key, value in (meta.get(field) or {}).items():
                if not isinstance(value, str):
                    found.append(f"{where}: metadata.{field}.{key} is not a string")
        return found
    try:
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        return [f"{where}: {'/'.join(map(str, e.path))}: {e.message}"]
    except kubernetes_validate.SchemaNotFoundError as e:
        return [f"{where}: {e.message}"]
    return []
