"""Xero's OAuth 2.0 identity service: authorization codes, rotating refresh tokens, access tokens, connections.

Modelled on what bites real integrations: access tokens last ``access_token_seconds``; every refresh rotates the
refresh token, and the previous one may be replayed for ``refresh_grace_seconds`` (Xero's 30-minute grace for a
lost response) -- each replay inside the grace issues a *fresh* pair, as a retried refresh does at Xero -- after
which it is ``invalid_grant``; revoking a grant kills its refresh and access tokens at once.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class OAuthError(Exception):
    """An error the token endpoint reports as ``{"error": code}`` with HTTP 400."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass
class Connection:
    id: str
    tenant_id: str
    created: datetime
    updated: datetime


@dataclass
class Grant:
    """One user's authorisation of the app: its scope and the organisations it connected."""

    id: str
    client_id: str
    scope: str
    auth_event_id: str
    connections: dict[str, Connection] = field(default_factory=dict)
    revoked: bool = False

    def tenant_ids(self) -> set[str]:
        return {c.tenant_id for c in self.connections.values()}


@dataclass
class RefreshToken:
    grant_id: str
    rotated_at: float | None = None  # None = current (not yet used)


@dataclass
class AccessToken:
    grant_id: str
    expires_at: float


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    scope: str
    tenant_ids: list[str]
    expires_at: float


class OAuthStore:
    """All identity state; a lock because the admin routes and API calls may interleave across threads."""

    def __init__(self, settings: Any):
        self.settings = settings  # XeroSandboxConfig: read live so /_sandbox/config changes apply at once
        self.lock = threading.RLock()
        self.codes: dict[str, AuthCode] = {}
        self.grants: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: dict[str, AccessToken] = {}

    def clear(self) -> None:
        with self.lock:
            self.codes.clear()
            self.grants.clear()
            self.refresh_tokens.clear()
            self.access_tokens.clear()

    # -------------------------------------------------------------- flows
    def check_client(self, client_id: str | None, client_secret: str | None = None, secret_needed: bool = True) -> None:
        if client_id != self.settings.client_id or (secret_needed and client_secret != self.settings.client_secret):
            raise OAuthError("invalid_client")

    def authorize(self, client_id: str, redirect_uri: str, scope: str, tenant_ids: list[str]) -> str:
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = AuthCode(client_id, redirect_uri, scope, tenant_ids, time.time() + 60)
        return code

    def exchange_code(self, code: str, redirect_uri: str | None, client_id: str) -> dict[str, Any]:
        with self.lock:
            auth = self.codes.pop(code, None)  # single use, even when the exchange then fails
            if auth is None or auth.expires_at < time.time() or auth.client_id != client_id:
                raise OAuthError("invalid_grant")
            if redirect_uri != auth.redirect_uri:
                raise OAuthError("invalid_grant")
            now = datetime.now(UTC)
            grant = Grant(id=str(uuid.uuid4()), client_id=client_id, scope=auth.scope,
                          auth_event_id=str(uuid.uuid4()))
            for tid in auth.tenant_ids:
                conn = Connection(id=str(uuid.uuid4()), tenant_id=tid, created=now, updated=now)
                grant.connections[conn.id] = conn
            self.grants[grant.id] = grant
            return self._issue(grant)

    def refresh(self, token: str, client_id: str) -> dict[str, Any]:
        with self.lock:
            rt = self.refresh_tokens.get(token)
            if rt is None:
                raise OAuthError("invalid_grant")
            grant = self.grants.get(rt.grant_id)
            if grant is None or grant.revoked or grant.client_id != client_id:
                raise OAuthError("invalid_grant")
            now = time.time()
            if rt.rotated_at is not None and now - rt.rotated_at > self.settings.refresh_grace_seconds:
                raise OAuthError("invalid_grant")
            if rt.rotated_at is None:
                rt.rotated_at = now
            return self._issue(grant)

    def _issue(self, grant: Grant) -> dict[str, Any]:
        access = secrets.token_urlsafe(48)
        refresh = secrets.token_urlsafe(32)
        seconds = int(self.settings.access_token_seconds)
        self.access_tokens[access] = AccessToken(grant.id, time.time() + seconds)
        self.refresh_tokens[refresh] = RefreshToken(grant.id)
        # Exactly the keys Xero returns: the SDK's update_token(**token) raises TypeError on any extra key.
        return {"id_token": secrets.token_urlsafe(32), "access_token": access, "expires_in": seconds,
                "token_type": "Bearer", "refresh_token": refresh, "scope": grant.scope}

    def revoke(self, token: str) -> None:
        with self.lock:
            rt = self.refresh_tokens.get(token)
            if rt is not None and rt.grant_id in self.grants:
                self.grants[rt.grant_id].revoked = True

    def revoke_all(self) -> int:
        with self.lock:
            for grant in self.grants.values():
                grant.revoked = True
            return len(self.grants)

    def expire_all(self) -> int:
        with self.lock:
            past = time.time() - 1
            for tok in self.access_tokens.values():
                tok.expires_at = min(tok.expires_at, past)
            return len(self.access_tokens)

    # -------------------------------------------------------------- API auth
    def authenticate(self, authorization: str | None) -> tuple[Grant | None, str | None]:
        """Return (grant, None) or (None, 401 detail)."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None, "AuthenticationUnsuccessful"
        token = authorization.split(None, 1)[1].strip()
        with self.lock:
            at = self.access_tokens.get(token)
            grant = self.grants.get(at.grant_id) if at else None
            if at is None or grant is None or grant.revoked:
                return None, "AuthenticationUnsuccessful"
            if at.expires_at <= time.time():
                stamp = datetime.fromtimestamp(at.expires_at, tz=UTC).strftime("%m/%d/%Y %H:%M:%S")
                return None, f"TokenExpired: token expired at {stamp}"
            return grant, None

    def disconnect(self, grant: Grant, connection_id: str) -> bool:
        with self.lock:
            return grant.connections.pop(connection_id, None) is not None
