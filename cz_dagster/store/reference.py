"""Mirrored Xero reference data per location (its organisation): accounts, tax rates, currencies, ...

Used for mapping and pre-flight checks, never as a warehouse: one current row per record, with when it was
first seen, last changed, and removed (a removed record is kept so a mapping to it can say what it was).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from cz_dagster.store import schema as s
from cz_dagster.store.db import Store
from cz_dagster.store.schema import utcnow
from cz_dagster.sync.reference import MirrorDiff, diff


class ReferenceMirror:
    def __init__(self, store: Store, tenant: str, location: str, kind: str):
        self.store, self.tenant, self.location, self.kind = store, tenant, location, kind
        self.t = s.reference_items

    def _where(self):  # noqa: ANN202
        return (self.t.c.location == self.location, self.t.c.kind == self.kind)

    def items(self, include_removed: bool = False) -> dict[str, dict[str, Any]]:
        query = select(self.t.c.key, self.t.c.data).where(*self._where())
        if not include_removed:
            query = query.where(self.t.c.removed_at.is_(None))
        with self.store.tenant_engine(self.tenant).connect() as conn:
            return {k: json.loads(d) for k, d in conn.execute(query)}

    def apply(self, current: dict[str, dict[str, Any]], names: dict[str, str] | None = None) -> MirrorDiff:
        """Store Xero's current list and return what changed since the last mirror."""
        names = names or {}
        now = utcnow()
        with self.store.tenant_tx(self.tenant) as conn:
            rows = conn.execute(select(self.t.c.key, self.t.c.digest, self.t.c.removed_at)
                                .where(*self._where())).all()
            live = {k: d for k, d, removed in rows if removed is None}
            known = {k for k, _, _ in rows}
            result, digests = diff(live, current)
            for key in result.added:
                values = {"name": names.get(key), "data": json.dumps(current[key], default=str),
                          "digest": digests[key], "updated_at": now, "removed_at": None}
                if key in known:  # came back after removal
                    conn.execute(self.t.update().where(*self._where(), self.t.c.key == key).values(**values))
                else:
                    conn.execute(self.t.insert().values(location=self.location, kind=self.kind, key=key,
                                                        first_seen=now, **values))
            for key in result.changed:
                conn.execute(self.t.update().where(*self._where(), self.t.c.key == key).values(
                    name=names.get(key), data=json.dumps(current[key], default=str), digest=digests[key],
                    updated_at=now))
            for key in result.removed:
                conn.execute(self.t.update().where(*self._where(), self.t.c.key == key).values(removed_at=now))
        return result
