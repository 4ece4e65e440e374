"""Counts and logs every API call of a run: the sync log (redacted) and the figures for run metadata."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from cz_dagster.store.db import Store
from cz_dagster.store.synclog import SyncLog
from cz_dagster.sync.redact import redact_body, redact_text, redact_url

NO_ANSWER = "sent; no answer recorded (the run stopped before the answer came back)"


class CallRecorder:
    """One per run and tenant-location. ``hold()`` queues log writes while a database lock is held (a token
    refresh), because on SQLite a second writer would wait on the lock its own process holds."""

    def __init__(self, store: Store, tenant: str, location: str, run_id: str | None = None):
        self.log = SyncLog(store, tenant, run_id)
        self.location = location
        self.calls: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()
        self.rate_limited: Counter[str] = Counter()
        self.secrets: set[str] = store.secrets  # shared: the ledger masks its error texts with the same set
        self._held: list[dict[str, Any]] | None = None
        # called before every write is sent: the flow lease's check, so a run that lost its lease sends nothing
        self.guard: Callable[[], None] | None = None

    def add_secret(self, *values: str | None) -> None:
        self.secrets.update(v for v in values if v)

    def begin(self, *, system: str, surface: str, method: str, url: str, request: Any = None) -> int | None:
        """A write is in the sync log before it is sent, so a run killed mid-call still shows what it sent (and
        the entry says no answer was recorded). Reads are logged with their answer only: a read killed mid-call
        changed nothing. ``record(..., entry_id=)`` adds the answer."""
        if method == "GET" or self._held is not None or system == "identity":
            return None  # a token refresh runs under a database lock: logged after, as before
        if self.guard is not None:
            self.guard()
        return self.log.write(location=self.location, surface=surface, system=system, method=method,
                              url=redact_url(url, self.secrets), status=None, duration_ms=None,
                              request=self._body(request), response=None, error=NO_ANSWER)

    def record(self, *, system: str, surface: str, method: str, url: str, status: int | None,
               duration_ms: int | None, request: Any = None, response: Any = None, error: str | None = None,
               entry_id: int | None = None) -> None:
        self.calls[system] += 1
        if status == 429:
            self.rate_limited[system] += 1
        entry = {
            "location": self.location, "surface": surface, "system": system, "method": method,
            "url": redact_url(url, self.secrets), "status": status, "duration_ms": duration_ms,
            "request": self._body(request), "response": self._body(response),
            "error": redact_text(error, self.secrets) if error else None,
        }
        if entry_id is not None:
            self.log.finish(entry_id, status=status, duration_ms=duration_ms, response=entry["response"],
                            error=entry["error"], url=entry["url"])
        elif self._held is not None:
            self._held.append(entry)
        else:
            self.log.write(**entry)

    def _body(self, body: Any) -> str | None:
        if body is None:
            return None
        if not isinstance(body, str | bytes):
            body = json.dumps(body, default=str, ensure_ascii=False)
        return redact_body(body, self.secrets)

    def retried(self, system: str) -> None:
        self.retries[system] += 1

    @contextmanager
    def hold(self) -> Iterator[None]:
        outer = self._held is not None
        if not outer:
            self._held = []
        try:
            yield
        finally:
            if not outer:
                held, self._held = self._held or [], None
                for entry in held:
                    self.log.write(**entry)

    def summary(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for system in sorted(set(self.calls) | set(self.retries)):
            out[f"api_calls_{system}"] = self.calls[system]
            out[f"retries_{system}"] = self.retries[system]
            out[f"rate_limited_{system}"] = self.rate_limited[system]
        return out
