"""The exactly-once ledger (DESIGN section 7): one row per (surface, location, source id, source version).

States: pending -> sending -> done | error; skipped (nothing to do, with the reason); superseded (an older
version of a record that changed at the source). ``ack_ref`` records that the source system was told (e.g. the
ConnectWise accounting batch that marked an invoice posted). The decision logic lives in ``sync.ledger``;
this module only reads and writes rows, in bulk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select, tuple_

from cz_dagster.store import schema as s
from cz_dagster.store.db import Store
from cz_dagster.store.schema import utcnow
from cz_dagster.sync.redact import redact_text
from cz_dagster.sync.vocabulary import check_surface

Key = tuple[str, str]  # (source_id, source_version)
OPEN_STATES = ("pending", "sending", "error")


@dataclass(frozen=True)
class LedgerRow:
    surface: str
    location: str
    source_id: str
    source_version: str
    label: str | None
    state: str
    target_id: str | None
    idempotency_key: str | None
    attempts: int
    last_error: str | None
    ack_ref: str | None
    updated_at: datetime

    @property
    def key(self) -> Key:
        return (self.source_id, self.source_version)


def _row(r) -> LedgerRow:  # noqa: ANN001
    return LedgerRow(**{k: r[k] for k in LedgerRow.__dataclass_fields__})


def _chunks(seq: Sequence, size: int = 400) -> Iterable[Sequence]:
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


class Ledger:
    """The ledger rows of one tenant, location and surface (invoices, contacts, ...)."""

    def __init__(self, store: Store, tenant: str, location: str, surface: str, run_id: str | None = None):
        self.store = store
        self.tenant = tenant
        self.location = location
        self.surface = check_surface(surface)
        self.run_id = run_id
        self.t = s.ledger

    def _scope(self):  # noqa: ANN202
        return and_(self.t.c.surface == self.surface, self.t.c.location == self.location)

    def rows(self, source_ids: Iterable[str] | None = None) -> list[LedgerRow]:
        """All rows of this scope, or those of the given source ids (every version)."""
        with self.store.tenant_engine(self.tenant).connect() as conn:
            if source_ids is None:
                result = conn.execute(select(self.t).where(self._scope())).mappings().all()
                return [_row(r) for r in result]
            out: list[LedgerRow] = []
            for chunk in _chunks(sorted(set(source_ids))):
                result = conn.execute(select(self.t).where(self._scope(), self.t.c.source_id.in_(chunk)))
                out.extend(_row(r) for r in result.mappings().all())
            return out

    def in_state(self, *states: str) -> list[LedgerRow]:
        with self.store.tenant_engine(self.tenant).connect() as conn:
            result = conn.execute(select(self.t).where(self._scope(), self.t.c.state.in_(states))
                                  .order_by(self.t.c.source_id)).mappings().all()
        return [_row(r) for r in result]

    def record(self, records: Sequence[tuple[str, str, str | None]]) -> None:
        """Make sure a row exists for each (source_id, version, label); older versions become superseded."""
        if not records:
            return
        now = utcnow()
        with self.store.tenant_tx(self.tenant) as conn:
            existing: set[Key] = set()
            for chunk in _chunks([r[0] for r in records]):
                for sid, ver in conn.execute(select(self.t.c.source_id, self.t.c.source_version)
                                             .where(self._scope(), self.t.c.source_id.in_(chunk))):
                    existing.add((sid, ver))
            new = [r for r in records if (r[0], r[1]) not in existing]
            if new:
                conn.execute(self.t.insert(), [
                    {"surface": self.surface, "location": self.location, "source_id": sid, "source_version": ver,
                     "label": label, "state": "pending", "attempts": 0, "run_id": self.run_id,
                     "created_at": now, "updated_at": now}
                    for sid, ver, label in new])
                changed = {sid: ver for sid, ver, _ in new if any(e[0] == sid for e in existing)}
                for sid, ver in changed.items():
                    conn.execute(self.t.update().where(
                        self._scope(), self.t.c.source_id == sid, self.t.c.source_version != ver,
                        self.t.c.state.in_(OPEN_STATES + ("skipped",)),
                    ).values(state="superseded", updated_at=now,
                             last_error=f"superseded by a newer version ({ver}) of this record"))

    def _update(self, keys: Sequence[Key], **values) -> None:  # noqa: ANN003
        if not keys:
            return
        values.setdefault("updated_at", utcnow())
        if self.run_id:
            values.setdefault("run_id", self.run_id)
        with self.store.tenant_tx(self.tenant) as conn:
            for chunk in _chunks(list(keys)):
                conn.execute(self.t.update().where(
                    self._scope(), tuple_(self.t.c.source_id, self.t.c.source_version).in_(list(chunk))
                ).values(**values))

    def mark_sending(self, keys: Sequence[Key], idempotency_key: str) -> None:
        """Written before the call: a crash leaves 'sending', which the next run resolves by looking it up."""
        self._update(keys, state="sending", idempotency_key=idempotency_key, attempts=self.t.c.attempts + 1)

    def mark_done(self, key: Key, target_id: str) -> None:
        self._update([key], state="done", target_id=target_id, last_error=None)

    def mark_done_many(self, done: dict[Key, str]) -> None:
        if not done:
            return
        now = utcnow()
        with self.store.tenant_tx(self.tenant) as conn:
            for (sid, ver), target in done.items():
                conn.execute(self.t.update().where(
                    self._scope(), self.t.c.source_id == sid, self.t.c.source_version == ver
                ).values(state="done", target_id=target, last_error=None, updated_at=now, run_id=self.run_id))

    def mark_error_many(self, errors: dict[Key, str]) -> None:
        if not errors:
            return
        now = utcnow()
        with self.store.tenant_tx(self.tenant) as conn:
            for (sid, ver), message in errors.items():
                conn.execute(self.t.update().where(
                    self._scope(), self.t.c.source_id == sid, self.t.c.source_version == ver
                ).values(state="error", last_error=redact_text(message, self.store.secrets)[:4000], updated_at=now,
                         run_id=self.run_id))

    def set_target(self, targets: dict[Key, str | None]) -> None:
        """Record (or forget) the target document of rows whatever their state: a document Xero holds but that
        is in error (its total disagrees) must never be sent again while it is there."""
        if not targets:
            return
        now = utcnow()
        with self.store.tenant_tx(self.tenant) as conn:
            for (sid, ver), target in targets.items():
                conn.execute(self.t.update().where(
                    self._scope(), self.t.c.source_id == sid, self.t.c.source_version == ver
                ).values(target_id=target, updated_at=now))

    def mark_pending(self, keys: Sequence[Key], note: str | None = None) -> None:
        self._update(keys, state="pending", last_error=redact_text(note, self.store.secrets) if note else None)

    def mark_skipped(self, keys: Sequence[Key], reason: str) -> None:
        self._update(keys, state="skipped", last_error=redact_text(reason, self.store.secrets))

    def mark_acked(self, keys: Sequence[Key], ack_ref: str) -> None:
        self._update(keys, ack_ref=ack_ref, acked_at=utcnow())

    def close_missing(self, present_source_ids: Iterable[str], reason: str) -> int:
        """Open rows whose record left the source (posted by hand, deleted) stop counting as in error."""
        present = set(present_source_ids)
        stale = [r.key for r in self.in_state("pending", "error") if r.source_id not in present]
        self.mark_skipped(stale, reason)
        return len(stale)

    def counts(self) -> dict[str, int]:
        with self.store.tenant_engine(self.tenant).connect() as conn:
            result = conn.execute(select(self.t.c.state, func.count()).where(self._scope())
                                  .group_by(self.t.c.state)).all()
        return {state: n for state, n in result}


def errors_for_location(store: Store, tenant: str, location: str) -> list[LedgerRow]:
    """Everything of a tenant-location sitting in error, across surfaces (for checks and alerts)."""
    with store.tenant_engine(tenant).connect() as conn:
        result = conn.execute(select(s.ledger).where(
            s.ledger.c.location == location, s.ledger.c.state == "error"
        ).order_by(s.ledger.c.surface, s.ledger.c.source_id)).mappings().all()
    return [_row(r) for r in result]
