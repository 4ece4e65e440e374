"""Credential encryption at rest with Fernet keys (``CZ_SECRET_KEYS``: comma-separated, newest first).

MultiFernet decrypts with any listed key and encrypts with the first, so adding a new key in front and
re-encrypting rows rotates keys without downtime.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from cz_dagster.errors import RunFailure


class SecretKeyError(RunFailure):
    """The keys are missing, malformed or do not decrypt what is stored."""


def parse_keys(raw: str) -> MultiFernet:
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if not keys:
        raise SecretKeyError("CZ_SECRET_KEYS is empty: give one or more Fernet keys, newest first")
    fernets = []
    for i, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode()))
        except (ValueError, TypeError) as exc:
            raise SecretKeyError(
                f"CZ_SECRET_KEYS key #{i} is not a valid Fernet key (32 url-safe base64 bytes); "
                "make one with: python -c "
                "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from exc
    return MultiFernet(fernets)


def load_or_create_key_file(path: Path) -> str:
    """Embedded (SQLite) mode only: a key file beside the data, created 0600 on first use."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


class Cipher:
    """Encrypts strings and JSON documents; never logs or echoes what it holds."""

    def __init__(self, keys: MultiFernet):
        self._keys = keys

    def encrypt(self, plaintext: str) -> str:
        return self._keys.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._keys.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError(
                "a stored secret cannot be decrypted with CZ_SECRET_KEYS: was a key removed before rotation?"
            ) from exc

    def encrypt_json(self, doc: dict[str, Any]) -> str:
        return self.encrypt(json.dumps(doc, sort_keys=True))

    def decrypt_json(self, token: str) -> dict[str, Any]:
        return json.loads(self.decrypt(token))

    def rotate(self, token: str) -> str:
        """Re-encrypt under the newest key."""
        try:
            return self._keys.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError("a stored secret cannot be decrypted with CZ_SECRET_KEYS") from exc
