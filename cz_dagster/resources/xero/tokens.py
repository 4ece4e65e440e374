"""Xero OAuth 2.0 token sets, encrypted, one per connection, refreshed under a database lock.

Xero rotates the refresh token on every use, so two processes refreshing the same token set race and the
loser gets ``invalid_grant``. Every refresh therefore happens inside a transaction that holds the
connection's row lock (``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), re-reads the
token first (another process may have refreshed it already) and persists the new token before it is used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from cz_dagster.store import schema as s
from cz_dagster.store.db import Store, StoreError
from cz_dagster.store.schema import utcnow

REFRESH_MARGIN = timedelta(seconds=60)


class XeroNotConnected(StoreError):
    """No token set is stored: the tenant has not run `cz xero connect`."""


class XeroConnectionPaused(StoreError):
    """The connection was revoked or expired; it stays paused until `cz xero connect` resumes it."""


@dataclass(frozen=True)
class XeroConnection:
    id: str
    client_id: str
    client_secret: str
    token: dict[str, Any]
    expires_at: datetime | None
    status: str
    paused_reason: str | None

    @property
    def access_token(self) -> str:
        return self.token["access_token"]

    def fresh(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.expires_at is not None and self.expires_at - REFRESH_MARGIN > now


def token_expiry(token: dict[str, Any]) -> datetime:
    if token.get("expires_at"):
        return datetime.fromtimestamp(float(token["expires_at"]), UTC)
    return utcnow() + timedelta(seconds=int(token.get("expires_in", 1800)))


class XeroTokens:
    def __init__(self, store: Store, tenant: str, connection_id: str = "default"):
        self.store, self.tenant, self.connection_id = store, tenant, connection_id
        self.t = s.xero_connections

    def _decode(self, row) -> XeroConnection:  # noqa: ANN001
        cipher = self.store.cipher
        token = cipher.decrypt_json(row["token_enc"]) if row["token_enc"] else {}
        return XeroConnection(id=row["id"], client_id=row["client_id"],
                              client_secret=cipher.decrypt(row["client_secret_enc"]), token=token,
                              expires_at=row["token_expires_at"], status=row["status"],
                              paused_reason=row["paused_reason"])

    def save(self, client_id: str, client_secret: str, token: dict[str, Any]) -> XeroConnection:
        """Store a new token set (after the authorization-code flow) and resume the connection."""
        token = dict(token)
        expires = token_expiry(token)
        token["expires_at"] = expires.timestamp()
        cipher = self.store.cipher
        values = {"client_id": client_id, "client_secret_enc": cipher.encrypt(client_secret),
                  "token_enc": cipher.encrypt_json(token), "token_expires_at": expires, "status": "active",
                  "paused_reason": None, "paused_at": None}
        with self.store.tenant_tx(self.tenant) as conn:
            updated = conn.execute(self.t.update().where(self.t.c.id == self.connection_id).values(**values))
            if updated.rowcount == 0:
                conn.execute(self.t.insert().values(id=self.connection_id, **values))
        return self.load()

    def load(self, *, allow_paused: bool = True) -> XeroConnection:
        with self.store.tenant_engine(self.tenant).connect() as conn:
            row = conn.execute(select(self.t).where(self.t.c.id == self.connection_id)).mappings().first()
        if row is None or not row["token_enc"]:
            raise XeroNotConnected(
                f"tenant {self.tenant!r} has no Xero connection: run `cz xero connect --tenant {self.tenant}`")
        connection = self._decode(row)
        if not allow_paused and connection.status != "active":
            raise XeroConnectionPaused(self.paused_message(connection.paused_reason))
        return connection

    def paused_message(self, reason: str | None) -> str:
        return (f"the Xero connection of tenant {self.tenant!r} is paused ({reason or 'revoked'}); "
                f"reconnect with `cz xero connect --tenant {self.tenant}`")

    def refresh(self, stale_access_token: str | None,
                do_refresh: Callable[[XeroConnection], dict[str, Any]]) -> XeroConnection:
        """Refresh under the row lock unless another process already did; ``do_refresh`` calls Xero and
        returns the new token, or raises. Its exception propagates after the lock is released."""
        with self.store.tenant_tx(self.tenant) as conn:
            query = select(self.t).where(self.t.c.id == self.connection_id)
            if self.store.backend == "postgresql":
                query = query.with_for_update()
            row = conn.execute(query).mappings().first()
            if row is None or not row["token_enc"]:
                raise XeroNotConnected(f"tenant {self.tenant!r} has no Xero connection")
            current = self._decode(row)
            if current.status != "active":
                raise XeroConnectionPaused(self.paused_message(current.paused_reason))
            if current.access_token != stale_access_token and current.fresh():
                return current
            token = dict(do_refresh(current))
            expires = token_expiry(token)
            token["expires_at"] = expires.timestamp()
            conn.execute(self.t.update().where(self.t.c.id == self.connection_id).values(
                token_enc=self.store.cipher.encrypt_json(token), token_expires_at=expires,
                refreshes=self.t.c.refreshes + 1))
        return self.load()

    def pause(self, reason: str) -> None:
        with self.store.tenant_tx(self.tenant) as conn:
            conn.execute(self.t.update().where(self.t.c.id == self.connection_id).values(
                status="paused", paused_reason=reason, paused_at=utcnow()))

    def status(self) -> str | None:
        with self.store.tenant_engine(self.tenant).connect() as conn:
            row = conn.execute(select(self.t.c.status).where(self.t.c.id == self.connection_id)).first()
        return None if row is None else row[0]
