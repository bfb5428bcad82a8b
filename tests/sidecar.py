"""Unit tests build apps as a deployed function runs: with the app API token set
(APP_API_TOKEN, which the Dapr sidecar sends as `dapr-api-token`). tests/conftest.py
imports this first, so every Settings() sees it; a token from the shell is kept."""

from __future__ import annotations

import os

APP_TOKEN = os.environ.setdefault("APP_API_TOKEN", "unit-tests-app-api-token")
# Headers of a call that came through the sidecar.
FROM_SIDECAR = {"dapr-api-token": APP_TOKEN}
