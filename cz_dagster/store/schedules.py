"""Each tenant's cron per family (money, time, staff, reference), in the control database.

Only the families a tenant changed have a row: the others follow ``sync.schedule.DEFAULT_CRONS``, which the
readers (the dispatcher, the stale-alert check, ``cz schedule show``) fill in, so a changed default reaches
every tenant that never chose its own.
"""

from __future__ import annotations

from sqlalchemy import select

from cz_dagster.store import schema as s
from cz_dagster.store.db import Store


class Schedules:
    def __init__(self, store: Store, tenant: str):
        self.store, self.tenant = store, tenant
        self.t = s.schedules

    def all(self) -> dict[str, str]:
        """The tenant's cron per family (only those set; callers fill in the defaults)."""
        with self.store.control.connect() as conn:
            rows = conn.execute(select(self.t.c.family, self.t.c.cron).where(self.t.c.tenant == self.tenant)).all()
        return {family: cron for family, cron in rows}

    def put(self, family: str, cron: str) -> None:
        """Callers check the family and cron (``sync.schedule``); the control tables have no foreign keys, so the
        tenant is checked here, and an unknown one gets the registry's message instead of a stray row."""
        self.store.tenant(self.tenant)
        with self.store.control.begin() as conn:
            updated = conn.execute(self.t.update().where(
                self.t.c.tenant == self.tenant, self.t.c.family == family).values(cron=cron))
            if updated.rowcount == 0:
                conn.execute(self.t.insert().values(tenant=self.tenant, family=family, cron=cron))
