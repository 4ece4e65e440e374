"""Who gets a tenant's alert and summary emails (``cz notify set``), in the control database.

One row per tenant holding the addresses comma-separated: the list is only ever replaced whole and read whole,
by the alert sensors, which send nothing to a tenant without recipients.
"""

from __future__ import annotations

from sqlalchemy import select

from cz_dagster.store import schema as s
from cz_dagster.store.db import Store


class Recipients:
    def __init__(self, store: Store, tenant: str):
        self.store, self.tenant = store, tenant
        self.t = s.notification_prefs

    def all(self) -> list[str]:
        """The addresses, in the order given; empty when none were set."""
        with self.store.control.connect() as conn:
            row = conn.execute(select(self.t.c.recipients).where(self.t.c.tenant == self.tenant)).first()
        return [r for r in (row[0] if row else "").split(",") if r]

    def replace(self, recipients: list[str]) -> None:
        """The control tables have no foreign keys: the tenant is checked here, and an unknown one gets the
        registry's message instead of a stray row."""
        self.store.tenant(self.tenant)
        value = ",".join(recipients)
        with self.store.control.begin() as conn:
            updated = conn.execute(self.t.update().where(self.t.c.tenant == self.tenant).values(recipients=value))
            if updated.rowcount == 0:
                conn.execute(self.t.insert().values(tenant=self.tenant, recipients=value))
