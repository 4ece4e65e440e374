"""Secret redaction for everything that is logged: sync-log payloads, headers, URLs, error messages.

Redaction is by key name (tokens, secrets, passwords, authorization codes) and by value for the secrets a
caller knows (the exact strings of the current tokens and keys), so a secret echoed in an unexpected place --
an error body, a URL -- is still caught.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
SECRET_KEYS = {
    "access_token", "refresh_token", "id_token", "client_secret", "password", "private_key", "privatekey",
    "public_key", "publickey", "code", "code_verifier", "authorization", "cookie", "set-cookie", "token",
    "secret", "api_key", "apikey", "smtp_password",
}
_BEARER_RE = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")


def _is_secret_key(key: str) -> bool:
    k = key.lower().replace("-", "_")
    return k in SECRET_KEYS or k.endswith("_secret") or k.endswith("_token") or k.endswith("password")


def redact_value(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Recursively mask secret keys in dicts/lists and known secret strings anywhere."""
    known = [x for x in secrets if x and len(x) >= 6]
    return _redact(value, known)


def _redact(value: Any, known: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and _is_secret_key(k) and v not in (None, "") else _redact(v, known))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, known) for v in value]
    if isinstance(value, str):
        return redact_text(value, known)
    return value


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    out = _BEARER_RE.sub(lambda m: f"{m.group(1)} {MASK}", text)
    for secret in secrets:
        if secret and len(secret) >= 6:
            out = out.replace(secret, MASK)
    return out


def redact_headers(headers: dict[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    items = headers.items() if isinstance(headers, dict) else headers
    return {k: (MASK if _is_secret_key(k) else v) for k, v in items}


def redact_url(url: str, secrets: Iterable[str] = ()) -> str:
    parts = urlsplit(url)
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = urlencode([(k, MASK if _is_secret_key(k) else v) for k, v in pairs])
        parts = parts._replace(query=query)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    return redact_text(urlunsplit(parts._replace(netloc=netloc)), secrets)


def redact_body(body: str | bytes | None, secrets: Iterable[str] = (), limit: int = 1_000_000) -> str | None:
    """A request or response body as stored in the sync log: JSON and form bodies redacted by key, capped."""
    if body is None:
        return None
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    secrets = list(secrets)
    stripped = body.strip()
    if stripped[:1] in ("{", "["):
        try:
            text = json.dumps(redact_value(json.loads(stripped), secrets), ensure_ascii=False)
        except ValueError:
            text = redact_text(body, secrets)
    elif "=" in stripped and " " not in stripped and stripped.count("=") >= 1 and "\n" not in stripped:
        pairs = parse_qsl(stripped, keep_blank_values=True)
        text = urlencode([(k, MASK if _is_secret_key(k) else v) for k, v in pairs]) if pairs else stripped
        text = redact_text(text, secrets)
    else:
        text = redact_text(body, secrets)
    if len(text) > limit:
        text = text[:limit] + f"... [truncated, {len(text)} characters in all]"
    return text
