"""ConnectWise PSA client (httpx) and its Dagster resource.

Basic auth ``company+public:private`` plus ``clientId``; lists paged at 1,000 following ``Link`` headers;
incremental reads through ``_info/lastUpdated`` conditions with an overlap; bulk reads of unposted
transactions through the Accounting Interface export; retries (tenacity) on 429, 5xx, timeouts and dropped
connections, honouring ``Retry-After``; never on another 4xx.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
from dagster import ConfigurableResource
from pydantic import Field

from cz_dagster.errors import ApiError
from cz_dagster.resources.recorder import CallRecorder
from cz_dagster.resources.retry import RetryPolicy, TransientError, parse_retry_after
from cz_dagster.store.db import Store, StoreError
from cz_dagster.store.secrets import Secrets
from cz_dagster.sync.vocabulary import Surface

API_VERSION = "2025.1"
_NEXT_RE = re.compile(r'<([^>]+)>;\s*rel="next"')


# (run id, site) -> why ConnectWise counts as down for the rest of that run, in this process
_DOWN_IN_RUN: dict[tuple[str, str], str] = {}


class ConnectWiseError(ApiError):
    """A ConnectWise answer that is not a success and not worth retrying, with its error code and details."""

    def __init__(self, status: int, method: str, path: str, body: Any):
        self.status, self.method, self.path, self.body = status, method, path, body
        code = message = None
        if isinstance(body, dict):
            code = body.get("code") or body.get("error")
            message = body.get("message")
            details = "; ".join(e.get("message", "") for e in body.get("errors") or [] if isinstance(e, dict))
            if details:
                message = f"{message}: {details}"
        self.code = code
        super().__init__(f"ConnectWise {method} {path} answered {status}" + (f" {code}: {message}" if code else ""))


def malformed(response: httpx.Response, method: str, path: str, what: str) -> ConnectWiseError:
    """A success status whose body is not what the API promises: one clear error naming the call and the body."""
    return ConnectWiseError(response.status_code, method, path,
                            {"code": "MalformedAnswer", "message": f"{what}: {response.text[:120]!r}"})


def json_of(response: httpx.Response, method: str, path: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise malformed(response, method, path, "the answer is not valid JSON") from None


def cw_datetime(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class ConnectWiseClient:
    """One tenant's ConnectWise API, for one location's run."""

    def __init__(self, *, site_url: str, codebase: str, company_id: str, public_key: str, private_key: str,
                 client_id: str, recorder: CallRecorder, retry: RetryPolicy, timeout: float = 60.0,
                 page_size: int = 1000):
        base = f"{site_url.rstrip('/')}/{codebase.strip('/')}/apis/3.0"
        self.recorder = recorder
        self.retry = retry
        self.page_size = page_size
        recorder.add_secret(private_key, public_key)
        self.http = httpx.Client(
            base_url=base, auth=(f"{company_id}+{public_key}", private_key), timeout=timeout,
            headers={"clientId": client_id, "Accept": f"application/vnd.connectwise.com+json; version={API_VERSION}",
                     "Content-Type": "application/json"})

    def close(self) -> None:
        self.http.close()

    # -- transport -------------------------------------------------------------------------------------------
    @contextmanager
    def _outage_guard(self) -> Iterator[None]:
        """Once a call of a run has failed every attempt, ConnectWise is down for the rest of that run: its later
        calls fail at once instead of each spending the whole retry budget again (an outage would otherwise
        make every step of every partition wait minutes to fail). The next run tries afresh."""
        key = (self.recorder.log.run_id, str(self.http.base_url))
        if key[0] is not None and key in _DOWN_IN_RUN:
            raise TransientError(f"ConnectWise unavailable: {_DOWN_IN_RUN[key]}; this run makes no further "
                                 "ConnectWise calls, the next run tries again")
        try:
            yield
        except TransientError as exc:
            if key[0] is not None:
                _DOWN_IN_RUN[key] = str(exc)
            raise

    def request(self, method: str, path: str, *, surface: str, params: dict[str, Any] | None = None,
                json: Any = None, url: str | None = None) -> httpx.Response:
        """One logical call, retried on transient failures; raises ConnectWiseError on other failures."""
        with self._outage_guard():
            for attempt in self.retry.retrying(on_retry=lambda _e: self.recorder.retried("connectwise")):
                with attempt:
                    return self._once(method, url or path, surface=surface, params=params, json=json)
        raise AssertionError("unreachable")

    def _once(self, method: str, path: str, *, surface: str, params: dict[str, Any] | None,
              json: Any) -> httpx.Response:
        started = time.monotonic()
        request = self.http.build_request(method, path, params=params, json=json)
        entry = self.recorder.begin(system="connectwise", surface=surface, method=method, url=str(request.url),
                                    request=json)
        try:
            response = self.http.send(request)
        except httpx.TransportError as exc:
            self.recorder.record(system="connectwise", surface=surface, method=method, url=str(request.url),
                                 status=None, duration_ms=int((time.monotonic() - started) * 1000), request=json,
                                 error=f"{type(exc).__name__}: {exc}", entry_id=entry)
            raise TransientError(f"ConnectWise {method} {path}: {type(exc).__name__}: {exc}") from exc
        body = _json_or_text(response)
        self.recorder.record(system="connectwise", surface=surface, method=method, url=str(request.url),
                             status=response.status_code, duration_ms=int((time.monotonic() - started) * 1000),
                             request=json, response=response.text, entry_id=entry)
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientError(f"ConnectWise {method} {path} answered {response.status_code}",
                                 status=response.status_code,
                                 retry_after=parse_retry_after(response.headers.get("Retry-After")))
        if response.status_code >= 400:
            raise ConnectWiseError(response.status_code, method, path, body)
        return response

    # -- reads -----------------------------------------------------------------------------------------------
    def get_all(self, path: str, *, surface: str, conditions: str | None = None, fields: str | None = None,
                order_by: str | None = None) -> list[dict[str, Any]]:
        """Every record of a list, following ``Link: rel="next"`` at the maximum page size."""
        params: dict[str, Any] = {"page": 1, "pageSize": self.page_size}
        if conditions:
            params["conditions"] = conditions
        if fields:
            params["fields"] = fields
        if order_by:
            params["orderBy"] = order_by
        out: list[dict[str, Any]] = []
        response = self.request("GET", path, surface=surface, params=params)
        while True:
            page = json_of(response, "GET", path)
            if not isinstance(page, list) or not all(isinstance(row, dict) for row in page):
                raise malformed(response, "GET", path, "expected a JSON list of objects")
            out.extend(page)
            match = _NEXT_RE.search(response.headers.get("Link", ""))
            if not page or match is None or len(page) < self.page_size:
                return out
            response = self.request("GET", path, surface=surface, url=match.group(1))

    def count(self, path: str, *, surface: str, conditions: str | None = None) -> int:
        params = {"conditions": conditions} if conditions else None
        response = self.request("GET", f"{path}/count", surface=surface, params=params)
        body = json_of(response, "GET", f"{path}/count")
        count = body.get("count") if isinstance(body, dict) else None
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise malformed(response, "GET", f"{path}/count", "expected {\"count\": a whole number}")
        return count

    def get_by_ids(self, path: str, ids: list[int], *, surface: str, fields: str | None = None,
                   chunk: int = 200) -> list[dict[str, Any]]:
        """Many records by id in few calls (``id in (...)``), never one call per record."""
        out: list[dict[str, Any]] = []
        unique = sorted(set(ids))
        for i in range(0, len(unique), chunk):
            part = unique[i:i + chunk]
            out.extend(self.get_all(path, surface=surface, fields=fields,
                                    conditions=f"id in ({', '.join(str(x) for x in part)})"))
        return out

    @staticmethod
    def since_condition(last: datetime | None, overlap: timedelta) -> str | None:
        """Incremental read: records changed since the cursor, less an overlap for clock skew and late commits."""
        return None if last is None else f"_info/lastUpdated >= [{cw_datetime(last - overlap)}]"

    def export_invoices(self, location_id: int, *, surface: str = Surface.INVOICES) -> dict[str, Any]:
        """Every unposted invoice of a location with its GL detail lines, in one call (the Accounting Interface)."""
        body = {"locationId": location_id, "exportInvoicesFlag": True, "exportExpensesFlag": False,
                "exportProductsFlag": False, "summarizeInvoices": "Detailed"}
        return self._export(body, "transactions", surface)

    def _export(self, body: dict[str, Any], collection: str, surface: str) -> dict[str, Any]:
        """An export whose ``collection`` is not a list of objects is refused whole: read as 'nothing unposted',
        it would report every unposted record as one ConnectWise cannot export."""
        path = "finance/accounting/export"
        response = self.request("POST", path, surface=surface, json=body)
        export = json_of(response, "POST", path)
        rows = export.get(collection) if isinstance(export, dict) else None
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise malformed(response, "POST", path, f"expected an export object with a {collection} list")
        return export

    def export_procurement(self, location_id: int, *, surface: str = Surface.BILLS) -> dict[str, Any]:
        """Every unposted procurement record of a location with its GL detail, in one call."""
        body = {"locationId": location_id, "exportInvoicesFlag": False, "exportExpensesFlag": False,
                "exportProductsFlag": True}
        return self._export(body, "purchaseTransactions", surface)

    def patch(self, path: str, operations: list[dict[str, Any]], *, surface: str) -> dict[str, Any]:
        """ConnectWise PATCH: an array of {op, path, value} on whole top-level fields."""
        return json_of(self.request("PATCH", path, surface=surface, json=operations), "PATCH", path)

    # -- writes ----------------------------------------------------------------------------------------------
    def create(self, path: str, body: Any, *, surface: str,
               find: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
        """A POST that is not idempotent (an invoice payment). After an ambiguous failure -- a dropped connection,
        a timeout, a 5xx -- ConnectWise may have made the record, so before sending again ``find`` looks for it;
        a blind retry would apply the same money twice."""
        with self._outage_guard():
            return self._create(path, body, surface=surface, find=find)

    def _create(self, path: str, body: Any, *, surface: str,
                find: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
        for attempt in self.retry.retrying(on_retry=lambda _e: self.recorder.retried("connectwise")):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    found = find()
                    if found is not None:
                        return found
                return json_of(self._once("POST", path, surface=surface, params=None, json=body), "POST", path)
        raise AssertionError("unreachable")

    def find_batch(self, identifier: str, *, surface: str) -> dict[str, Any] | None:
        found = self.get_all("finance/accounting/batches", surface=surface,
                             conditions=f'batchIdentifier="{identifier}"')
        return found[0] if found else None

    def create_batch(self, identifier: str, gl_entry_ids: list[int], *, surface: str,
                     invoices: bool = True, products: bool = False) -> dict[str, Any]:
        """Mark exported GL entries posted. The identifier is deterministic, so a retry after a lost answer
        meets 'already exists', and the batch is then looked up rather than created twice."""
        body = {"batchIdentifier": identifier, "exportInvoicesFlag": invoices, "exportExpensesFlag": False,
                "exportProductsFlag": products, "processedRecordIds": gl_entry_ids}
        try:
            response = self.request("POST", "finance/accounting/batches", surface=surface, json=body)
            return json_of(response, "POST", "finance/accounting/batches")
        except ConnectWiseError as exc:
            if exc.status == 400 and "ObjectExists" in str(exc.body):
                existing = self.find_batch(identifier, surface=surface)
                if existing is not None:
                    return existing
            raise


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


class ConnectWiseResource(ConfigurableResource):
    """Builds a ConnectWise client for a tenant from its stored (encrypted) credentials."""

    timeout_seconds: float = 60.0
    page_size: int = Field(default=1000, le=1000, ge=1)
    retry_attempts: int = 6
    retry_base_delay: float = 0.5
    retry_max_delay: float = 30.0
    overlap_minutes: int = 10

    def client(self, store: Store, tenant: str, recorder: CallRecorder) -> ConnectWiseClient:
        t = store.tenant(tenant)
        creds = Secrets(store, tenant).get("connectwise")
        if not t.cw_url or not t.cw_company_id or not creds:
            raise StoreError(f"tenant {tenant!r} has no ConnectWise credentials: run "
                             f"`cz connectwise credentials --tenant {tenant} --site ... --company ...`")
        return ConnectWiseClient(
            site_url=t.cw_url, codebase=t.cw_codebase, company_id=t.cw_company_id,
            public_key=creds["public_key"], private_key=creds["private_key"], client_id=creds["client_id"],
            recorder=recorder, timeout=self.timeout_seconds, page_size=self.page_size,
            retry=RetryPolicy(attempts=self.retry_attempts, base_delay=self.retry_base_delay,
                              max_delay=self.retry_max_delay))
