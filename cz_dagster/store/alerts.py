"""The alerts sent to a tenant, each claimed in the control database before its email goes out.

A sensor may evaluate twice over the same failure, day or pause: the claim is the insert of the alert's
(tenant, kind, key) primary key, so only one evaluation wins it and each alert is sent at most once. ``kind`` is
run_failure, errors_hourly, daily, revoked or stale; ``key`` says what the alert is about (a run id, a day, ...).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cz_dagster.store import schema as s
from cz_dagster.store.db import Store


class Alerts:
    def __init__(self, store: Store, tenant: str):
        self.store, self.tenant = store, tenant
        self.t = s.alerts_sent

    def claim(self, kind: str, key: str, recipients: list[str]) -> bool:
        """Record that an alert is being sent; False when it already was (so each is sent at most once)."""
        try:
            with self.store.control.begin() as conn:
                conn.execute(self.t.insert().values(tenant=self.tenant, kind=kind, key=key,
                                                    recipients=",".join(recipients)))
            return True
        except IntegrityError:
            return False

    def last_sent(self, kind: str, key: str | None = None) -> datetime | None:
        """When the latest alert of this kind (and key, when given) was claimed: the hourly error summary waits
        an hour after it."""
        query = select(self.t.c.sent_at).where(self.t.c.tenant == self.tenant, self.t.c.kind == kind)
        if key is not None:
            query = query.where(self.t.c.key == key)
        with self.store.control.connect() as conn:
            row = conn.execute(query.order_by(self.t.c.sent_at.desc()).limit(1)).first()
        return row[0] if row else None
