"""One writer per tenant, location and flow at a time, whatever started the run.

Exactly once must not depend on Dagster's run queue: the UI, a schedule tick, ``dagster asset materialize`` from a
shell, a retry and several pods can all start a run of the same partition. Each writer flow therefore holds a
lease row in the tenant database (``flow_leases``) while it writes. Taking it is one short transaction under the
row's lock (``SELECT ... FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite): absent, expired, or held by a
process of this machine that no longer exists -> it is ours. A heartbeat thread extends it; a SIGKILLed holder
stops extending it, so on another machine it frees itself after ``ttl`` seconds, and on the same machine at once.

A holder whose lease was taken over (its heartbeat could not reach the database for longer than ``ttl``) must
stop writing: ``check()`` raises ``LeaseLost`` before every write that moves money.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from cz_dagster.errors import RunFailure
from cz_dagster.store import schema as s
from cz_dagster.store.db import Store
from cz_dagster.store.schema import utcnow

HOST = socket.gethostname()[:255]


class LeaseLost(RunFailure):
    """Another run took this flow's lease over (ours expired): this run must write nothing more."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lease now, for the waiting run's message."""

    run_id: str
    host: str
    pid: int
    acquired_at: datetime
    expires_at: datetime


def process_gone(host: str, pid: int | None) -> bool:
    """Only on this machine can we tell; elsewhere the lease's expiry decides."""
    if host != HOST or not pid:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class FlowLease:
    """The lease of one (tenant, location, flow) for one run. Use ``acquire()`` then ``release()``, or ``with``."""

    def __init__(self, store: Store, tenant: str, location: str, flow: str, run_id: str, *,
                 ttl: float | None = None):
        self.store, self.tenant, self.location, self.flow, self.run_id = store, tenant, location, flow, run_id
        self.ttl = ttl if ttl is not None else store.settings.lease_ttl_seconds
        self.held = False
        self.lost = False
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        store.ensure_tenant_tables(tenant, [s.flow_leases])

    def _where(self):  # noqa: ANN202
        t = s.flow_leases
        return (t.c.location == self.location) & (t.c.flow == self.flow)

    def _row(self, conn: Connection) -> dict | None:
        query = select(s.flow_leases).where(self._where())
        if self.store.backend == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        return dict(row) if row else None

    def try_acquire(self) -> Holder | None:
        """Take the lease if it is free; else who holds it (nothing changes)."""
        now = utcnow()
        values = {"holder": self.run_id, "host": HOST, "pid": os.getpid(), "acquired_at": now,
                  "expires_at": now + timedelta(seconds=self.ttl)}
        try:
            with self.store.tenant_tx(self.tenant) as conn:
                row = self._row(conn)
                if row is None:
                    conn.execute(s.flow_leases.insert().values(location=self.location, flow=self.flow, **values))
                elif (row["holder"] == self.run_id and row["pid"] == os.getpid()) or row["expires_at"] <= now \
                        or process_gone(row["host"], row["pid"]):
                    conn.execute(s.flow_leases.update().where(self._where()).values(**values))
                else:
                    return Holder(row["holder"], row["host"], row["pid"], row["acquired_at"], row["expires_at"])
        except IntegrityError:  # another process inserted the row between our read and our insert
            return self.holder() or Holder("?", "?", 0, now, now)
        self.held = True
        self._start_heartbeat()
        return None

    def acquire(self, wait: float | None = None, poll: float = 0.5) -> Holder | None:
        """Take the lease, waiting up to ``wait`` seconds for the holder to finish; the holder if it did not."""
        wait = self.store.settings.lease_wait_seconds if wait is None else wait
        deadline = time.monotonic() + wait
        while True:
            holder = self.try_acquire()
            if holder is None or time.monotonic() >= deadline:
                return holder
            time.sleep(poll)

    def holder(self) -> Holder | None:
        with self.store.tenant_engine(self.tenant).connect() as conn:
            row = conn.execute(select(s.flow_leases).where(self._where())).mappings().first()
        return Holder(row["holder"], row["host"], row["pid"], row["acquired_at"], row["expires_at"]) if row else None

    def _extend(self) -> None:
        now = utcnow()
        with self.store.tenant_tx(self.tenant) as conn:
            row = self._row(conn)
            if row is None or row["holder"] != self.run_id or row["pid"] != os.getpid():
                self.lost = True
                return
            conn.execute(s.flow_leases.update().where(self._where())
                         .values(expires_at=now + timedelta(seconds=self.ttl)))

    def _start_heartbeat(self) -> None:
        if self._beat is not None:
            return

        def beat() -> None:
            while not self._stop.wait(self.ttl / 3):
                with contextlib.suppress(DBAPIError):  # a busy database: the next beat tries again
                    self._extend()
                if self.lost:
                    return

        self._beat = threading.Thread(target=beat, name=f"lease-{self.location}-{self.flow}", daemon=True)
        self._beat.start()

    def check(self) -> None:
        """Before a write: raise if this run no longer holds the lease."""
        if not self.held or self.lost:
            raise LeaseLost(f"this run no longer holds the {self.flow} lease of {self.location}: another run took "
                            "it over; nothing more is written by this run")
        holder = self.holder()
        if holder is None or holder.run_id != self.run_id or holder.pid != os.getpid():
            self.lost = True
            raise LeaseLost(f"this run no longer holds the {self.flow} lease of {self.location} (now run "
                            f"{holder.run_id[:8] if holder else 'none'}); nothing more is written by this run")

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
            self._beat = None
        if not self.held:
            return
        self.held = False
        with contextlib.suppress(DBAPIError), self.store.tenant_tx(self.tenant) as conn:
            conn.execute(s.flow_leases.delete().where(self._where(), s.flow_leases.c.holder == self.run_id,
                                                      s.flow_leases.c.pid == os.getpid()))

    def __enter__(self) -> FlowLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def busy_message(flow: str, location: str, holder: Holder) -> str:
    """What the skipped run says, in its metadata and log."""
    since = holder.acquired_at.strftime("%H:%M:%S UTC")
    return (f"another run is syncing {flow} for {location} (run {holder.run_id[:8]}, since {since}); this run "
            "wrote nothing, and the other run moves everything due")
