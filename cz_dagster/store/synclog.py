"""The sync log: every request and response, redacted, scoped by tenant (database), location and surface."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from cz_dagster.store import schema as s
from cz_dagster.store.db import Store
from cz_dagster.store.schema import utcnow


@dataclass(frozen=True)
class LogEntry:
    id: int
    ts: datetime
    location: str
    surface: str
    system: str
    method: str
    url: str
    status: int | None
    duration_ms: int | None
    request: str | None
    response: str | None
    error: str | None
    run_id: str | None


class SyncLog:
    """Writer for one tenant; callers redact before writing (see ``sync.redact``)."""

    def __init__(self, store: Store, tenant: str, run_id: str | None = None):
        self.store, self.tenant, self.run_id = store, tenant, run_id

    def write(self, *, location: str, surface: str, system: str, method: str, url: str, status: int | None,
              duration_ms: int | None, request: str | None, response: str | None, error: str | None = None) -> int:
        with self.store.tenant_tx(self.tenant) as conn:
            result = conn.execute(s.sync_log.insert().values(
                ts=utcnow(), location=location, surface=surface, system=system, method=method, url=url,
                status=status, duration_ms=duration_ms, request=request, response=response, error=error,
                run_id=self.run_id))
            return int(result.inserted_primary_key[0])

    def finish(self, entry_id: int, *, status: int | None, duration_ms: int | None, response: str | None,
               error: str | None = None, url: str | None = None) -> None:
        """The answer to a request written before it was sent (``write`` with no status)."""
        values = {"status": status, "duration_ms": duration_ms, "response": response, "error": error}
        if url is not None:
            values["url"] = url
        with self.store.tenant_tx(self.tenant) as conn:
            conn.execute(s.sync_log.update().where(s.sync_log.c.id == entry_id).values(**values))

    def read(self, *, location: str | None = None, surface: str | None = None, since: datetime | None = None,
             until: datetime | None = None, limit: int = 200) -> list[LogEntry]:
        t = s.sync_log
        query = select(t).order_by(t.c.id.desc()).limit(limit)
        if location:
            query = query.where(t.c.location == location)
        if surface:
            query = query.where(t.c.surface == surface)
        if since:
            query = query.where(t.c.ts >= since)
        if until:
            query = query.where(t.c.ts <= until)
        with self.store.tenant_engine(self.tenant).connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [LogEntry(**{k: r[k] for k in LogEntry.__dataclass_fields__}) for r in reversed(rows)]

    def purge(self, older_than_days: int) -> int:
        """Retention: delete entries past the configured age."""
        cutoff = utcnow() - timedelta(days=older_than_days)
        with self.store.tenant_tx(self.tenant) as conn:
            return conn.execute(delete(s.sync_log).where(s.sync_log.c.ts < cutoff)).rowcount
