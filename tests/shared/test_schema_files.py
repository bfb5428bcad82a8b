from __future__ import annotations

import json

import jsonschema

from shared import schema_export
from shared.events import TaskCreated, TaskSnapshot


def test_checked_in_schemas_match_the_models() -> None:
    assert schema_export.drift() == [], "run: python -m shared.schema_export"


def test_drift_is_detected(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name, text in schema_export.rendered().items():
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(schema_export, "SCHEMA_DIR", tmp_path)
    assert schema_export.drift() == []
    (tmp_path / "task.created.json").write_text("{}\n")
    (tmp_path / "task.renamed.json").write_text("{}\n")
    assert sorted(schema_export.drift()) == [
        "out of date task.created.json",
        "stale file task.renamed.json",
    ]


def test_events_validate_against_the_published_schema() -> None:
    schema = json.loads((schema_export.SCHEMA_DIR / "event.json").read_text())
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    task = TaskSnapshot(id="t", list_id="l", title="x", created_at=now, updated_at=now)
    event = TaskCreated(user_id="u", list_id="l", task_id="t", task=task)
    jsonschema.validate(event.model_dump(mode="json"), schema)
