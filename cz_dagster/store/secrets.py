"""A tenant's credentials (the ConnectWise keys, ...), Fernet-encrypted in its own database, and the rotation of
every encrypted value of the store under the newest key.

A secret lives in the tenant's database, with the rest of the tenant's data (isolation by database boundary,
read through the tenant's engine: on PostgreSQL, the tenant's own role), as one JSON document encrypted whole, so
at rest nothing of it, not even which fields are set, is readable without the key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cz_dagster.store import schema as s
from cz_dagster.store.db import Store


class Secrets:
    def __init__(self, store: Store, tenant: str):
        self.store, self.tenant = store, tenant
        self.t = s.secrets

    def get(self, name: str) -> dict[str, Any] | None:
        """None when never stored; raises ``SecretKeyError`` when no configured key decrypts it."""
        with self.store.tenant_engine(self.tenant).connect() as conn:
            row = conn.execute(select(self.t.c.value_enc).where(self.t.c.name == name)).first()
        return None if row is None else self.store.cipher.decrypt_json(row[0])

    def put(self, name: str, value: dict[str, Any]) -> None:
        """Replaces what was stored under ``name``; an unknown tenant gets the registry's message."""
        self.store.tenant(self.tenant)
        enc = self.store.cipher.encrypt_json(value)
        with self.store.tenant_tx(self.tenant) as conn:
            updated = conn.execute(self.t.update().where(self.t.c.name == name).values(value_enc=enc))
            if updated.rowcount == 0:
                conn.execute(self.t.insert().values(name=name, value_enc=enc))


def rotate_keys(store: Store) -> dict[str, int]:
    """Re-encrypt every stored secret under the newest key of CZ_SECRET_KEYS (MultiFernet.rotate), one
    tenant transaction at a time; syncs keep running meanwhile since every listed key still decrypts.
    Counted per tenant: its secrets and its Xero connections' client secrets and tokens. The tenants'
    database-role passwords (control database) are re-encrypted too, not counted."""
    with store.control.begin() as conn:
        for slug, enc in conn.execute(select(s.tenants.c.slug, s.tenants.c.db_password_enc)
                                      .where(s.tenants.c.db_password_enc.is_not(None))).all():
            conn.execute(s.tenants.update().where(s.tenants.c.slug == slug)
                         .values(db_password_enc=store.cipher.rotate(enc)))
    counts: dict[str, int] = {}
    for tenant in store.tenants():
        n = 0
        with store.tenant_tx(tenant.slug) as conn:
            for name, value in conn.execute(select(s.secrets.c.name, s.secrets.c.value_enc)).all():
                conn.execute(s.secrets.update().where(s.secrets.c.name == name)
                             .values(value_enc=store.cipher.rotate(value)))
                n += 1
            for cid, secret, token in conn.execute(select(s.xero_connections.c.id,
                                                          s.xero_connections.c.client_secret_enc,
                                                          s.xero_connections.c.token_enc)).all():
                conn.execute(s.xero_connections.update().where(s.xero_connections.c.id == cid).values(
                    client_secret_enc=store.cipher.rotate(secret),
                    token_enc=store.cipher.rotate(token) if token else token))
                n += 2 if token else 1
        counts[tenant.slug] = n
    return counts
