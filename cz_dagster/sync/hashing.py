"""Deterministic keys: record versions, idempotency keys and batch identifiers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any


def stable_hash(value: Any, length: int = 16) -> str:
    """A short, stable digest of a JSON-able value (key order and float formatting normalised)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def idempotency_key(surface: str, location: str, element_keys: Iterable[tuple[str, str]], attempt: int) -> str:
    """Idempotency-Key for one batch: the same elements on the same attempt give the same key (so a retried
    call is replayed by Xero, not repeated); a later attempt gets a new key (Xero caches errors too)."""
    digest = stable_hash(sorted(element_keys), 40)
    return f"cz-{surface}-{location}-{attempt}-{digest}"[:128]


def chunked(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
