"""Writes the JSON Schema of every event (and of the union) next to the models.

python -m shared.schema_export          regenerate shared/schemas/
python -m shared.schema_export --check  exit 1 if the files and the models disagree
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared.events import EVENT_ADAPTER, EVENT_TYPES, SCHEMA_VERSION

SCHEMA_DIR = Path(__file__).parent / "schemas"
_BASE_ID = "https://taskwave.dev/schemas/events"


def rendered() -> dict[str, str]:
    """File name -> JSON text, exactly as checked in."""
    files: dict[str, Any] = {}
    for name, model in EVENT_TYPES.items():
        schema = model.model_json_schema(mode="serialization")
        schema["$id"] = f"{_BASE_ID}/v{SCHEMA_VERSION}/{name}.json"
        files[f"{name}.json"] = schema
    union = EVENT_ADAPTER.json_schema(mode="serialization")
    union["$id"] = f"{_BASE_ID}/v{SCHEMA_VERSION}/event.json"
    union["title"] = "taskwave event"
    files["event.json"] = union
    return {n: json.dumps(s, indent=2, sort_keys=True) + "\n" for n, s in files.items()}


def drift() -> list[str]:
    expected = rendered()
    present = {p.name for p in SCHEMA_DIR.glob("*.json")}
    problems = [f"missing {n}" for n in expected if n not in present]
    problems += [f"stale file {n}" for n in present - expected.keys()]
    problems += [
        f"out of date {n}"
        for n, text in expected.items()
        if n in present and (SCHEMA_DIR / n).read_text() != text
    ]
    return problems


def main(argv: list[str]) -> int:
    if "--check" in argv:
        problems = drift()
        for p in problems:
            print(f"shared/schemas: {p} (run: python -m shared.schema_export)", file=sys.stderr)
        return 1 if problems else 0
    SCHEMA_DIR.mkdir(exist_ok=True)
    for stale in SCHEMA_DIR.glob("*.json"):
        stale.unlink()
    for name, text in rendered().items():
        (SCHEMA_DIR / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
