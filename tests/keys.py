"""Token keys for tests: a fresh Ed25519 key, as the `secrets` store would serve it."""

from __future__ import annotations

from shared.tokens import new_signing_key


def token_secrets(kid: str = "test-1") -> dict[str, dict[str, str]]:
    """The `jwt` (signing) and `jwt-public` (verifying) secrets of one new key."""
    signing, public = new_signing_key(kid)
    return {"jwt": signing, "jwt-public": public}
