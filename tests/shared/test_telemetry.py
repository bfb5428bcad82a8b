from __future__ import annotations

import io
import json
import logging

from shared.telemetry import setup_logging


def test_tokens_in_logged_urls_are_redacted() -> None:
    setup_logging("test", json_logs=True)
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    handler.stream = stream  # type: ignore[attr-defined]
    logging.getLogger("uvicorn.error").info(
        '%s - "WebSocket /ws?token=%s&after=3" [accepted]', "127.0.0.1:5000", "eyJhbGc.secret.sig"
    )
    line = json.loads(stream.getvalue())
    assert "eyJhbGc" not in line["message"]
    assert "/ws?token=<redacted>&after=3" in line["message"]
    assert line["service"] == "test"
