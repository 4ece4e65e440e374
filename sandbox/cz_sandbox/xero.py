"""The Xero simulator: OAuth 2.0, /connections and the Accounting API over real HTTP, indistinguishable from Xero
to the xero-python SDK except by its URL.

``create_xero_app()`` returns a Starlette app wrapped outermost in the sandbox's FaultMiddleware. State is in
memory and rebuilt by ``POST /_sandbox/reset``. The pieces:

- xero_oauth.py         authorization codes, rotating refresh tokens with a grace window, access tokens, connections
- xero_accounting.py    organisations, invoices, contacts and reference data with Xero's validation rules
- xero_numbering.py     document numbers: the index behind look-ups and uniqueness, the INV-/CN- sequences
- xero_credit_notes.py  credit notes (ACCRECCREDIT / ACCPAYCREDIT) on the invoices' document code
- xero_allocations.py   credit notes, overpayments and prepayments allocated to invoices, and reversed
- xero_payments.py      payments (applied to and reversed from invoices; cash refunds of credit notes)
- xero_prepayments.py   admin-made overpayments and prepayments
- xero_where.py         the ``where`` / ``order`` subset
- xero_formats.py       MS-JSON dates, lenient booleans, If-Modified-Since
- xero_catalog.py       items
- xero_payroll.py       Payroll AU under /payroll.xro/1.0: employees, calendars, pay items, leave, timesheets
- this module           HTTP routing, auth checks, rate limits, Idempotency-Key replay, the /_sandbox/ admin routes

Handlers read the request body first and then do all their work synchronously under one lock, so concurrent
requests on uvicorn's event loop (and admin calls) never see half-applied batches.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cz_sandbox import demo
from cz_sandbox.faults import FaultInjector, FaultMiddleware
from cz_sandbox.xero_accounting import (
    ElementError,
    Org,
    contact_view,
    document_view,
    failed_contact,
    failed_invoice,
    find_invoice,
    new_contact_doc,
    render_account,
    render_contact,
    render_invoice,
    render_organisation,
    render_tax_rate,
    render_tracking_category,
    save_contact,
    save_invoice,
    seed_org,
)
from cz_sandbox.xero_allocations import (
    allocate,
    delete_allocation,
    failed_allocation,
    render_allocation,
    render_deleted,
)
from cz_sandbox.xero_catalog import failed_item, find_item, render_item, save_item, seed_items
from cz_sandbox.xero_credit_notes import SORTABLE as CREDIT_NOTE_SORTABLE
from cz_sandbox.xero_credit_notes import failed_credit_note, find_credit_note, render_credit_note, save_credit_note
from cz_sandbox.xero_formats import Clock, now_ms_json, parse_bool, parse_since
from cz_sandbox.xero_oauth import Grant, OAuthError, OAuthStore
from cz_sandbox.xero_payments import create_payment, delete_payment, failed_payment, payment_view, render_payment
from cz_sandbox.xero_payroll import (
    PayrollApi,
    render_calendar,
    render_employee,
    render_leave_application,
    render_timesheet,
    seed_payroll,
    set_timesheet_status,
)
from cz_sandbox.xero_prepayments import SORTABLE as ADVANCE_SORTABLE
from cz_sandbox.xero_prepayments import advance_view, create_advance, render_advance
from cz_sandbox.xero_prepayments import store as advance_store
from cz_sandbox.xero_where import WhereError, compile_where, sort_docs

__all__ = ["XeroOrg", "XeroSandboxConfig", "create_xero_app", "API_PREFIX", "PAYROLL_PREFIX"]

API_PREFIX = "/api.xro/2.0"
PAYROLL_PREFIX = "/payroll.xro/1.0"
PROVIDER = "cz sandbox"
NOT_FOUND = {"Title": "Not Found", "Status": 404, "Detail": "The resource you're looking for cannot be found"}
TUNABLE = ("minute_limit", "minute_window_seconds", "day_limit", "concurrent_limit", "app_minute_limit",
           "access_token_seconds", "refresh_grace_seconds", "idempotency_seconds")
FLOAT_TUNABLE = ("minute_window_seconds", "refresh_grace_seconds", "idempotency_seconds")


@dataclass
class XeroOrg:
    """One simulated organisation; ``slug`` picks its pre-existing contacts from demo.PREEXISTING_XERO_CONTACTS."""

    tenant_id: str
    name: str
    slug: str | None = None


def _demo_orgs() -> list[XeroOrg]:
    return [XeroOrg(loc["xero_tenant_id"], loc["xero_org"], slug) for slug, loc in demo.LOCATIONS.items()]


@dataclass
class XeroSandboxConfig:
    """Knobs of the simulator; the numeric ones can also be changed at runtime with POST /_sandbox/config."""

    orgs: list[XeroOrg] = field(default_factory=_demo_orgs)
    client_id: str = demo.XERO_CLIENT_ID
    client_secret: str = demo.XERO_CLIENT_SECRET
    access_token_seconds: int = 1800
    refresh_grace_seconds: float = 1800.0
    minute_limit: int = 60
    minute_window_seconds: float = 60.0  # Xero's is a minute; tests scale it down (e.g. 12 calls per 6 s)
    day_limit: int = 5000
    concurrent_limit: int = 5
    app_minute_limit: int = 10000
    idempotency_seconds: float = 360.0


# ---------------------------------------------------------------- rate limits

class RateLimiter:
    """Xero's per-organisation limits: fixed windows of ``minute_window_seconds`` (60) that start at a tenant's
    first call (so each tenant resets at its own time), a UTC-day budget, calls in flight, and one app-wide
    minute window."""

    def __init__(self, config: XeroSandboxConfig):
        self.config = config
        self.lock = threading.Lock()
        self.minute: dict[str, list[float]] = {}
        self.day: dict[str, list[Any]] = {}
        self.app: list[float] = [0.0, 0]
        self.inflight: dict[str, int] = {}

    def reset(self) -> None:
        with self.lock:
            self.minute.clear()
            self.day.clear()
            self.app = [0.0, 0]

    def enter(self, tenant: str | None) -> bool:
        """Take a concurrency slot; False when the tenant already has ``concurrent_limit`` calls in flight."""
        key = (tenant or "").lower()
        with self.lock:
            if self.inflight.get(key, 0) >= self.config.concurrent_limit:
                return False
            self.inflight[key] = self.inflight.get(key, 0) + 1
            return True

    def leave(self, tenant: str | None) -> None:
        key = (tenant or "").lower()
        with self.lock:
            self.inflight[key] = max(0, self.inflight.get(key, 0) - 1)

    def in_flight(self, tenant: str | None) -> int:
        with self.lock:
            return self.inflight.get((tenant or "").lower(), 0)

    def _windows(self, tenant: str, now: float) -> tuple[list[float], list[Any]]:
        minute = self.minute.get(tenant)
        if minute is None or now >= minute[0] + self.config.minute_window_seconds:
            minute = self.minute[tenant] = [now, 0]
        today = datetime.fromtimestamp(now, tz=UTC).date()
        day = self.day.get(tenant)
        if day is None or day[0] != today:
            day = self.day[tenant] = [today, 0]
        if now >= self.app[0] + 60:
            self.app = [now, 0]
        return minute, day

    def admit(self, tenant: str) -> tuple[str | None, int | None]:
        """Count one call, or return (problem, retry_after) without counting it."""
        now = time.time()
        with self.lock:
            minute, day = self._windows(tenant, now)
            if day[1] >= self.config.day_limit:
                midnight = datetime.combine(day[0] + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
                return "day", max(1, math.ceil(midnight.timestamp() - now))
            if minute[1] >= self.config.minute_limit:
                return "minute", max(1, math.ceil(minute[0] + self.config.minute_window_seconds - now))
            if self.app[1] >= self.config.app_minute_limit:
                return "appminute", None
            minute[1] += 1
            day[1] += 1
            self.app[1] += 1
            return None, None

    def headers(self, tenant: str | None) -> dict[str, str]:
        now = time.time()
        with self.lock:
            if tenant:
                minute, day = self._windows(tenant, now)
                used_min, used_day = int(minute[1]), int(day[1])
            else:
                used_min = used_day = 0
                if now >= self.app[0] + 60:
                    self.app = [now, 0]
            return {
                "X-DayLimit-Remaining": str(max(0, self.config.day_limit - used_day)),
                "X-MinLimit-Remaining": str(max(0, self.config.minute_limit - used_min)),
                "X-AppMinLimit-Remaining": str(max(0, self.config.app_minute_limit - int(self.app[1]))),
            }


class _StatusSeen:
    """Wraps ASGI ``send`` to note the status answered; keeps ``__self__`` (a dropped-connection fault reaches
    the server's transport through it)."""

    def __init__(self, send: Any):
        self.send, self.status = send, None
        self.__self__ = getattr(send, "__self__", None)

    async def __call__(self, message: dict[str, Any]) -> None:
        if message.get("type") == "http.response.start":
            self.status = int(message.get("status", 0))
        await self.send(message)


class XeroFaultMiddleware(FaultMiddleware):
    """FaultMiddleware that also holds the concurrency slot, so an injected delay counts as a call in progress
    (a slow Xero answer is exactly when a client's sixth parallel call gets ``429 concurrent``), and times every
    API call from its arrival to its answer: the call log's ``started`` and ``ended`` (epoch seconds), also for
    calls a fault answered before the simulator saw them (logged with ``fault: true``)."""

    def __init__(self, app: Any, injector: FaultInjector, default_response: Any, limiter: RateLimiter,
                 log: Any = None):
        super().__init__(app, injector, default_response=default_response)
        self.limiter = limiter
        self.log = log

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith((API_PREFIX + "/", PAYROLL_PREFIX + "/")):
            await super().__call__(scope, receive, send)
            return
        tenant = next((v.decode() for k, v in scope.get("headers", []) if k.lower() == b"xero-tenant-id"), None)
        scope["cz.started"] = time.time()
        admitted = self.limiter.enter(tenant)
        scope["cz.concurrency_ok"] = admitted
        answer = _StatusSeen(send)
        try:
            await super().__call__(scope, receive, answer)
        finally:
            if admitted:
                self.limiter.leave(tenant)
            entry = scope.get("cz.call")
            if entry is not None:
                entry["ended"] = time.time()
            elif self.log is not None:  # answered by a fault before the simulator saw it
                self.log({"ts": time.time(), "method": scope["method"], "path": scope["path"],
                          "status": answer.status,
                          "tenant_id": (tenant or "").strip().lower() or None, "in_flight": None,
                          "started": scope["cz.started"], "ended": time.time(), "fault": True})


# ---------------------------------------------------------------- responses

def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status_code=status, headers=headers or {},
                    media_type="application/json; charset=utf-8")


