"""Mappings between ConnectWise and Xero identities (company -> contact, ...), per location's organisation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from cz_dagster.store import schema as s
from cz_dagster.store.db import Store
from cz_dagster.sync.vocabulary import check_mapping


@dataclass(frozen=True)
class Mapping:
    source_key: str
    target_id: str
    target_name: str | None
    origin: str


class Mappings:
    def __init__(self, store: Store, tenant: str, location: str, kind: str):
        self.store, self.tenant, self.location, self.kind = store, tenant, location, check_mapping(kind)
        self.t = s.mappings

    def all(self) -> dict[str, Mapping]:
        with self.store.tenant_engine(self.tenant).connect() as conn:
            rows = conn.execute(select(self.t).where(
                self.t.c.kind == self.kind, self.t.c.location == self.location)).mappings().all()
        return {r["source_key"]: Mapping(r["source_key"], r["target_id"], r["target_name"], r["origin"]) for r in rows}

    def put(self, source_key: str, target_id: str, target_name: str | None, origin: str) -> None:
        with self.store.tenant_tx(self.tenant) as conn:
            updated = conn.execute(self.t.update().where(
                self.t.c.kind == self.kind, self.t.c.location == self.location, self.t.c.source_key == source_key,
            ).values(target_id=target_id, target_name=target_name, origin=origin))
            if updated.rowcount == 0:
                conn.execute(self.t.insert().values(kind=self.kind, location=self.location, source_key=source_key,
                                                    target_id=target_id, target_name=target_name, origin=origin))
