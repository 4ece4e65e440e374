"""Pacing of Xero calls per organisation, shared by every run and process of a tenant through its database.

Xero counts calls per organisation (and app): 5 in progress at once, 60 a minute, 5,000 a day. A pace kept in
one process's memory lets two overlapping runs (two locations posting into one organisation, or an asset's
steps in parallel) together exceed the first two. Here each call takes a slot first, in one short
transaction under the organisation's row lock (``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite):

- at most ``max_in_flight`` slots without an end (a slot of a process that died frees itself after ``lease``);
- at most ``budget`` slots in the window, where a call counts from its start until ``window`` seconds after its
  *end*: Xero counts a call when it arrives, which is between the two, so whatever the latency no window of
  Xero's can see more than ``budget`` of them;
- a 429 (minute) blocks every run of the organisation for its Retry-After, and lowers the budget to what Xero
  evidently allowed (at most the calls then in the window, less one; at least half the configured budget, so
  stray 429s do not stall the organisation); the lowered budget holds for ``LEARNED_WINDOWS`` windows.
"""

from __future__ import annotations

import os
import time

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from cz_dagster.store import schema as s
from cz_dagster.store.db import Store
from cz_dagster.store.leases import HOST, process_gone

RATE_TABLES = (s.xero_rate_orgs, s.xero_rate_calls)
LEARNED_WINDOWS = 5  # how long a budget lowered by a 429 holds: long enough to calm a burst, not to starve a day


class XeroPacer:
    """One organisation's slots, for one client; ``acquire`` blocks until a call may start."""

    def __init__(self, store: Store, tenant: str, org: str, *, budget: int = 55, window: float = 60.0,
                 max_in_flight: int = 5, lease: float = 120.0, poll: float = 0.05):
        self.store, self.tenant, self.org = store, tenant, org.lower()
        self.budget, self.window, self.max_in_flight = max(1, budget), window, max(1, max_in_flight)
        self.lease, self.poll = lease, poll
        self.waited = 0.0  # seconds this client spent waiting for a slot
        store.ensure_tenant_tables(tenant, list(RATE_TABLES))

    def _lock(self, conn: Connection) -> dict:
        t = s.xero_rate_orgs
        insert = postgresql.insert(t) if self.store.backend == "postgresql" else sqlite.insert(t)
        conn.execute(insert.values(org=self.org).on_conflict_do_nothing(index_elements=["org"]))
        query = select(t).where(t.c.org == self.org)
        if self.store.backend == "postgresql":
            query = query.with_for_update()
        return dict(conn.execute(query).mappings().one())

    def _budget(self, row: dict, now: float) -> int:
        learned, at = row.get("learned_budget"), row.get("learned_at")
        if learned and at and now - at < LEARNED_WINDOWS * self.window:
            return max(1, min(self.budget, int(learned)))
        return self.budget

    def _slots(self, conn: Connection, now: float) -> list[tuple[float, float | None]]:
        c = s.xero_rate_calls
        conn.execute(c.delete().where(c.c.org == self.org, (c.c.ended < now - self.window)
                                      | (c.c.ended.is_(None) & (c.c.started < now - self.lease))))
        for slot, pid in conn.execute(select(c.c.id, c.c.pid).where(
                c.c.org == self.org, c.c.ended.is_(None), c.c.host == HOST, c.c.pid != os.getpid())).all():
            if process_gone(HOST, pid):  # SIGKILLed mid-call: Xero counted the call, it is no longer in flight
                conn.execute(c.update().where(c.c.id == slot).values(ended=now))
        return [(r.started, r.ended) for r in conn.execute(select(c.c.started, c.c.ended).where(c.c.org == self.org))]

    def acquire(self) -> int:
        """Wait for a slot and take it; returns its id for ``release``."""
        c = s.xero_rate_calls
        while True:
            with self.store.tenant_tx(self.tenant) as conn:
                row = self._lock(conn)
                now = time.time()
                slots = self._slots(conn, now)
                budget = self._budget(row, now)
                if row.get("blocked_until") and row["blocked_until"] > now:
                    wait = row["blocked_until"] - now
                elif sum(1 for _, ended in slots if ended is None) >= self.max_in_flight:
                    wait = self.poll
                elif len(slots) >= budget:
                    frees = sorted(ended + self.window for _, ended in slots if ended is not None)
                    need = len(slots) - budget + 1
                    wait = frees[need - 1] - now if len(frees) >= need else self.poll
                else:
                    return int(conn.execute(c.insert().values(org=self.org, started=now, host=HOST,
                                                              pid=os.getpid())).inserted_primary_key[0])
            wait = min(max(wait, 0.01), 5.0)
            self.waited += wait
            time.sleep(wait)

    def release(self, slot: int) -> None:
        c = s.xero_rate_calls
        with self.store.tenant_tx(self.tenant) as conn:
            conn.execute(c.update().where(c.c.id == slot).values(ended=time.time()))

    def throttled(self, retry_after: float | None) -> int:
        """Xero answered 429 (minute): every run waits ``retry_after``; the budget drops to what Xero allowed.
        Returns the budget now in force."""
        t = s.xero_rate_orgs
        with self.store.tenant_tx(self.tenant) as conn:
            row = self._lock(conn)
            now = time.time()
            in_window = len(self._slots(conn, now))  # this call's own slot included
            current = self._budget(row, now)
            # the floor is half the *configured* budget: halving the learned one would compound, and a run of
            # stray 429s (the soak injects them) would collapse the pace to one call a minute
            learned = max(1, self.budget // 2, min(current - 1, in_window - 1))
            values: dict = {"learned_budget": learned, "learned_at": now}
            if retry_after:
                values["blocked_until"] = max(row.get("blocked_until") or 0.0, now + retry_after)
            conn.execute(t.update().where(t.c.org == self.org).values(**values))
        return learned