def problem(status: int, title: str, detail: str) -> dict[str, Any]:
    """Xero's problem-details body for 401/403 (note ``Type`` is null)."""
    return {"Type": None, "Title": title, "Status": status, "Detail": detail, "Instance": str(uuid.uuid4()),
            "Extensions": {}}


def api_exception(number: int, kind: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"ErrorNumber": number, "Type": kind, "Message": message, **extra}


def envelope(collection: str, items: Any, pagination: dict[str, int] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"Id": str(uuid.uuid4()), "Status": "OK", "ProviderName": PROVIDER,
                            "DateTimeUTC": now_ms_json()}
    if pagination is not None:
        body["pagination"] = pagination
    body[collection] = items
    return body


def _default_fault_response(config: XeroSandboxConfig) -> Any:
    """Bodies for injected statuses, shaped like the ones Xero sends for that status."""

    def respond(status: int) -> tuple[dict[str, str], Any]:
        remaining = {"X-DayLimit-Remaining": str(config.day_limit), "X-MinLimit-Remaining": "0",
                     "X-AppMinLimit-Remaining": str(config.app_minute_limit)}
        if status == 429:
            return ({**remaining, "X-Rate-Limit-Problem": "minute", "Retry-After": "1"},
                    {"Title": "Too Many Requests", "Status": 429, "Detail": "Rate limit exceeded"})
        if status == 401:
            stamp = datetime.now(UTC).strftime("%m/%d/%Y %H:%M:%S")
            return {}, problem(401, "Unauthorized", f"TokenExpired: token expired at {stamp}")
        if status == 403:
            return {}, problem(403, "Forbidden", "AuthenticationUnsuccessful")
        if status == 400:
            return {}, api_exception(10, "ValidationException", "A validation exception occurred", Elements=[])
        if status == 404:
            return {}, NOT_FOUND
        if status == 503:
            return {}, {"Title": "Service Unavailable", "Status": 503, "Detail": "Organisation offline"}
        return {}, {"Title": "An error occurred", "Status": status,
                    "Detail": "An error occurred in Xero. Check the API Status page http://status.developer.xero.com "
                              "for current service status."}

    return respond


# ---------------------------------------------------------------- the simulator

