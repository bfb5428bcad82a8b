"""The local secret store's file: a token key is made on first start, kept across
restarts, and replaced (keeping the old public key) when it predates key ids."""

from __future__ import annotations

import asyncio
import json
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.dapr.fake import FakeSecrets
from shared.tokens import Tokens
from stack.components.dapr import Sidecars
from stack.config import StackConfig
from stack.procs import Supervisor


@dataclass
class Who:
    id: str = "u1"
    username: str = "ann"


def _sidecars(tmp_path: Path) -> Sidecars:
    config = StackConfig.for_tests(tmp_path)
    sup = Supervisor(config.logs, echo=False, state_file=tmp_path / "stack.json")
    return Sidecars(config, tools=None, sup=sup, app_token="t")  # type: ignore[arg-type]


def _round_trip(values: dict[str, dict[str, str]]) -> str:
    """A token todo-api would sign, checked as realtime would (public keys only)."""
    signer = Tokens(FakeSecrets(values), public="jwt-public", signing="jwt", ttl=timedelta(1))
    verifier = Tokens(FakeSecrets({"jwt-public": values["jwt-public"]}), public="jwt-public")

    async def run() -> str:
        return await verifier.verify(await signer.issue(Who(), datetime.now(UTC)))

    return asyncio.run(run())


def test_a_key_is_made_once_and_kept(tmp_path: Path) -> None:
    sidecars = _sidecars(tmp_path)
    sidecars.write_secrets("host=a")
    first = json.loads(sidecars.secrets_file.read_text())
    assert stat.S_IMODE(sidecars.secrets_file.stat().st_mode) == 0o600
    assert first["jwt"]["privateKey"].startswith("-----BEGIN PRIVATE KEY-----")
    assert set(first["jwt-public"]) == {first["jwt"]["kid"]}
    assert _round_trip(first) == "u1"
    sidecars.write_secrets("host=b")  # a restart: same key, new connection string
    again = json.loads(sidecars.secrets_file.read_text())
    assert again["jwt"] == first["jwt"]
    assert again["jwt-public"] == first["jwt-public"]
    assert again["postgres"] == {"connectionString": "host=b"}


def test_a_file_from_before_key_ids_gets_a_new_key_and_keeps_other_public_keys(
    tmp_path: Path,
) -> None:
    sidecars = _sidecars(tmp_path)
    old = {"jwt": {"signingKey": "s" * 48}, "jwt-public": {"retired": "not a key"}}
    sidecars.secrets_file.write_text(json.dumps(old))
    sidecars.write_secrets("host=a")
    now = json.loads(sidecars.secrets_file.read_text())
    assert "signingKey" not in now["jwt"]
    assert set(now["jwt-public"]) == {"retired", now["jwt"]["kid"]}
    assert _round_trip(now) == "u1"
