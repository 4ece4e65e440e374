"""Where a location's incremental reads got to, by name, in the tenant's database.

The payments flow keeps the latest ``UpdatedDateUTC`` of the Xero payments it has seen, and next time asks Xero
only for those modified since a little before it (with none yet, for every payment). A cursor is a string its
reader gives meaning to; each location of a tenant has its own.
"""

from __future__ import annotations

from sqlalchemy import select

from cz_dagster.store import schema as s
from cz_dagster.store.db import Store


class Cursors:
    def __init__(self, store: Store, tenant: str, location: str):
        self.store, self.tenant, self.location = store, tenant, location
        self.t = s.cursors

    def get(self, name: str) -> str | None:
        with self.store.tenant_engine(self.tenant).connect() as conn:
            row = conn.execute(select(self.t.c.value).where(
                self.t.c.location == self.location, self.t.c.name == name)).first()
        return None if row is None else row[0]

    def put(self, name: str, value: str) -> None:
        with self.store.tenant_tx(self.tenant) as conn:
            updated = conn.execute(self.t.update().where(
                self.t.c.location == self.location, self.t.c.name == name).values(value=value))
            if updated.rowcount == 0:
                conn.execute(self.t.insert().values(location=self.location, name=name, value=value))