class XeroSimulator:
    """All state and handlers; one instance per app."""

    def __init__(self, config: XeroSandboxConfig):
        self.config = config
        self.lock = threading.RLock()
        self.clock = Clock()
        self.oauth = OAuthStore(config)
        self.limiter = RateLimiter(config)
        self.faults = FaultInjector()
        self.orgs: dict[str, Org] = {}
        self.idempotency: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[dict[str, Any]] = []
        self.reset(keep_tokens=False)

    def reset(self, keep_tokens: bool) -> None:
        with self.lock:
            self.orgs = {}
            for o in self.config.orgs:
                org = seed_org(o.tenant_id.lower(), o.name, o.slug)
                seed_items(org)
                org.payroll = seed_payroll(org, o.slug)
                self.orgs[org.tenant_id] = org
            self.idempotency.clear()
            self.calls.clear()
            self.faults.clear()
            self.limiter.reset()
            if not keep_tokens:
                self.oauth.clear()

    # ------------------------------------------------------------ identity
    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        try:
            self.oauth.check_client(q.get("client_id"), secret_needed=False)
        except OAuthError:
            return _json(400, {"error": "invalid_client"})
        redirect_uri = q.get("redirect_uri")
        if not redirect_uri:
            return _json(400, {"error": "invalid_request", "error_description": "redirect_uri is required"})
        sep = "&" if "?" in redirect_uri else "?"
        if q.get("response_type") != "code":
            return RedirectResponse(redirect_uri + sep + urlencode({"error": "unsupported_response_type",
                                                                    "state": q.get("state", "")}), 302)
        known = [o.tenant_id.lower() for o in self.config.orgs]
        tenants = known
        if q.get("orgs"):
            tenants = [t.strip().lower() for t in q["orgs"].split(",") if t.strip()]
            if any(t not in known for t in tenants):
                return _json(400, {"error": "invalid_request", "error_description": "unknown organisation in orgs"})
        scope = q.get("scope") or demo.XERO_SCOPES
        code = self.oauth.authorize(q["client_id"], redirect_uri, scope, tenants)
        params = {"code": code, "scope": scope}
        if q.get("state") is not None:
            params["state"] = q["state"]
        return RedirectResponse(redirect_uri + sep + urlencode(params), 302)

    def _client_from(self, request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                cid, _, secret = base64.b64decode(auth.split(None, 1)[1]).decode().partition(":")
                return cid, secret
            except (ValueError, UnicodeDecodeError):
                return None, None
        return form.get("client_id"), form.get("client_secret")

    async def token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        cid, secret = self._client_from(request, form)
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        try:
            # A PKCE public client proves itself with code_verifier instead of a secret.
            self.oauth.check_client(cid, secret, secret_needed=not (form.get("code_verifier") and secret is None))
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                token = self.oauth.exchange_code(form.get("code", ""), form.get("redirect_uri"), cid or "")
            elif grant_type == "refresh_token":
                token = self.oauth.refresh(form.get("refresh_token", ""), cid or "")
            elif grant_type == "client_credentials":
                raise OAuthError("unauthorized_client")
            else:
                raise OAuthError("unsupported_grant_type")
        except OAuthError as exc:
            return _json(400, {"error": exc.code}, headers)
        return _json(200, token, headers)

    async def revocation(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        cid, secret = self._client_from(request, form)
        try:
            self.oauth.check_client(cid, secret)
        except OAuthError as exc:
            return _json(400, {"error": exc.code})
        self.oauth.revoke(form.get("token", ""))
        return Response(status_code=200)

    def _bearer(self, request: Request) -> tuple[Grant | None, Response | None]:
        grant, detail = self.oauth.authenticate(request.headers.get("authorization"))
        if grant is None:
            return None, _json(401, problem(401, "Unauthorized", detail or "AuthenticationUnsuccessful"))
        return grant, None

    async def connections(self, request: Request) -> Response:
        grant, error = self._bearer(request)
        self._log(request, error.status_code if error else 200, None)
        if error:
            return error
        event = request.query_params.get("authEventId")
        items = [{
            "id": c.id, "authEventId": grant.auth_event_id, "tenantId": c.tenant_id, "tenantType": "ORGANISATION",
            "tenantName": self.orgs[c.tenant_id].name if c.tenant_id in self.orgs else None,
            "createdDateUtc": c.created.replace(tzinfo=None).isoformat(timespec="microseconds") + "0",
            "updatedDateUtc": c.updated.replace(tzinfo=None).isoformat(timespec="microseconds") + "0",
        } for c in grant.connections.values() if not event or event.lower() == grant.auth_event_id]
        return _json(200, items)

    async def delete_connection(self, request: Request) -> Response:
        grant, error = self._bearer(request)
        if error:
            return error
        if not self.oauth.disconnect(grant, request.path_params["id"].lower()):
            return _json(404, {"Title": "Not Found", "Status": 404, "Detail": "Connection not found"})
        return Response(status_code=204)

    # ------------------------------------------------------------ accounting API
    def _log(self, request: Request, status: int, tenant: str | None) -> None:
        entry = {"ts": time.time(), "method": request.method, "path": request.url.path, "status": status,
                 "tenant_id": tenant, "in_flight": self.limiter.in_flight(tenant),
                 "started": request.scope.get("cz.started"), "ended": None}
        request.scope["cz.call"] = entry  # the middleware stamps ``ended`` once the answer is sent
        with self.lock:
            self.calls.append(entry)

    def log_call(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.calls.append(entry)

    async def api(self, request: Request) -> Response:
        body = await request.body()
        tenant = (request.headers.get("xero-tenant-id") or "").strip().lower() or None
        with self.lock:
            status, payload, headers = self._api(request, body, tenant)
        self._log(request, status, tenant)
        if payload is None:
            return Response(status_code=status, headers=headers)
        if isinstance(payload, bytes):
            return Response(payload, status_code=status, headers=headers,
                            media_type="application/json; charset=utf-8")
        return _json(status, payload, headers)

    def _api(self, request: Request, body: bytes, tenant: str | None) -> tuple[int, Any, dict[str, str]]:
        limit_tenant = tenant if tenant in self.orgs else None
        grant, detail = self.oauth.authenticate(request.headers.get("authorization"))
        if grant is None:
            return 401, problem(401, "Unauthorized", detail or ""), self.limiter.headers(limit_tenant)
        if tenant is None or tenant not in self.orgs or tenant not in grant.tenant_ids():
            return 403, problem(403, "Forbidden", "AuthenticationUnsuccessful"), self.limiter.headers(limit_tenant)
        if not request.scope.get("cz.concurrency_ok", True):
            return 429, {"Title": "Too Many Requests", "Status": 429, "Detail": "Concurrent limit exceeded"}, {
                **self.limiter.headers(tenant), "X-Rate-Limit-Problem": "concurrent"}
        problem_kind, retry_after = self.limiter.admit(tenant)
        if problem_kind:
            headers = {**self.limiter.headers(tenant), "X-Rate-Limit-Problem": problem_kind}
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
            return 429, {"Title": "Too Many Requests", "Status": 429,
                         "Detail": f"Rate limit exceeded: {problem_kind}"}, headers
        status, payload = self._idempotent(request, body, tenant, grant)
        return status, payload, self.limiter.headers(tenant)

    def _idempotent(self, request: Request, body: bytes, tenant: str, grant: Grant) -> tuple[int, Any]:
        key = request.headers.get("idempotency-key")
        if request.method not in ("PUT", "POST", "PATCH") or not key:
            return self._dispatch(request, body, tenant)
        if len(key) > 128:
            return 400, api_exception(10, "ValidationException",
                                      "The Idempotency-Key header must be 128 characters or fewer.")
        fingerprint = hashlib.sha256(b"\n".join([
            request.method.encode(), request.url.path.lower().encode(),
            "&".join(sorted(f"{k.lower()}={v.lower()}" for k, v in request.query_params.multi_items())).encode(),
            tenant.encode(), body])).hexdigest()
        now = time.time()
        for stale in [k for k, v in self.idempotency.items() if now - v["ts"] > self.config.idempotency_seconds]:
            del self.idempotency[stale]
        slot = (grant.client_id, key.lower())
        stored = self.idempotency.get(slot)
        if stored is not None:
            if stored["fingerprint"] != fingerprint:
                return 400, api_exception(10, "ValidationException",
                                          f"Idempotency Key {key} is used with a different request")
            return stored["status"], stored["body"]
        status, payload = self._dispatch(request, body, tenant)
        # Store the serialized body so a replay is byte-for-byte the first answer (errors are cached too).
        self.idempotency[slot] = {"fingerprint": fingerprint, "status": status, "ts": now,
                                  "body": json.dumps(payload).encode() if payload is not None else None}
        return status, self.idempotency[slot]["body"]

    def _dispatch(self, request: Request, body: bytes, tenant: str) -> tuple[int, Any]:
        org = self.orgs[tenant]
        parts = [p for p in request.path_params["path"].split("/") if p]
        resource = parts[0].lower() if parts else ""
        method = request.method
        q = request.query_params
        if request.url.path.startswith(PAYROLL_PREFIX + "/"):
            return self._payroll(org, request, body, parts)
        try:
            if resource in ("creditnotes", "overpayments", "prepayments"):
                return self._dispatch_credits(org, request, body, parts, resource)
            if resource in ("payments", "items", "trackingcategories"):
                return self._dispatch_more(org, request, body, parts, resource)
            if resource in ("invoices", "contacts") and method in ("PUT", "POST"):
                try:
                    payload = json.loads(body or b"null")
                except ValueError:
                    return 400, api_exception(14, "PostDataInvalidException", "Invalid Json data")
                if len(parts) > 1:
                    if method == "PUT":
                        return 405, {"Title": "Method Not Allowed", "Status": 405}
                    key = "InvoiceID" if resource == "invoices" else "ContactID"
                    item = payload.get("Invoices" if resource == "invoices" else "Contacts", [payload]) \
                        if isinstance(payload, dict) else payload
                    item = item[0] if isinstance(item, list) and item else item
                    if resource == "invoices":
                        found = find_invoice(org, parts[1])
                        if found is None:
                            return 404, {"Title": "Not Found", "Status": 404,
                                         "Detail": "The resource you're looking for cannot be found"}
                        parts[1] = found["InvoiceID"]
                    payload = [{**(item if isinstance(item, dict) else {}), key: parts[1]}]
                return self._save(org, resource, payload, create_only=method == "PUT",
                                  summarize=parse_bool(q.get("summarizeErrors"), True),
                                  unitdp=4 if q.get("unitdp") == "4" else 2)
            if method != "GET":
                return 405, {"Title": "Method Not Allowed", "Status": 405}
            if resource == "invoices":
                return self._get_invoices(org, request, parts)
            if resource == "contacts":
                return self._get_contacts(org, request, parts)
            if resource == "taxrates" and len(parts) == 1:
                rates = [render_tax_rate(r) for r in org.tax_rates.values()]
                return 200, envelope("TaxRates", self._filter_plain(rates, q))
            if resource == "accounts" and len(parts) == 1:
                accounts = [render_account(a) for a in org.accounts.values()]
                return 200, envelope("Accounts", self._filter_plain(accounts, q))
            if resource == "currencies" and len(parts) == 1:
                return 200, envelope("Currencies", self._filter_plain([dict(c) for c in org.currencies], q))
            if resource == "organisation" and len(parts) == 1:
                return 200, envelope("Organisations", [render_organisation(org)])
        except WhereError as exc:
            return 400, api_exception(16, "QueryParseException", str(exc))
        except ValueError as exc:
            return 400, api_exception(16, "QueryParseException", str(exc))
        return 404, {"Title": "Not Found", "Status": 404, "Detail": "The resource you're looking for cannot be found"}

    @staticmethod
    def _filter_plain(items: list[dict[str, Any]], q: Any) -> list[dict[str, Any]]:
        where = compile_where(q.get("where"))
        items = [i for i in items if where(i)]
        if q.get("order"):
            items = sort_docs(items, q.get("order"), {k.lower() for i in items for k in i})
        return items

    def _save(self, org: Org, resource: str, payload: Any, create_only: bool, summarize: bool,
              unitdp: int) -> tuple[int, Any]:
        collection = "Invoices" if resource == "invoices" else "Contacts"
        if isinstance(payload, dict):
            elements = payload.get(collection, [payload])
        elif isinstance(payload, list):
            elements = payload
        else:
            return 400, api_exception(14, "PostDataInvalidException", "No data has been provided")
        if not isinstance(elements, list):
            return 400, api_exception(14, "PostDataInvalidException", f"{collection} must be a list")
        if resource == "invoices":
            return self._batch(collection, elements, summarize,
                               lambda e: render_invoice(org, save_invoice(org, e, create_only, unitdp, self.clock)),
                               lambda e, messages, candidate: failed_invoice(org, e, messages, candidate))
        return self._batch(collection, elements, summarize,
                           lambda e: render_contact(save_contact(org, e, create_only, self.clock)), failed_contact)

    # ------------------------------------------------------------ payments, items, overpayments, tracking
    @staticmethod
    def _elements(payload: Any, collection: str) -> list[Any] | None:
        """A write body: ``{"<Collection>": [...]}``, a bare list, or one bare element (POST /Payments)."""
        if isinstance(payload, dict):
            elements = payload.get(collection, [payload])
            return elements if isinstance(elements, list) else None
        return payload if isinstance(payload, list) else None

    @staticmethod
    def _batch(collection: str, elements: list[Any], summarize: bool, save: Any, failed: Any) -> tuple[int, Any]:
        """Xero's batch semantics: each valid element commits; summarized errors are a 400 listing the failures."""
        results: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        for element in elements:
            try:
                out = save(element)
            except ElementError as exc:
                out = failed(element, exc.messages, getattr(exc, "candidate", None))
                failures.append(dict(out))
                out["StatusAttributeString"] = "ERROR"
            else:
                out["StatusAttributeString"] = "OK"
            results.append(out)
        if summarize:
            if failures:
                return 400, api_exception(10, "ValidationException", "A validation exception occurred",
                                          Elements=failures)
            for r in results:
                r.pop("StatusAttributeString", None)
        return 200, envelope(collection, results)

    def _dispatch_more(self, org: Org, request: Request, body: bytes, parts: list[str], resource: str
                       ) -> tuple[int, Any]:
        method, q = request.method, request.query_params
        key = parts[1] if len(parts) > 1 else None
        summarize = parse_bool(q.get("summarizeErrors"), True)
        payload: Any = None
        if method in ("PUT", "POST"):
            try:
                payload = json.loads(body or b"null")
            except ValueError:
                return 400, api_exception(14, "PostDataInvalidException", "Invalid Json data")
        if resource == "payments":
            if method == "GET":
                return self._get_payments(org, request, key)
            if method == "POST" and key:
                return self._delete_payment(org, key, payload)
            if method in ("PUT", "POST"):
                elements = self._elements(payload, "Payments")
                if elements is None:
                    return 400, api_exception(14, "PostDataInvalidException", "No data has been provided")
                return self._batch("Payments", elements, summarize,
                                   lambda e: render_payment(org, create_payment(org, e, self.clock)),
                                   lambda e, m, c: failed_payment(org, e, m, c))
        if resource == "items":
            unitdp = 4 if q.get("unitdp") == "4" else 2
            if method == "GET":
                return self._get_items(org, request, key, unitdp)
            if method in ("PUT", "POST"):
                if method == "PUT" and key:
                    return 405, {"Title": "Method Not Allowed", "Status": 405}
                elements = self._elements(payload, "Items")
                if elements is None:
                    return 400, api_exception(14, "PostDataInvalidException", "No data has been provided")
                if key:
                    found = find_item(org, key)
                    if found is None:
                        return 404, NOT_FOUND
                    elements = [{**(elements[0] if elements and isinstance(elements[0], dict) else {}),
                                 "ItemID": found["ItemID"]}]
                return self._batch("Items", elements, summarize,
                                   lambda e: render_item(save_item(org, e, method == "PUT", self.clock), unitdp),
                                   failed_item)
        if method != "GET":
            return 405, {"Title": "Method Not Allowed", "Status": 405}
        if resource == "trackingcategories":
            archived = parse_bool(q.get("includeArchived"), False)
            if key:
                category = org.tracking.get(key.lower())
                return (200, envelope("TrackingCategories", [render_tracking_category(category, True)])) \
                    if category else (404, NOT_FOUND)
            cats = [render_tracking_category(c, archived) for c in org.tracking.values()
                    if archived or c["Status"] == "ACTIVE"]
            return 200, envelope("TrackingCategories", self._filter_plain(cats, q))
        return 404, NOT_FOUND

    # ------------------------------------------------------------ credit notes, overpayments, prepayments
    def _dispatch_credits(self, org: Org, request: Request, body: bytes, parts: list[str], resource: str
                          ) -> tuple[int, Any]:
        """/CreditNotes (GET, PUT, POST, POST /{id}), /Overpayments and /Prepayments (GET; Xero makes those from
        bank transactions, which the simulator leaves to its admin routes), and for all three PUT /{id}/Allocations
        and DELETE /{id}/Allocations/{AllocationID}."""
        method, q = request.method, request.query_params
        kind = {"creditnotes": "CreditNote", "overpayments": "Overpayment", "prepayments": "Prepayment"}[resource]
        key = parts[1] if len(parts) > 1 else None
        payload: Any = None
        if method in ("PUT", "POST"):
            try:
                payload = json.loads(body or b"null")
            except ValueError:
                return 400, api_exception(14, "PostDataInvalidException", "Invalid Json data")
        source = None
        if key:
            source = find_credit_note(org, key) if kind == "CreditNote" else advance_store(org, kind).get(key.lower())
            if source is None:
                return 404, NOT_FOUND
        if len(parts) > 2:
            if parts[2].lower() != "allocations" or len(parts) > 4:
                return 404, NOT_FOUND
            return self._allocations(org, kind, source, method, payload, parts, q)
        if method == "GET":
            return self._get_credits(org, request, kind, source)
        if kind != "CreditNote" or method not in ("PUT", "POST") or (method == "PUT" and key):
            return 405, {"Title": "Method Not Allowed", "Status": 405}
        elements = self._elements(payload, "CreditNotes")
        if elements is None:
            return 400, api_exception(14, "PostDataInvalidException", "No data has been provided")
        if source is not None:  # POST /CreditNotes/{id}: the body's one credit note is that one
            first = elements[0] if elements and isinstance(elements[0], dict) else {}
            elements = [{**first, "CreditNoteID": source["CreditNoteID"]}]
        unitdp = 4 if q.get("unitdp") == "4" else 2
        return self._batch("CreditNotes", elements, parse_bool(q.get("summarizeErrors"), True),
                           lambda e: render_credit_note(org, save_credit_note(org, e, method == "PUT", unitdp,
                                                                              self.clock)),
                           lambda e, m, c: failed_credit_note(org, e, m, c))

    def _allocations(self, org: Org, kind: str, source: dict[str, Any], method: str, payload: Any,
                     parts: list[str], q: Any) -> tuple[int, Any]:
        if len(parts) == 3 and method == "PUT":
            elements = self._elements(payload, "Allocations")
            if elements is None:
                return 400, api_exception(14, "PostDataInvalidException", "No data has been provided")
            return self._batch("Allocations", elements, parse_bool(q.get("summarizeErrors"), True),
                               lambda e: render_allocation(org, allocate(org, kind, source, e, self.clock), True),
                               lambda e, m, c: failed_allocation(org, e, m, c))
        if len(parts) == 4 and method == "DELETE":
            try:
                allocation = delete_allocation(org, kind, source, parts[3], self.clock)
            except KeyError:
                return 404, NOT_FOUND
            except ElementError as exc:
                return 400, api_exception(10, "ValidationException", "A validation exception occurred",
                                          Elements=[{"ValidationErrors": [{"Message": m} for m in exc.messages]}])
            return 200, render_deleted(allocation, allocation["UpdatedDateUTC"])
        return 405, {"Title": "Method Not Allowed", "Status": 405}

    def _get_credits(self, org: Org, request: Request, kind: str, source: dict[str, Any] | None
                     ) -> tuple[int, Any]:
        """GET of credit notes, overpayments or prepayments: one by id, or the list with If-Modified-Since, where,
        order, page/pageSize and the spec's list filters (References on overpayments and prepayments,
        InvoiceNumbers on prepayments; References on prepayments is the SDK's, built from a newer spec)."""
        collection = {"CreditNote": "CreditNotes", "Overpayment": "Overpayments", "Prepayment": "Prepayments"}[kind]

        def render(doc: dict[str, Any]) -> dict[str, Any]:
            return render_credit_note(org, doc) if kind == "CreditNote" else render_advance(org, kind, doc)

        if source is not None:
            return 200, envelope(collection, [render(source)])
        q = request.query_params
        docs = org.credit_notes if kind == "CreditNote" else advance_store(org, kind)
        since = parse_since(request.headers.get("if-modified-since"))
        where = compile_where(q.get("where"))
        references = self._csv(q, "References") if kind != "CreditNote" else None
        numbers = self._csv(q, "InvoiceNumbers") if kind == "Prepayment" else None
        views = []
        for doc in docs.values():
            if since and doc["UpdatedDateUTC"] < since:
                continue
            if references and (doc.get("Reference") or "").lower() not in references:
                continue
            if numbers and (doc.get("InvoiceNumber") or "").lower() not in numbers:
                continue
            view = document_view(org, doc) if kind == "CreditNote" else advance_view(org, doc)
            if where(view):
                views.append(view)
        id_field = {"CreditNote": "CreditNoteID", "Overpayment": "OverpaymentID", "Prepayment": "PrepaymentID"}[kind]
        views = sort_docs(views, q.get("order"), CREDIT_NOTE_SORTABLE if kind == "CreditNote" else ADVANCE_SORTABLE)
        page, pagination = self._page(views, q)
        return 200, envelope(collection, [render(docs[v[id_field]]) for v in page], pagination)

    def _get_payments(self, org: Org, request: Request, key: str | None) -> tuple[int, Any]:
        q = request.query_params
        if key:
            doc = org.payments.get(key.lower())
            return (200, envelope("Payments", [render_payment(org, doc)])) if doc else (404, NOT_FOUND)
        since = parse_since(request.headers.get("if-modified-since"))
        where = compile_where(q.get("where"))
        views = [payment_view(org, p) for p in org.payments.values() if not since or p["UpdatedDateUTC"] >= since]
        views = sort_docs([v for v in views if where(v)], q.get("order"),
                          {"date", "updateddateutc", "amount", "status", "paymenttype", "reference", "paymentid"})
        page, pagination = self._page(views, q)
        return 200, envelope("Payments", [render_payment(org, org.payments[v["PaymentID"]]) for v in page],
                             pagination)

    def _delete_payment(self, org: Org, key: str, payload: Any) -> tuple[int, Any]:
        """POST /Payments/{id} {"Status":"DELETED"}: the only change Xero allows to a payment."""
        element = (self._elements(payload, "Payments") or [{}])[0]
        if not isinstance(element, dict) or str(element.get("Status", "")).upper() != "DELETED":
            return 400, api_exception(10, "ValidationException", "A validation exception occurred",
                                      Elements=[{"PaymentID": key, "ValidationErrors": [
                                          {"Message": "Payments can only be deleted (Status DELETED)"}]}])
        try:
            doc = delete_payment(org, key, self.clock)
        except KeyError:
            return 404, NOT_FOUND
        except ElementError as exc:
            return 400, api_exception(10, "ValidationException", "A validation exception occurred",
                                      Elements=[failed_payment(org, element, exc.messages,
                                                               org.payments.get(key.lower()))])
        return 200, envelope("Payments", [render_payment(org, doc)])

    def _get_items(self, org: Org, request: Request, key: str | None, unitdp: int) -> tuple[int, Any]:
        q = request.query_params
        if key:
            doc = find_item(org, key)
            return (200, envelope("Items", [render_item(doc, unitdp)])) if doc else (404, NOT_FOUND)
        since = parse_since(request.headers.get("if-modified-since"))
        where = compile_where(q.get("where"))
        docs = [d for d in org.items.values() if (not since or d["UpdatedDateUTC"] >= since) and where(d)]
        docs = sort_docs(docs, q.get("order"), {"code", "name", "updateddateutc", "itemid"})
        return 200, envelope("Items", [render_item(d, unitdp) for d in docs])

    # ------------------------------------------------------------ payroll AU
    def _payroll(self, org: Org, request: Request, body: bytes, parts: list[str]) -> tuple[int, Any]:
        payload: Any = None
        if request.method in ("POST", "PUT"):
            try:
                payload = json.loads(body or b"null")
            except ValueError:
                return 400, api_exception(14, "PostDataInvalidException", "Invalid Json data")

        def payroll_envelope(collection: str, items: Any) -> dict[str, Any]:
            return envelope(collection, items)

        try:
            since = parse_since(request.headers.get("if-modified-since"))
            return PayrollApi(org, self.clock, payroll_envelope).handle(
                request.method, parts, request.query_params, since, payload)
        except WhereError as exc:
            return 400, api_exception(16, "QueryParseException", str(exc))
        except ValueError as exc:
            return 400, api_exception(16, "QueryParseException", str(exc))

    @staticmethod
    def _page(items: list[Any], q: Any) -> tuple[list[Any], dict[str, int]]:
        try:
            page = max(1, int(q.get("page") or 1))
            size = min(1000, max(1, int(q.get("pageSize") or 100)))
        except ValueError:
            raise WhereError("page and pageSize must be integers") from None
        count = len(items)
        return items[(page - 1) * size: page * size], {
            "page": page, "pageSize": size, "pageCount": math.ceil(count / size), "itemCount": count}

    @staticmethod
    def _csv(q: Any, name: str) -> set[str] | None:
        raw = q.get(name)
        return {v.strip().lower() for v in raw.split(",") if v.strip()} if raw else None

    def _get_invoices(self, org: Org, request: Request, parts: list[str]) -> tuple[int, Any]:
        q = request.query_params
        if len(parts) > 1:
            doc = find_invoice(org, parts[1])
            if doc is None:
                return 404, {"Title": "Not Found", "Status": 404,
                             "Detail": "The resource you're looking for cannot be found"}
            return 200, envelope("Invoices", [render_invoice(org, doc)])
        since = parse_since(request.headers.get("if-modified-since"))
        where = compile_where(q.get("where"))
        ids, numbers = self._csv(q, "IDs"), self._csv(q, "InvoiceNumbers")
        contact_ids, statuses = self._csv(q, "ContactIDs"), self._csv(q, "Statuses")
        term = (q.get("searchTerm") or "").lower()
        views = []
        for doc in org.invoices.values():
            if since and doc["UpdatedDateUTC"] < since:
                continue
            if ids and doc["InvoiceID"] not in ids:
                continue
            if numbers and (doc.get("InvoiceNumber") or "").lower() not in numbers:
                continue
            if contact_ids and doc["ContactID"] not in contact_ids:
                continue
            if statuses and doc["Status"].lower() not in statuses:
                continue
            if term and term not in f"{doc.get('InvoiceNumber') or ''} {doc.get('Reference') or ''}".lower():
                continue
            view = document_view(org, doc)
            if where(view):
                views.append(view)
        views = sort_docs(views, q.get("order"), {"invoicenumber", "updateddateutc", "date", "invoiceid", "duedate",
                                                  "total", "amountdue", "reference", "status", "type",
                                                  "contact.name"})
        page, pagination = self._page(views, q)
        items = [render_invoice(org, org.invoices[v["InvoiceID"]]) for v in page]
        if parse_bool(q.get("summaryOnly"), False):
            for item in items:
                item.pop("LineItems", None)
        return 200, envelope("Invoices", items, pagination)

    def _get_contacts(self, org: Org, request: Request, parts: list[str]) -> tuple[int, Any]:
        q = request.query_params
        if len(parts) > 1:
            doc = org.contacts.get(parts[1].lower())
            if doc is None:
                doc = next((c for c in org.contacts.values() if c.get("ContactNumber") == parts[1]), None)
            if doc is None:
                return 404, {"Title": "Not Found", "Status": 404,
                             "Detail": "The resource you're looking for cannot be found"}
            return 200, envelope("Contacts", [render_contact(doc)])
        since = parse_since(request.headers.get("if-modified-since"))
        where = compile_where(q.get("where"))
        ids = self._csv(q, "IDs")
        archived = parse_bool(q.get("includeArchived"), False)
        summary = parse_bool(q.get("summaryOnly"), False)
        term = (q.get("searchTerm") or "").lower()
        views = []
        for doc in org.contacts.values():
            if since and doc["UpdatedDateUTC"] < since:
                continue
            if ids and doc["ContactID"] not in ids:
                continue
            if doc["ContactStatus"] == "ARCHIVED" and not archived:
                continue
            if term and not any(term in str(doc.get(k) or "").lower() for k in
                                ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress")):
                continue
            view = contact_view(doc)
            if where(view):
                views.append(view)
        views = sort_docs(views, q.get("order"), {"name", "contactnumber", "updateddateutc", "emailaddress",
                                                  "contactid", "contactstatus"})
        page, pagination = self._page(views, q)
        return 200, envelope("Contacts", [render_contact(org.contacts[v["ContactID"]], summary) for v in page],
                             pagination)

    # ------------------------------------------------------------ /_sandbox admin
    def state(self) -> dict[str, Any]:
        with self.lock:
            return {"organisations": [{
                "tenant_id": org.tenant_id, "name": org.name,
                "invoices": [render_invoice(org, d) for d in org.invoices.values()],
                "bills": [render_invoice(org, d) for d in org.invoices.values() if d["Type"] == "ACCPAY"],
                "contacts": [render_contact(c) for c in org.contacts.values()],
                "payments": [render_payment(org, p) for p in org.payments.values()],
                "overpayments": [render_advance(org, "Overpayment", o) for o in org.overpayments.values()],
                "prepayments": [render_advance(org, "Prepayment", o) for o in org.prepayments.values()],
                "credit_notes": [render_credit_note(org, c) for c in org.credit_notes.values()],
                "allocations": [{**render_allocation(org, a, True), "IsDeleted": a["IsDeleted"]}
                                for a in org.allocations.values()],
                "items": [render_item(i) for i in org.items.values()],
                "tracking_categories": [render_tracking_category(c) for c in org.tracking.values()],
                "employees": [render_employee(e) for e in org.payroll.employees.values()],
                "payroll_calendars": [render_calendar(c) for c in org.payroll.calendars.values()],
                "timesheets": [render_timesheet(t) for t in org.payroll.timesheets.values()],
                "leave_applications": [render_leave_application(a)
                                       for a in org.payroll.leave_applications.values()],
            } for org in self.orgs.values()]}

    async def admin_state(self, request: Request) -> Response:
        return _json(200, self.state())

    async def admin_reset(self, request: Request) -> Response:
        body = await _json_body(request)
        self.reset(keep_tokens=bool(body.get("keep_tokens")))
        return _json(200, {"reset": True, "kept_tokens": bool(body.get("keep_tokens"))})

    async def admin_faults(self, request: Request) -> Response:
        try:
            body = await _json_body(request) if request.method == "POST" else None
        except (TypeError, ValueError) as exc:
            return _json(400, {"error": str(exc)})
        return _json(*self.faults.admin(request.method, body))

    async def admin_calls(self, request: Request) -> Response:
        """The call log, oldest first; ``?tenant_id=`` keeps one organisation's calls."""
        with self.lock:
            if request.method == "DELETE":
                self.calls.clear()
            wanted = (request.query_params.get("tenant_id") or "").strip().lower()
            return _json(200, [dict(c) for c in self.calls if not wanted or c.get("tenant_id") == wanted])

    async def admin_config(self, request: Request) -> Response:
        if request.method == "POST":
            body = await _json_body(request)
            unknown = set(body) - set(TUNABLE)
            if unknown:
                return _json(400, {"error": f"unknown settings: {sorted(unknown)}"})
            for key, value in body.items():
                setattr(self.config, key, float(value) if key in FLOAT_TUNABLE else int(value))
        data = asdict(self.config)
        data.pop("client_secret", None)
        return _json(200, data)

    async def admin_expire(self, request: Request) -> Response:
        return _json(200, {"expired": self.oauth.expire_all()})

    async def admin_revoke(self, request: Request) -> Response:
        return _json(200, {"revoked": self.oauth.revoke_all()})

    async def admin_tokens(self, request: Request) -> Response:
        """Shortcut around the browser leg: a token set connected to ``tenant_ids`` (default: all orgs)."""
        body = await _json_body(request)
        tenants = [t.lower() for t in body.get("tenant_ids") or [o.tenant_id for o in self.config.orgs]]
        if any(t not in self.orgs for t in tenants):
            return _json(400, {"error": "unknown tenant_id"})
        redirect = "http://localhost/sandbox-callback"
        code = self.oauth.authorize(self.config.client_id, redirect, body.get("scope") or demo.XERO_SCOPES, tenants)
        return _json(200, self.oauth.exchange_code(code, redirect, self.config.client_id))

    async def admin_contacts(self, request: Request) -> Response:
        body = await _json_body(request)
        org = self.orgs.get(str(body.get("tenant_id", "")).lower())
        if org is None or not body.get("Name"):
            return _json(400, {"error": "tenant_id of a sandbox organisation and Name are required"})
        with self.lock:
            cid = str(body.get("ContactID") or uuid.uuid4()).lower()
            doc = new_contact_doc(cid, {k: v for k, v in body.items() if k != "tenant_id"}, self.clock.now())
            org.contacts[cid] = doc
            return _json(200, render_contact(doc))

    async def admin_tax_rate_status(self, request: Request) -> Response:
        org = self.orgs.get(request.path_params["tenant_id"].lower())
        body = await _json_body(request)
        with self.lock:
            rate = org.tax_rates.get(request.path_params["tax_type"]) if org else None
            if rate is None or body.get("Status") not in ("ACTIVE", "DELETED", "ARCHIVED"):
                return _json(400, {"error": "unknown organisation or tax type, or Status not ACTIVE/DELETED/ARCHIVED"})
            rate["Status"] = body["Status"]
            return _json(200, render_tax_rate(rate))

    # ------------------------------------------------------------ admin: what a Xero user does in the UI
    def _admin_org(self, body: dict[str, Any]) -> Org | None:
        return self.orgs.get(str(body.get("tenant_id", "")).lower())

    async def admin_payments(self, request: Request) -> Response:
        """Record a payment as a Xero user would: {tenant_id, InvoiceNumber|InvoiceID, Amount, Date?, Reference?,
        AccountCode? (default 090)} -> the Payment (400 {"error": [...messages]} when Xero would refuse it)."""
        body = await _json_body(request)
        org = self._admin_org(body)
        if org is None:
            return _json(400, {"error": "tenant_id of a sandbox organisation is required"})
        element = {"Invoice": {"InvoiceID": body.get("InvoiceID"), "InvoiceNumber": body.get("InvoiceNumber")},
                   "Account": {"Code": body.get("AccountCode") or "090"}, "Amount": body.get("Amount"),
                   "Date": body.get("Date"), "Reference": body.get("Reference")}
        with self.lock:
            try:
                return _json(200, render_payment(org, create_payment(org, element, self.clock)))
            except ElementError as exc:
                return _json(400, {"error": exc.messages})

    async def admin_payment_delete(self, request: Request) -> Response:
        """Reverse a payment (any organisation; PaymentIDs are unique)."""
        pid = request.path_params["payment_id"].lower()
        with self.lock:
            org = next((o for o in self.orgs.values() if pid in o.payments), None)
            if org is None:
                return _json(404, {"error": "unknown PaymentID"})
            try:
                return _json(200, render_payment(org, delete_payment(org, pid, self.clock)))
            except ElementError as exc:
                return _json(400, {"error": exc.messages})

    async def admin_overpayments(self, request: Request) -> Response:
        """{tenant_id, ContactID, Amount, Date?, Reference?, Type? (RECEIVE-OVERPAYMENT | SPEND-OVERPAYMENT)} -> the
        overpayment (GET /Overpayments), as a Xero user records money received (spent) with no invoice (bill)."""
        return await self._admin_advance(request, "Overpayment")

    async def admin_prepayments(self, request: Request) -> Response:
        """{tenant_id, ContactID, Amount (tax included), Date?, Reference?, Type? (RECEIVE-PREPAYMENT |
        SPEND-PREPAYMENT), AccountCode?, TaxType?} -> the prepayment (GET /Prepayments)."""
        return await self._admin_advance(request, "Prepayment")

    async def _admin_advance(self, request: Request, kind: str) -> Response:
        body = await _json_body(request)
        org = self._admin_org(body)
        if org is None or not body.get("ContactID"):
            return _json(400, {"error": "tenant_id of a sandbox organisation and ContactID are required"})
        with self.lock:
            try:
                doc = create_advance(org, kind, body, self.clock)
            except (ElementError, ValueError) as exc:
                return _json(400, {"error": getattr(exc, "messages", [str(exc)])})
            return _json(200, render_advance(org, kind, doc))

    async def admin_allocations(self, request: Request) -> Response:
        """The finance lead allocates credit by hand in Xero: {tenant_id, one of CreditNoteID | CreditNoteNumber |
        OverpaymentID | PrepaymentID, InvoiceID | InvoiceNumber, Amount, Date?} -> the allocation, under the same
        rules as PUT .../Allocations (400 {"error": [...messages]} when Xero would refuse it)."""
        body = await _json_body(request)
        org = self._admin_org(body)
        if org is None:
            return _json(400, {"error": "tenant_id of a sandbox organisation is required"})
        with self.lock:
            if body.get("CreditNoteID") or body.get("CreditNoteNumber"):
                kind = "CreditNote"
                source = find_credit_note(org, str(body.get("CreditNoteID") or body.get("CreditNoteNumber")))
            elif body.get("OverpaymentID") or body.get("PrepaymentID"):
                kind = "Overpayment" if body.get("OverpaymentID") else "Prepayment"
                source = advance_store(org, kind).get(str(body.get(f"{kind}ID")).lower())
            else:
                return _json(400, {"error": "one of CreditNoteID, CreditNoteNumber, OverpaymentID or PrepaymentID "
                                            "is required"})
            if source is None:
                return _json(400, {"error": [f"{kind} could not be found"]})
            element = {"Invoice": {"InvoiceID": body.get("InvoiceID"), "InvoiceNumber": body.get("InvoiceNumber")},
                       "Amount": body.get("Amount"), "Date": body.get("Date")}
            try:
                return _json(200, render_allocation(org, allocate(org, kind, source, element, self.clock), True))
            except ElementError as exc:
                return _json(400, {"error": exc.messages})

    async def admin_allocation_delete(self, request: Request) -> Response:
        """The finance lead removes an allocation in Xero (any organisation; AllocationIDs are unique)."""
        aid = request.path_params["allocation_id"].lower()
        with self.lock:
            org = next((o for o in self.orgs.values() if aid in o.allocations), None)
            allocation = org.allocations[aid] if org else None
            if allocation is None or allocation["IsDeleted"]:
                return _json(404, {"error": "unknown (or already deleted) AllocationID"})
            kind = allocation["Source"]
            source = (org.credit_notes if kind == "CreditNote" else advance_store(org, kind))[allocation["SourceID"]]
            try:
                delete_allocation(org, kind, source, aid, self.clock)
            except ElementError as exc:
                return _json(400, {"error": exc.messages})
            return _json(200, {**render_allocation(org, allocation, True), "IsDeleted": True})

    async def admin_credit_note_refund(self, request: Request) -> Response:
        """A cash refund of a credit note, as a Xero user records one: {tenant_id, CreditNoteID | CreditNoteNumber,
        Amount, Date?, Reference?, AccountCode? (default 090)} -> the Payment (an ARCREDITPAYMENT or
        APCREDITPAYMENT, as PUT /Payments with a CreditNote makes it)."""
        body = await _json_body(request)
        org = self._admin_org(body)
        if org is None:
            return _json(400, {"error": "tenant_id of a sandbox organisation is required"})
        element = {"CreditNote": {"CreditNoteID": body.get("CreditNoteID"),
                                  "CreditNoteNumber": body.get("CreditNoteNumber")},
                   "Account": {"Code": body.get("AccountCode") or "090"}, "Amount": body.get("Amount"),
                   "Date": body.get("Date"), "Reference": body.get("Reference")}
        with self.lock:
            try:
                return _json(200, render_payment(org, create_payment(org, element, self.clock)))
            except ElementError as exc:
                return _json(400, {"error": exc.messages})

    async def admin_invoice_edit(self, request: Request) -> Response:
        """{tenant_id, ...Invoice fields} -> what a person does to one invoice in Xero's UI (void it, change a line):
        the same rules as the API's update, so a change Xero would refuse is refused here too."""
        body = await _json_body(request)
        org = self._admin_org(body)
        if org is None:
            return _json(400, {"error": "tenant_id of a sandbox organisation is required"})
        element = {k: v for k, v in body.items() if k != "tenant_id"}
        element["InvoiceID"] = request.path_params["invoice_id"]
        with self.lock:
            try:
                doc = save_invoice(org, element, False, 4, self.clock)
            except ElementError as exc:
                return _json(400, {"error": exc.messages})
            return _json(200, render_invoice(org, doc))

    async def admin_items(self, request: Request) -> Response:
        """{tenant_id, Code, ...Item fields} -> creates the item or changes the one with that Code."""
        body = await _json_body(request)
        org = self._admin_org(body)
        if org is None:
            return _json(400, {"error": "tenant_id of a sandbox organisation is required"})
        with self.lock:
            try:
                item = save_item(org, {k: v for k, v in body.items() if k != "tenant_id"}, False, self.clock)
            except ElementError as exc:
                return _json(400, {"error": exc.messages})
            return _json(200, render_item(item))

    async def admin_currencies(self, request: Request) -> Response:
        """{tenant_id, Code, enabled, Description?}: enable or disable a currency in one organisation."""
        body = await _json_body(request)
        org = self._admin_org(body)
        code = str(body.get("Code") or "").upper()
        if org is None or len(code) != 3:
            return _json(400, {"error": "tenant_id of a sandbox organisation and a 3-letter Code are required"})
        with self.lock:
            org.currencies = [c for c in org.currencies if c["Code"] != code]
            if body.get("enabled", True):
                org.currencies.append({"Code": code, "Description": body.get("Description") or code})
            return _json(200, list(org.currencies))

    async def admin_lock_dates(self, request: Request) -> Response:
        """{tenant_id, PeriodLockDate?, EndOfYearLockDate?} (YYYY-MM-DD, or null to clear): an adviser locks
        periods; invoices and bills dated on or before a lock date are then refused as Xero refuses them."""
        body = await _json_body(request)
        org = self._admin_org(body)
        if org is None:
            return _json(400, {"error": "tenant_id of a sandbox organisation is required"})
        changes: dict[str, date | None] = {}
        for key, attr in (("PeriodLockDate", "period_lock_date"), ("EndOfYearLockDate", "end_of_year_lock_date")):
            if key in body:
                try:
                    changes[attr] = date.fromisoformat(str(body[key])) if body[key] else None
                except ValueError:
                    return _json(400, {"error": f"{key} must be YYYY-MM-DD or null"})
        with self.lock:
            for attr, value in changes.items():
                setattr(org, attr, value)
            return _json(200, {"PeriodLockDate": str(org.period_lock_date or "") or None,
                               "EndOfYearLockDate": str(org.end_of_year_lock_date or "") or None})

    async def admin_payroll_calendar(self, request: Request) -> Response:
        """{StartDate: YYYY-MM-DD}: a payroll officer re-bases a payroll calendar (its first period moves)."""
        body = await _json_body(request)
        cid = request.path_params["calendar_id"]
        try:
            start = date.fromisoformat(str(body.get("StartDate")))
        except ValueError:
            return _json(400, {"error": "StartDate must be YYYY-MM-DD"})
        with self.lock:
            for org in self.orgs.values():
                calendar = org.payroll.calendars.get(cid)
                if calendar is not None:
                    calendar["StartDate"] = start
                    calendar["UpdatedDateUTC"] = self.clock.now()
                    return _json(200, {"PayrollCalendarID": cid, "StartDate": start.isoformat()})
        return _json(404, {"error": f"unknown PayrollCalendarID {cid}"})

    async def admin_timesheet_status(self, request: Request) -> Response:
        """{Status: APPROVED|PROCESSED|REJECTED|DRAFT}: a payroll officer acting on a timesheet in Xero."""
        body = await _json_body(request)
        tid = request.path_params["timesheet_id"]
        with self.lock:
            for org in self.orgs.values():
                doc = set_timesheet_status(org, tid, str(body.get("Status", "")).upper(), self.clock)
                if doc is not None:
                    return _json(200, render_timesheet(doc))
        return _json(400, {"error": "unknown TimesheetID or Status not one of DRAFT/APPROVED/PROCESSED/REJECTED/"
                                    "REQUESTED"})


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    return data if isinstance(data, dict) else {}


def create_xero_app(config: XeroSandboxConfig | None = None) -> XeroFaultMiddleware:
    """Build the simulator: a Starlette app wrapped outermost in fault injection (a FaultMiddleware subclass).

    The simulator object is reachable as ``app.simulator`` for in-process inspection.
    """
    config = config or XeroSandboxConfig()
    sim = XeroSimulator(config)
    api_methods = ["GET", "PUT", "POST", "PATCH", "DELETE"]
    routes = [
        Route("/identity/connect/authorize", sim.authorize, methods=["GET"]),
        Route("/connect/token", sim.token, methods=["POST"]),
        Route("/connect/revocation", sim.revocation, methods=["POST"]),
        Route("/connections", sim.connections, methods=["GET"]),
        Route("/Connections", sim.connections, methods=["GET"]),
        Route("/connections/{id}", sim.delete_connection, methods=["DELETE"]),
        Route("/Connections/{id}", sim.delete_connection, methods=["DELETE"]),
        Route(API_PREFIX + "/{path:path}", sim.api, methods=api_methods),
        Route(PAYROLL_PREFIX + "/{path:path}", sim.api, methods=api_methods),
        Route("/_sandbox/state", sim.admin_state, methods=["GET"]),
        Route("/_sandbox/reset", sim.admin_reset, methods=["POST"]),
        Route("/_sandbox/faults", sim.admin_faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/calls", sim.admin_calls, methods=["GET", "DELETE"]),
        Route("/_sandbox/config", sim.admin_config, methods=["GET", "POST"]),
        Route("/_sandbox/tokens", sim.admin_tokens, methods=["POST"]),
        Route("/_sandbox/tokens/expire", sim.admin_expire, methods=["POST"]),
        Route("/_sandbox/tokens/revoke", sim.admin_revoke, methods=["POST"]),
        Route("/_sandbox/contacts", sim.admin_contacts, methods=["POST"]),
        Route("/_sandbox/tax_rates/{tenant_id}/{tax_type}/status", sim.admin_tax_rate_status, methods=["POST"]),
        Route("/_sandbox/payments", sim.admin_payments, methods=["POST"]),
        Route("/_sandbox/payments/{payment_id}/delete", sim.admin_payment_delete, methods=["POST"]),
        Route("/_sandbox/overpayments", sim.admin_overpayments, methods=["POST"]),
        Route("/_sandbox/prepayments", sim.admin_prepayments, methods=["POST"]),
        Route("/_sandbox/allocations", sim.admin_allocations, methods=["POST"]),
        Route("/_sandbox/allocations/{allocation_id}/delete", sim.admin_allocation_delete, methods=["POST"]),
        Route("/_sandbox/credit_notes/refund", sim.admin_credit_note_refund, methods=["POST"]),
        Route("/_sandbox/credit-notes/refund", sim.admin_credit_note_refund, methods=["POST"]),  # the brief's spelling
        Route("/_sandbox/invoices/{invoice_id}/edit", sim.admin_invoice_edit, methods=["POST"]),
        Route("/_sandbox/items", sim.admin_items, methods=["POST"]),
        Route("/_sandbox/currencies", sim.admin_currencies, methods=["POST"]),
        Route("/_sandbox/lock_dates", sim.admin_lock_dates, methods=["POST"]),
        Route("/_sandbox/timesheets/{timesheet_id}/status", sim.admin_timesheet_status, methods=["POST"]),
        Route("/_sandbox/payroll_calendars/{calendar_id}", sim.admin_payroll_calendar, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    wrapped = XeroFaultMiddleware(app, sim.faults, _default_fault_response(config), sim.limiter, sim.log_call)
    wrapped.simulator = sim  # type: ignore[attr-defined]
    return wrapped
