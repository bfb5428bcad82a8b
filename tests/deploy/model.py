"""What the code says the cluster must provide: app ids, the components each function
uses, the topics it consumes. The deployment tests compare the rendered chart with it."""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from shared.events import TOPIC_OF
from shared.settings import FunctionSettings
from shared.topics import all_topics
from stack.config import FUNCTIONS, ROOT

DAPR = ROOT / "dapr"


def local_docs(folder: str) -> list[dict[str, Any]]:
    """The Dapr resources of the local stack (dapr/<folder>/*.yaml)."""
    return [
        d
        for p in sorted((DAPR / folder).glob("*.yaml"))
        for d in yaml.safe_load_all(p.read_text())
        if d
    ]


@cache
def settings(app_id: str) -> FunctionSettings:
    module = importlib.import_module(f"{FUNCTIONS[app_id]}.settings")
    cls: type[FunctionSettings] = module.Settings
    return cls()


def used_components(app_id: str) -> set[str]:
    """Dapr components the function's code talks to (its typed settings)."""
    s = settings(app_id)
    used = {s.pubsub}
    if app_id in ("todo-api", "reminders", "audit"):  # their own kv rows (app.py)
        used.add(s.kv_store)
    if app_id in ("todo-api", "realtime") or s.kv_store in used:
        # the signing key; or the kv component's secretKeyRef, resolved through it
        used.add(s.secret_store)
    if app_id == "todo-api":  # the only writer of task state
        used.add(s.state_store)
    return used


def code_topics(namespace: str) -> dict[str, int]:
    """Every Kafka topic the code uses, with its partitions."""
    return all_topics()


def event_topics() -> set[str]:
    return {t.value for t in TOPIC_OF.values()}


def metadata_of(component: dict[str, Any]) -> dict[str, Any]:
    """name -> value, or ("secretKeyRef", name, key) / ("envRef", name)."""
    out: dict[str, Any] = {}
    for item in component["spec"].get("metadata") or []:
        if "secretKeyRef" in item:
            ref = item["secretKeyRef"]
            out[item["name"]] = ("secretKeyRef", ref["name"], ref["key"])
        elif "envRef" in item:
            out[item["name"]] = ("envRef", item["envRef"])
        else:
            out[item["name"]] = str(item.get("value"))
    return out


def resolve_template(value: str, app_id: str) -> str:
    """Dapr's templated metadata as the sidecar of `app_id` resolves it ({podName} stays)."""
    return value.replace("{appID}", app_id).replace("{namespace}", "")


def functions() -> dict[str, str]:
    return dict(FUNCTIONS)


def root() -> Path:
    return ROOT
