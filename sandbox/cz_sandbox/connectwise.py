"""The ConnectWise PSA (Manage) simulator: the REST API at ``/v4_6_release/apis/3.0/`` over real HTTP, so that an
httpx ConnectWise client cannot tell it from ConnectWise except by its URL.

``create_connectwise_app()`` returns a Starlette app wrapped outermost in the sandbox's FaultMiddleware. State is
in memory and rebuilt by ``POST /_sandbox/reset``. The pieces:

- cw_conditions.py  the ``conditions`` / ``orderBy`` / ``fields`` language
- cw_seed.py        demo data from a seed, the accounting state (unposted -> batch -> posted) and the renderers
- cw_more.py        the rest of the tenant, put together: cw_procurement (purchase orders, unposted procurement,
                    purchase transactions), cw_time (members, work types, time entries and sheets), cw_finance
                    (invoice payments, billing statuses, invoice PATCH/PUT, currencies), cw_catalog (catalogue)
- this module       routing, Basic auth + clientId, paging with Link headers, the per-minute rate limit, the
                    accounting endpoints (export, batches: invoices and procurement) and the /_sandbox/ admin routes

Behaviour chosen where the public record is silent (see connectwise-api.md) and documented here once:
- a missing or unknown ``clientId`` header is a 401 ``{"code":"Unauthorized"}`` naming clientId (not a 400), so a
  client treats it like any other credential problem: not retryable;
- ``POST finance/accounting/batches`` answers 201 with the GLExport of what it batched (the spec's return type);
  the batch itself is found with ``GET finance/accounting/batches?conditions=batchIdentifier="..."``;
- conditions errors are 400 ``{"code":"InvalidObject","message":"conditions object is invalid","errors":[...]}``.

Admin routes (never faulted, never rate-limited): ``GET /_sandbox/state``, ``POST /_sandbox/reset`` (optional
``{"seed", "invoices_per_location", "procurement_per_location", "credit_memos_per_location", "anchor_date"}``),
``GET|POST|DELETE /_sandbox/faults``, ``GET|DELETE /_sandbox/calls``, ``GET|POST /_sandbox/config``
(``{"requests_per_minute"}``), ``POST /_sandbox/unpostedinvoices`` (``"type": "CreditMemo"`` makes a credit memo),
``POST /_sandbox/credit-applications``, ``POST /_sandbox/invoices/{id}/edit``, ``POST /_sandbox/invoices/{id}/close``,
``POST /_sandbox/unpostedprocurement`` (``"vendorReturn": true`` makes a vendor return),
``POST /_sandbox/purchaseorders/{id}/edit``, ``POST /_sandbox/time/entries``, ``POST /_sandbox/time/entries/{id}``
and ``DELETE /_sandbox/companies/{id}``.

Edits after posting, as a ConnectWise user makes them: ``DELETE finance/accounting/batches/{id}`` returns the
batch's invoices and procurement to unposted; ``/_sandbox/invoices/{id}/edit`` then reopens the invoice, changes
it and (unless ``"close": false``) closes it again, which gives it new GL entry ids (cw_seed's docstring);
``/_sandbox/purchaseorders/{id}/edit`` does the same for received procurement (cw_procurement's docstring).

Handlers read the request body first, then do all their work synchronously under one lock, so concurrent requests
and admin calls never see a half-applied batch.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import json
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cz_sandbox import demo
from cz_sandbox.cw_common import API_BASE
from cz_sandbox.cw_conditions import (
    ConditionError,
    compile_conditions,
    order_items,
    parse_datetime,
    project_fields,
)
from cz_sandbox.cw_more import ENTITY as EXTRA_ENTITY
from cz_sandbox.cw_more import KNOWN as EXTRA_KNOWN
from cz_sandbox.cw_more import CwError, Extras
from cz_sandbox.cw_procurement import check_export_ids
from cz_sandbox.cw_seed import (
    API_MEMBER,
    CREDIT_MEMO,
    INVOICE_TYPES,
    Batch,
    Invoice,
    World,
    build_world,
    render_company,
)
from cz_sandbox.faults import FaultInjector, FaultMiddleware, FaultRule

__all__ = ["API_PREFIX", "ConnectWiseSandboxConfig", "ConnectWiseSimulator", "create_connectwise_app",
           "default_fault_response"]

API_PREFIX = "/v4_6_release/apis/3.0"
API_VERSION = "2025.1"
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 25
BATCH_RESOURCE = "accountingBatch"

# Known condition/orderBy paths per resource (lower case); "x/*" admits any sub-field of reference x.
_REF = ("id", "name", "identifier", "_info")
_INFO = "_info/lastupdated _info/updatedby _info/dateentered _info/enteredby"


def _known(spec: str) -> set[str]:
    return {p.lower() for p in spec.split()} | set(_INFO.split()) | {"_info"}


KNOWN_FIELDS: dict[str, set[str]] = {
    "locations": _known("id ownerLevelId structureLevel/* name manager/* reportsTo/* salesRep timeZoneSetup/* "
                        "calendar/* owaUrl payrollXref locationFlag clientFlag workRoleIds departmentIds"),
    "companies": _known("id identifier name status/* addressLine1 addressLine2 city state zip country/* phoneNumber "
                        "faxNumber website territory/* accountNumber taxCode/* taxIdentifier billingTerms/* "
                        "billToCompany/* billingSite/* billingContact/* defaultContact/* invoiceDeliveryMethod/* "
                        "invoiceToEmailAddress invoiceCCEmailAddress currency/* isVendorFlag vendorIdentifier "
                        "types/* site/* deletedFlag leadFlag unsubscribeFlag dateAcquired parentCompany/* "
                        "market/* calendar/* timeZoneSetup/*"),
    "taxcodes": _known("id identifier description invoiceCaption defaultFlag effectiveDate cancelDate country/* "
                       "displayOnInvoiceFlag levelOneRate levelOneRateType levelOneCaption levelOneTaxCodeXref "
                       "levelOneAgencyXref levelOneServicesFlag levelOneProductsFlag levelOneExpensesFlag"),
    "unpostedinvoices": _known("id billingLogId locationId location/* departmentId department/* company/* "
                               "accountNumber billToCompany/* billToSite/* shipToCompany/* shipToSite/* "
                               "invoiceNumber invoiceDate invoiceType description billingTerms/* dueDays dueDate "
                               "currency/* subTotal total hasTime hasExpenses hasProducts invoiceTaxableFlag "
                               "taxCode/* avalaraTaxFlag itemTaxableFlag salesTaxAmount createdBy dateClosed"),
    "invoices": _known("id invoiceNumber type status/* company/* billToCompany/* shipToCompany/* accountNumber "
                       "applyToType applyToId billingSite/* billingTerms/* reference customerPO date dueDate "
                       "locationId location/* departmentId department/* territoryId taxableFlag taxCode/* "
                       "currency/* serviceTotal expenseTotal productTotal subtotal salesTax total payments credits "
                       "balance specialInvoiceFlag closedBy glBatch/* unbatchedBatch/* agreement/* project/* "
                       "ticket/* salesOrder/*"),
    "batches": _known("id batchIdentifier exportInvoicesFlag exportExpensesFlag exportProductsFlag closedFlag"),
}


KNOWN_FIELDS.update({name: _known(spec) for name, spec in EXTRA_KNOWN.items()})


def _attach_extras(world: World, config: ConnectWiseSandboxConfig) -> Extras:
    """Procurement, members and time, payments, catalogue (cw_more) on top of the accounting world; invoices are
    rendered with their payments, balance and billing status."""
    extras = Extras(world, config.seed, config.procurement_per_location)
    base = world.render_invoice
    world.render_invoice = lambda inv: extras.render_invoice(inv, base(inv))  # type: ignore[method-assign]
    return extras


def _field_checker(resource: str) -> Callable[[str], bool]:
    known = KNOWN_FIELDS[resource]

    def check(path: str) -> bool:
        low = path.lower()
        if low in known:
            return True
        head, _, rest = low.partition("/")
        return bool(rest) and f"{head}/*" in known and "/" not in rest

    return check


@dataclass
class ConnectWiseSandboxConfig:
    """How the simulated tenant looks; ``invoices_per_location`` keys are location slugs (adelaide, melbourne,
    perth). ``client_id=None`` accepts any non-empty clientId header. ``anchor_date`` (default: today, UTC) is the
    day demo invoices are dated back from, so the demo looks current and is deterministic within a day."""

    seed: int = demo.SEED
    invoices_per_location: dict[str, int] = field(default_factory=lambda: dict(demo.DEFAULT_INVOICES_PER_LOCATION))
    company_id: str = demo.CW_COMPANY_ID
    public_key: str = demo.CW_PUBLIC_KEY
    private_key: str = demo.CW_PRIVATE_KEY
    client_id: str | None = demo.CW_CLIENT_ID
    requests_per_minute: int = 1000
    anchor_date: date | None = None
    # One adelaide invoice with no GL entries (a missing GL mapping): ConnectWise lists it as unposted but its
    # export cannot include it. Off in the demo, so "every unposted invoice reaches Xero" holds there.
    stuck_invoice: bool = False
    # Purchase orders per location slug (about 80% received and closed, so unposted procurement); see cw_procurement.
    procurement_per_location: dict[str, int] = field(
        default_factory=lambda: dict(demo.DEFAULT_PROCUREMENT_PER_LOCATION))
    # Credit memos per location slug (cw_seed.seed_credit_memos). Empty by default: the product does not post
    # credit memos yet, so the demo holds none unless asked.
    credit_memos_per_location: dict[str, int] = field(default_factory=dict)


class ApiError(Exception):
    """A ConnectWise error answer: status plus ErrorResponseMessage body."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(body.get("message"))
        self.status = status
        self.body = body
        self.headers = headers or {}


def invalid(resource: str, errors: list[dict[str, Any]], message: str | None = None) -> ApiError:
    """400 InvalidObject with ValidationErrors, the shape of every real ConnectWise validation failure."""
    return ApiError(400, {"code": "InvalidObject", "message": message or f"{resource} object is invalid",
                          "errors": errors})


def verror(code: str, message: str, resource: str, fld: str) -> dict[str, Any]:
    return {"code": code, "message": message, "resource": resource, "field": fld}


def too_many(seconds: int) -> tuple[dict[str, str], dict[str, Any]]:
    return ({"Retry-After": str(seconds)},
            {"error": "ConnectWiseAPI", "message": f"Too many requests. Please try again in {seconds} seconds."})


def default_fault_response(status: int) -> tuple[dict[str, str], Any]:
    """Bodies for injected statuses, shaped like ConnectWise's for that status."""
    if status == 429:
        return too_many(1)
    if status == 500:
        return {}, {"code": "ConnectWiseApi", "message": "A timeout has occured. Please try again."}
    if status in (502, 503, 504):
        return {}, {"code": "ConnectWiseApi", "message": "Service Unavailable"}
    if status == 401:
        return {}, {"code": "Unauthorized", "message": "Authentication failed."}
    if status == 400:
        return {}, {"code": "InvalidObject", "message": "object is invalid", "errors": []}
    if status == 404:
        return {}, {"code": "NotFound", "message": "The record was not found."}
    if status == 409:
        return {}, {"code": "Conflict", "message": "The record is in use."}
    return {}, {"code": "ConnectWiseApi", "message": "An error has occurred."}


class RateLimiter:
    """A sliding one-minute window over API calls; past ``requests_per_minute`` the call gets 429 + Retry-After.
    Refused calls are not counted, so a client that honours Retry-After gets through."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self.calls: deque[float] = deque()
        self.lock = threading.Lock()

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()

    def admit(self) -> int | None:
        """None when admitted, else the seconds to wait."""
        now = time.monotonic()
        with self.lock:
            while self.calls and self.calls[0] <= now - 60:
                self.calls.popleft()
            if len(self.calls) >= self.per_minute:
                return max(1, math.ceil(self.calls[0] + 60 - now))
            self.calls.append(now)
            return None


# ---------------------------------------------------------------- call log across the fault middleware

_PICKED: contextvars.ContextVar[FaultRule | None] = contextvars.ContextVar("cw_fault_picked", default=None)


class _TrackingInjector:
    """Wraps the injector so the middleware below learns which rule (if any) hit the current request."""

    def __init__(self, inner: FaultInjector):
        self.inner = inner

    def pick(self, method: str, path: str) -> FaultRule | None:
        rule = self.inner.pick(method, path)
        _PICKED.set(rule)
        return rule

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class ConnectWiseFaultMiddleware(FaultMiddleware):
    """FaultMiddleware that also records faulted calls in the simulator's call log (the inner app logs the rest),
    so ``GET /_sandbox/calls`` shows what the client saw: the injected status, or a dropped connection."""

    def __init__(self, app: Any, sim: ConnectWiseSimulator):
        super().__init__(app, _TrackingInjector(sim.faults), default_response=default_fault_response)  # type: ignore[arg-type]
        self.sim = sim

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox"):
            await super().__call__(scope, receive, send)
            return
        _PICKED.set(None)
        try:
            await super().__call__(scope, receive, send)
        finally:
            rule = _PICKED.get()
            if rule is not None:
                entry = scope.get("cz.call")
                if rule.kind == "status":
                    self.sim.log_call(scope["method"], scope["path"], rule.status, fault="status")
                elif rule.kind == "drop" and rule.when == "before":
                    self.sim.log_call(scope["method"], scope["path"], None, fault="drop-before")
                elif entry is not None:
                    entry["fault"] = f"{rule.kind}-{rule.when}"


class _CallLog:
    """Inner ASGI wrapper: logs each call that reached the simulator with the status it answered."""

    def __init__(self, app: Any, sim: ConnectWiseSimulator):
        self.app = app
        self.sim = sim

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        status: list[int] = []

        async def watch(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            scope["cz.call"] = self.sim.log_call(scope["method"], scope["path"], status[0] if status else None)


# ---------------------------------------------------------------- responses

def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status_code=status, headers=headers or {},
                    media_type="application/json; charset=utf-8")


def _api_headers() -> dict[str, str]:
    return {"api-current-version": API_VERSION, "x-cw-request-id": str(uuid.uuid4()),
            "x-server-name": "cz-sandbox-cw", "Cache-Control": "no-cache", "Pragma": "no-cache",
            "X-Frame-Options": "SAMEORIGIN"}


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class Query:
    """Query parameters with case-insensitive names (the docs write pageSize and pagesize alike)."""

    def __init__(self, raw: str):
        self.pairs = parse_qsl(raw, keep_blank_values=True)
        self.values = {k.lower(): v for k, v in self.pairs}

    def get(self, name: str) -> str | None:
        return self.values.get(name.lower())

    def int_param(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise invalid(name, [verror("OutOfRange", f"The field {name} must be between {low} and {high}.",
                                        name, name)])
        return value

    def with_params(self, **updates: Any) -> str:
        """This query string with ``updates`` set last (any case variant the client sent dropped), the other
        parameters kept in their order: ConnectWise's Link URLs end in the page, ``...?pageSize=50&page=2``."""
        lowered = {k.lower() for k in updates}
        out = [(k, v) for k, v in self.pairs if k.lower() not in lowered]
        out.extend((name, str(v)) for name, v in updates.items())
        return urlencode(out)


# ---------------------------------------------------------------- the simulator

class ConnectWiseSimulator:
    """One simulated tenant: its world (cw_seed.World), fault rules, rate limiter and call log, and the handlers."""

    def __init__(self, config: ConnectWiseSandboxConfig):
        self.config = config
        self.lock = threading.RLock()
        self.faults = FaultInjector()
        self.limiter = RateLimiter(config.requests_per_minute)
        self.calls: list[dict[str, Any]] = []
        self.world: World = build_world(config.seed, config.invoices_per_location, config.anchor_date,
                                        config.stuck_invoice, config.credit_memos_per_location)
        self.extras = _attach_extras(self.world, config)

    def reset(self) -> None:
        world = build_world(self.config.seed, self.config.invoices_per_location, self.config.anchor_date,
                            self.config.stuck_invoice, self.config.credit_memos_per_location)
        extras = _attach_extras(world, self.config)
        with self.lock:
            self.world, self.extras = world, extras
            self.calls.clear()
        self.faults.clear()
        self.limiter.reset()

    def log_call(self, method: str, path: str, status: int | None, fault: str | None = None) -> dict[str, Any]:
        stamp = datetime.now(UTC)
        entry: dict[str, Any] = {"ts": stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z",
                                 "method": method, "path": path, "status": status}
        if fault:
            entry["fault"] = fault
        with self.lock:
            self.calls.append(entry)
        return entry

    # ------------------------------------------------------------ unauthenticated

    async def company_info(self, request: Request) -> Response:
        wait = self.limiter.admit()
        if wait is not None:
            headers, body = too_many(wait)
            return _json(429, body, headers)
        company = request.path_params["company"]
        if company.lower() != self.config.company_id.lower():
            return _json(404, {"code": "NotFound", "message": f"Company {company} was not found."})
        return _json(200, {"CompanyName": demo.TENANT_NAME, "Codebase": demo.CW_CODEBASE, "VersionCode": "v2025.1",
                           "VersionNumber": "v4.6.10333", "CompanyID": self.config.company_id, "IsCloud": "False"})

    # ------------------------------------------------------------ the API

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic" or not token:
            raise ApiError(401, {"code": "Unauthorized",
                                 "message": "Authorization header is missing: use Basic company+publicKey:privateKey."})
        try:
            user, _, secret = base64.b64decode(token.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, secret = "", ""
        company, _, public = user.partition("+")
        if (company.lower() != self.config.company_id.lower() or public != self.config.public_key
                or secret != self.config.private_key):
            raise ApiError(401, {"code": "Unauthorized", "message": "Authentication failed: the company, public key "
                                 "or private key is not valid."})
        client_id = request.headers.get("clientid", "").strip()
        if not client_id:
            raise ApiError(401, {"code": "Unauthorized", "message": "A clientId header is required for all API "
                                 "calls. Register one at https://developer.connectwise.com/ClientID."})
        if self.config.client_id and client_id != self.config.client_id:
            raise ApiError(401, {"code": "Unauthorized", "message": f"clientId '{client_id}' is not registered."})

    async def api(self, request: Request) -> Response:
        body = await request.body()
        headers = _api_headers()
        _set_api_base(request)
        try:
            wait = self.limiter.admit()
            if wait is not None:
                extra, payload = too_many(wait)
                return _json(429, payload, {**headers, **extra})
            self._authenticate(request)
            with self.lock:
                status, payload, extra = self._dispatch(request, body)
        except ApiError as exc:
            return _json(exc.status, exc.body, {**headers, **exc.headers})
        except ConditionError as exc:
            return _json(400, exc.body(), headers)
        if status == 204:
            return Response(status_code=204, headers=headers)
        return _json(status, payload, {**headers, **extra})

    def _dispatch(self, request: Request, body: bytes) -> tuple[int, Any, dict[str, str]]:
        path = request.path_params["path"].strip("/")
        parts = [p.lower() for p in path.split("/") if p]
        method = request.method
        q = Query(request.url.query)
        w = self.world
        def one(table: dict[int, Any], render: Callable[[Any], dict[str, Any]], keep: Callable[[Any], bool]
                = lambda _: True) -> Callable[[str], dict[str, Any] | None]:
            def get(raw: str) -> dict[str, Any] | None:
                obj = table.get(int(raw)) if raw.isdigit() else None
                return render(obj) if obj is not None and keep(obj) else None
            return get

        def is_unposted(inv: Invoice) -> bool:
            return inv.is_unposted

        Render = Callable[[], list[dict[str, Any]]]
        Lookup = Callable[[str], dict[str, Any] | None]
        collections: dict[tuple[str, ...], tuple[str, Render, Lookup]] = {
            ("system", "locations"): ("locations", lambda: [w.render_location(v) for v in w.locations.values()],
                                      one(w.locations, w.render_location)),
            ("company", "companies"): ("companies", lambda: [render_company(c) for c in w.companies.values()],
                                       one(w.companies, render_company)),
            ("finance", "taxcodes"): ("taxcodes", lambda: [w.render_tax_code(c) for c in w.tax_codes.values()],
                                      one(w.tax_codes, w.render_tax_code)),
            ("finance", "accounting", "unpostedinvoices"): (
                "unpostedinvoices", lambda: [w.render_unposted(i) for i in w.unposted()],
                one(w.invoices, w.render_unposted, is_unposted)),
            ("finance", "invoices"): ("invoices", lambda: [w.render_invoice(i) for i in w.invoices.values()],
                                      one(w.invoices, w.render_invoice)),
            ("finance", "accounting", "batches"): ("batches", lambda: [w.render_batch(b) for b in w.batches.values()],
                                                   one(w.batches, w.render_batch)),
        }
        try:
            answer = self.extras.route(method, parts, _json_body(body) if method in ("POST", "PUT", "PATCH") else None)
        except CwError as exc:
            raise ApiError(exc.status, exc.body) from None
        if answer is not None:
            kind, first, second = answer
            if kind == "list":
                return self._list(request, q, first, second)
            if kind == "count":
                return 200, {"count": len(self._filter(q, first, second))}, {}
            return first, second, {}
        collections.update(self.extras.collections())
        if tuple(parts) == ("system", "info"):
            self._allow(method, "GET")
            return 200, self._info(), {}
        if tuple(parts) == ("finance", "accounting", "export"):
            self._allow(method, "POST")
            return 200, self._export(_parse_body(body)), {}
        if tuple(parts) == ("finance", "accounting", "batches") and method == "POST":
            return 201, self._create_batch(_parse_body(body)), {}
        if (len(parts) == 5 and tuple(parts[:3]) == ("finance", "accounting", "batches")
                and parts[4] == "export"):
            self._allow(method, "POST")
            return 200, self._batch_export(self._batch(parts[3])), {}
        for prefix, (resource, render, lookup) in collections.items():
            n = len(prefix)
            if tuple(parts[:n]) != prefix:
                continue
            rest = parts[n:]
            if not rest:
                self._allow(method, "GET")
                return self._list(request, q, resource, render())
            if rest == ["count"]:
                self._allow(method, "GET")
                items = self._filter(q, resource, render())
                return 200, {"count": len(items)}, {}
            if len(rest) == 1:
                if resource == "batches" and method == "DELETE":
                    self._delete_batch(rest[0])
                    return 204, None, {}
                self._allow(method, "GET")
                item = lookup(rest[0])
                if item is None:
                    raise ApiError(404, {"code": "NotFound",
                                         "message": f"{_entity_name(resource)} recId {rest[0]} not found."})
                fields = q.get("fields")
                return 200, project_fields(item, fields.split(",")) if fields else item, {}
        raise ApiError(404, {"code": "ConnectWiseApi", "message": "The endpoint does not exist."})

    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise ApiError(405, {"code": "ConnectWiseApi",
                                 "message": f"The requested resource does not support http method '{method}'."})

    def _info(self) -> dict[str, Any]:
        return {"version": "v2025.1.10333", "isCloud": False, "serverTimeZone": "AUS Central Standard Time",
                "licenseBits": [{"name": "GLInterface", "activeFlag": True},
                                {"name": "Purchasing", "activeFlag": True},
                                {"name": "Inventory", "activeFlag": True}],
                "cloudRegion": "AU", "maxWorkFlowRecordsAllowed": 1000}

    def _filter(self, q: Query, resource: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        pred = compile_conditions(q.get("conditions"), _field_checker(resource))
        return [it for it in items if pred(it)]

    def _list(self, request: Request, q: Query, resource: str, items: list[dict[str, Any]]
              ) -> tuple[int, Any, dict[str, str]]:
        size = q.int_param("pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        forward = request.headers.get("pagination-type", "").lower() == "forward-only"
        items = self._filter(q, resource, items)
        base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
        if forward:
            if q.get("orderBy"):
                raise invalid("orderBy", [verror("InvalidField", "orderBy is not supported with forward-only "
                                                 "pagination; results are ordered by id.", "orderBy", "orderBy")])
            after = q.int_param("pageId", 0, 0, 2**31 - 1)
            items = sorted((it for it in items if it["id"] > after), key=lambda it: it["id"])
            page_items = items[:size]
            links = []
            if len(items) > size:
                links.append(f'<{base}?{q.with_params(pageId=page_items[-1]["id"])}>; rel="next"')
        else:
            items = order_items(items, q.get("orderBy"), _field_checker(resource)) if q.get("orderBy") \
                else sorted(items, key=lambda it: it["id"])
            page = q.int_param("page", 1, 1, 2**31 - 1)
            last = max(1, math.ceil(len(items) / size))
            page_items = items[(page - 1) * size:page * size]
            links = [f'<{base}?{q.with_params(page=1)}>; rel="first"']
            if page > 1:
                links.append(f'<{base}?{q.with_params(page=min(page - 1, last))}>; rel="prev"')
            if page < last:
                links.append(f'<{base}?{q.with_params(page=page + 1)}>; rel="next"')
            links.append(f'<{base}?{q.with_params(page=last)}>; rel="last"')
        fields = q.get("fields")
        if fields:
            wanted = fields.split(",")
            page_items = [project_fields(it, wanted) for it in page_items]
        return 200, page_items, ({"Link": ", ".join(links)} if links else {})

    # ------------------------------------------------------------ accounting

    def _export(self, req: dict[str, Any]) -> dict[str, Any]:
        """POST finance/accounting/export: GLExport of every matching unposted invoice (exportInvoicesFlag) and
        unposted procurement (exportProductsFlag), in one answer; no state changes (the Accounting Interface's
        Export screen). The two are independent: each flag alone exports only its kind."""
        resource = "exportAccountingBatchRequest"
        _check_flags(req, resource)
        identifier = req.get("batchIdentifier")
        if identifier is not None and len(str(identifier)) > 50:
            raise invalid(resource, [verror("InvalidField", "batchIdentifier must be 50 characters or fewer.",
                                            resource, "batchIdentifier")])
        location = _opt_int(req, "locationId", resource)
        thru = req.get("thruDate")
        thru_dt = parse_datetime(str(thru)) if thru else None
        if thru and thru_dt is None:
            raise invalid(resource, [verror("InvalidField", "thruDate is not a valid date.", resource, "thruDate")])
        included = set(_int_list(req, "includedInvoiceIds", resource))
        excluded = set(_int_list(req, "excludedInvoiceIds", resource))
        try:
            products_in = check_export_ids(req, "includedProductIds")
            products_out = check_export_ids(req, "excludedProductIds")
        except CwError as exc:
            raise ApiError(exc.status, exc.body) from None
        chosen = []
        if req.get("exportInvoicesFlag"):
            chosen = [inv for inv in sorted(self.world.unposted(), key=lambda i: i.id)
                      if (location is None or inv.location_id == location)
                      and (thru_dt is None or inv.date <= thru_dt)
                      and (not included or inv.id in included) and inv.id not in excluded]
        out = self.world.export(chosen)
        if req.get("exportProductsFlag"):
            proc = self.extras.procurement
            records = [r for r in proc.select(location, products_in, products_out)
                       if thru_dt is None or r.closed_at <= thru_dt]
            out["purchaseTransactions"], out["vendors"] = proc.export(records)
        return out

    def _batch_export(self, batch: Batch) -> dict[str, Any]:
        """A batch's GLExport: its invoices' transactions and its procurement's purchase transactions."""
        w = self.world
        out = w.export([w.invoices[i] for i in batch.invoice_ids if i in w.invoices])
        proc = self.extras.procurement
        if batch.procurement_ids:
            out["purchaseTransactions"], out["vendors"] = proc.export(
                [proc.records[r] for r in batch.procurement_ids if r in proc.records])
        return out

    def _create_batch(self, req: dict[str, Any]) -> dict[str, Any]:
        """POST finance/accounting/batches: post whole invoices and whole procurement records by their GL entry ids;
        201 GLExport of the batch. Invoice entries need exportInvoicesFlag, procurement entries exportProductsFlag."""
        w = self.world
        proc = self.extras.procurement
        errors = []
        ids_raw = req.get("processedRecordIds")
        if not isinstance(ids_raw, list) or not ids_raw:
            errors.append(verror("MissingRequiredField", "processedRecordIds is required and may not be empty.",
                                 BATCH_RESOURCE, "processedRecordIds"))
        if not any(req.get(f) for f in ("exportInvoicesFlag", "exportExpensesFlag", "exportProductsFlag")):
            errors.append(verror("InvalidField", "Batch must export Invoices, Expenses or Products.",
                                 BATCH_RESOURCE, "exportInvoicesFlag"))
        identifier = req.get("batchIdentifier")
        if identifier is not None and (not isinstance(identifier, str) or len(identifier) > 50):
            errors.append(verror("InvalidField", "batchIdentifier must be a string of 50 characters or fewer.",
                                 BATCH_RESOURCE, "batchIdentifier"))
        if errors:
            raise invalid(BATCH_RESOURCE, errors)
        if identifier and any(b.identifier.lower() == identifier.lower() for b in w.batches.values()):
            raise invalid(BATCH_RESOURCE, [verror("ObjectExists", "A batch with this identifier already exists",
                                                  BATCH_RESOURCE, "batchIdentifier")])
        ids: list[int] = []
        for raw in ids_raw:
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise invalid(BATCH_RESOURCE, [verror("InvalidField", f"processedRecordIds holds a non-integer "
                                                      f"value {raw!r}.", BATCH_RESOURCE, "processedRecordIds")])
            ids.append(raw)
        wanted = set(ids)

        def unposted_entry(e: int) -> bool:
            if e in w.entries:
                return w.invoices[w.entries[e]].batch_id is None
            rec = proc.owner(e)
            return rec is not None and rec.batch_id is None

        bad = sorted(e for e in wanted if not unposted_entry(e))
        if bad:
            raise invalid(BATCH_RESOURCE, [verror("InvalidField", f"GL entry {e} is not an unposted GL entry.",
                                                  BATCH_RESOURCE, "processedRecordIds") for e in bad])
        invoice_ids = sorted({w.entries[e] for e in wanted if e in w.entries})
        record_ids = sorted({proc.entries[e] for e in wanted if e not in w.entries})
        wrong_kind = []
        if invoice_ids and not req.get("exportInvoicesFlag"):
            wrong_kind.append(verror("InvalidField", f"GL entries of invoices ({len(invoice_ids)} invoice(s)) can "
                                     "only be batched with exportInvoicesFlag true.", BATCH_RESOURCE,
                                     "exportInvoicesFlag"))
        if record_ids and not req.get("exportProductsFlag"):
            wrong_kind.append(verror("InvalidField", f"GL entries of procurement ({len(record_ids)} record(s)) can "
                                     "only be batched with exportProductsFlag true.", BATCH_RESOURCE,
                                     "exportProductsFlag"))
        if wrong_kind:
            raise invalid(BATCH_RESOURCE, wrong_kind)
        partial = []
        for inv_id in invoice_ids:
            inv = w.invoices[inv_id]
            missing = [e for e in inv.gl_entry_ids if e not in wanted]
            if missing:
                partial.append(verror(
                    "InvalidField", f"Invoice {inv.number} (id {inv.id}) can only be batched whole: "
                    f"processedRecordIds lacks its GL entries {', '.join(map(str, missing))}.",
                    BATCH_RESOURCE, "processedRecordIds"))
        for rec_id in record_ids:
            rec = proc.records[rec_id]
            po = proc.pos[rec.po_id]
            missing = [e for e in rec.gl_entry_ids(po) if e not in wanted]
            if missing:
                partial.append(verror(
                    "InvalidField", f"Procurement {po.number} (id {rec.id}) can only be batched whole: "
                    f"processedRecordIds lacks its GL entries {', '.join(map(str, missing))}.",
                    BATCH_RESOURCE, "processedRecordIds"))
        if partial:
            raise invalid(BATCH_RESOURCE, partial)
        now = _now()
        if not identifier:
            identifier = now.strftime("%Y%m%d%H%M%S")
            taken = {b.identifier for b in w.batches.values()}
            n = 1
            while identifier in taken:
                n += 1
                identifier = f"{now:%Y%m%d%H%M%S}-{n}"
        batch = Batch(id=w.next_batch_id, identifier=identifier, export_invoices=bool(req.get("exportInvoicesFlag")),
                      export_expenses=bool(req.get("exportExpensesFlag")),
                      export_products=bool(req.get("exportProductsFlag")), processed_ids=sorted(wanted),
                      invoice_ids=invoice_ids, created_at=now, updated_at=now, procurement_ids=record_ids)
        w.next_batch_id += 1
        w.batches[batch.id] = batch
        for inv_id in invoice_ids:
            inv = w.invoices[inv_id]
            inv.batch_id = batch.id
            inv.updated_at, inv.updated_by = now, API_MEMBER
        proc.post(record_ids, batch.id, now)
        return self._batch_export(batch)

    def _batch(self, raw_id: str) -> Batch:
        batch = self.world.batches.get(int(raw_id)) if raw_id.isdigit() else None
        if batch is None:
            raise ApiError(404, {"code": "NotFound", "message": f"GLExport recId {raw_id} not found."})
        return batch

    def _delete_batch(self, raw_id: str) -> None:
        """DELETE finance/accounting/batches/{id}: the batch goes, its invoices and procurement return to unposted."""
        batch = self._batch(raw_id)
        now = _now()
        for inv_id in batch.invoice_ids:
            inv = self.world.invoices.get(inv_id)
            if inv is not None and inv.batch_id == batch.id:
                inv.batch_id = None
                inv.updated_at, inv.updated_by = now, API_MEMBER
        self.extras.procurement.unpost(batch.id, now)
        del self.world.batches[batch.id]

    # ------------------------------------------------------------ /_sandbox/ admin

    def state(self) -> dict[str, Any]:
        with self.lock:
            w = self.world
            unposted = []
            for inv in sorted(w.unposted(), key=lambda i: i.id):
                doc = w.render_unposted(inv)
                doc["glEntryIds"] = inv.gl_entry_ids
                unposted.append(doc)
            return {
                "unposted_invoices": unposted,
                "invoices": [w.render_invoice(i) for i in sorted(w.invoices.values(), key=lambda i: i.id)],
                "batches": [{**w.render_batch(b), "processedRecordIds": list(b.processed_ids),
                             "invoiceIds": list(b.invoice_ids)} for b in w.batches.values()],
                "companies": [render_company(c) for c in w.companies.values()],
                **self.extras.state(),
            }

    async def admin_state(self, request: Request) -> Response:
        _set_api_base(request)
        return _json(200, self.state())

    async def admin_reset(self, request: Request) -> Response:
        try:
            body = _parse_body(await request.body())
            if "seed" in body:
                self.config.seed = int(body["seed"])
            if "invoices_per_location" in body:
                self.config.invoices_per_location = {k: int(v) for k, v in body["invoices_per_location"].items()}
            if "procurement_per_location" in body:
                self.config.procurement_per_location = {k: int(v)
                                                        for k, v in body["procurement_per_location"].items()}
            if "credit_memos_per_location" in body:
                self.config.credit_memos_per_location = {k: int(v)
                                                         for k, v in (body["credit_memos_per_location"] or {}).items()}
            if "anchor_date" in body:
                self.config.anchor_date = date.fromisoformat(body["anchor_date"]) if body["anchor_date"] else None
            self.reset()
        except (ApiError, TypeError, ValueError, AttributeError) as exc:
            return _json(400, {"error": str(exc)})
        with self.lock:
            counts = {loc["slug"]: sum(1 for i in self.world.invoices.values()
                                       if i.location_id == lid and not i.is_credit_memo)
                      for lid, loc in self.world.locations.items()}
            memos = {loc["slug"]: sum(1 for i in self.world.invoices.values()
                                      if i.location_id == lid and i.is_credit_memo)
                     for lid, loc in self.world.locations.items()}
            procurement = {loc["slug"]: sum(1 for p in self.extras.procurement.pos.values() if p.location_id == lid)
                           for lid, loc in self.world.locations.items()}
        return _json(200, {"reset": True, "seed": self.config.seed, "invoices_per_location": counts,
                           "procurement_per_location": procurement, "credit_memos_per_location": memos})

    async def admin_faults(self, request: Request) -> Response:
        try:
            body = _parse_body(await request.body()) if request.method == "POST" else None
        except (ApiError, TypeError, ValueError) as exc:
            return _json(400, {"error": str(exc)})
        return _json(*self.faults.admin(request.method, body))

    async def admin_calls(self, request: Request) -> Response:
        with self.lock:
            if request.method == "DELETE":
                self.calls.clear()
            return _json(200, list(self.calls))

    async def admin_config(self, request: Request) -> Response:
        if request.method == "POST":
            body = _parse_body(await request.body())
            if "requests_per_minute" in body:
                self.config.requests_per_minute = int(body["requests_per_minute"])
                self.limiter.per_minute = self.config.requests_per_minute
                self.limiter.reset()
        return _json(200, {"requests_per_minute": self.config.requests_per_minute, "seed": self.config.seed,
                           "invoices_per_location": self.config.invoices_per_location,
                           "company_id": self.config.company_id, "client_id": self.config.client_id})

    async def admin_add_invoice(self, request: Request) -> Response:
        """Add one closed, unposted invoice; ``companyId`` may name no company (an "unknown customer") or be
        absent. For bad-input tests: ``currencyCode``, a ``total`` that disagrees with the lines, a negative
        ``dueDays`` and ``allowDuplicateNumber`` (a number another invoice already has). ``type`` is Invoice.type
        (default "Standard"); "CreditMemo" makes a credit memo, its lines given positive (cw_seed's docstring)."""
        _set_api_base(request)
        try:
            body = _parse_body(await request.body())
            with self.lock:
                inv = self._admin_invoice(body)
                return _json(201, {**self.world.render_unposted(inv), "glEntryIds": inv.gl_entry_ids})
        except ApiError as exc:
            return _json(exc.status, exc.body)
        except (TypeError, ValueError, KeyError) as exc:
            return _json(400, {"error": f"bad invoice spec: {exc}"})

    def _admin_invoice(self, body: dict[str, Any]) -> Invoice:
        w = self.world
        location_id = int(body["locationId"])
        if location_id not in w.locations:
            raise ValueError(f"locationId {location_id} is not one of {sorted(w.locations)}")
        company_id = int(body["companyId"]) if body.get("companyId") is not None else None
        number = body.get("invoiceNumber")
        duplicate_ok = bool(body.get("allowDuplicateNumber"))
        if number is not None and not duplicate_ok and any(i.number == str(number) for i in w.invoices.values()):
            raise ValueError(f"invoiceNumber {number} already exists")
        invoice_type = str(body.get("type") or "Standard")
        if invoice_type not in INVOICE_TYPES:
            raise ValueError(f"type {invoice_type!r} is not one of {', '.join(INVOICE_TYPES)}")
        lines = [w.line_spec(spec, invoice_type == CREDIT_MEMO) for spec in body.get("lines") or []]
        now = _now()
        raw_date = body.get("invoiceDate")
        day = parse_datetime(raw_date) if raw_date else datetime.combine(now.date(), datetime.min.time(), UTC)
        if day is None:
            raise ValueError(f"invoiceDate {raw_date!r} is not a date")
        return w.add_invoice(location_id=location_id, company_id=company_id, invoice_date=day, lines=lines,
                             closed_at=now, entered_by=API_MEMBER, description=body.get("description"),
                             number=str(number) if number is not None else None,
                             with_gl=bool(body.get("withGlEntries", True)),
                             due_days=int(body["dueDays"]) if body.get("dueDays") is not None else None,
                             currency_code=str(body["currencyCode"]) if body.get("currencyCode") else None,
                             reported_total=float(body["total"]) if body.get("total") is not None else None,
                             invoice_type=invoice_type)

    async def _admin_write(self, request: Request, what: str, status: int,
                           act: Callable[[dict[str, Any]], dict[str, Any]]) -> Response:
        """Run an admin write under the lock; a bad spec is a plain 400 {"error"} (admin routes are not the API)."""
        _set_api_base(request)
        try:
            body = _parse_body(await request.body())
            with self.lock:
                return _json(status, act(body))
        except ApiError as exc:
            return _json(exc.status, exc.body)
        except CwError as exc:
            return _json(exc.status, exc.body)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            return _json(400, {"error": f"bad {what} spec: {exc}"})

    async def admin_time_entry(self, request: Request) -> Response:
        """POST /_sandbox/time/entries {memberId, date, hours, workTypeId?, status?, locationId?, notes?,
        startHour? (local)}: 201 TimeEntry."""
        return await self._admin_write(request, "time entry", 201, lambda b: self.extras.time.admin_add(b))

    async def admin_update_time_entry(self, request: Request) -> Response:
        """POST /_sandbox/time/entries/{id} {status?, hours?, notes?}: 200 TimeEntry (its sheet follows)."""
        raw = request.path_params["id"]
        return await self._admin_write(request, "time entry", 200, lambda b: self.extras.time.admin_update(raw, b))

    async def admin_add_procurement(self, request: Request) -> Response:
        """POST /_sandbox/unpostedprocurement {locationId, vendorId, poNumber?, vendorInvoiceNumber?, freightCost?,
        withGlEntries?, lines: [{description, quantity, unitCost, accountNumber, taxCodeXref | taxCode, taxRate?,
        product?}]}: a received, closed PO; 201 UnpostedProcurement plus its glEntryIds."""
        return await self._admin_write(request, "procurement", 201, lambda b: self.extras.procurement.admin_add(b))

    async def admin_credit_application(self, request: Request) -> Response:
        """POST /_sandbox/credit-applications {invoice_id, credit_memo_id, amount, paymentDate?}: apply a credit
        memo to an invoice as a user does; 201 InvoicePayment (on the invoice, ``credit`` naming the memo), or
        ConnectWise's 400 InvalidObject when ConnectWise would refuse it (cw_finance's docstring)."""
        return await self._admin_write(request, "credit application", 201,
                                       lambda b: self.extras.finance.admin_apply(b))

    async def admin_edit_invoice(self, request: Request) -> Response:
        """POST /_sandbox/invoices/{id}/edit {changeLines?: [{line, quantity?, unitPrice?, description?}],
        removeLines?: [line], addLines?: [line spec as /_sandbox/unpostedinvoices], description?, close? (default
        true), withGlEntries? (default true)}: reopen an unbatched invoice, edit it, close it again (new GL entry
        ids); 200 Invoice plus ``glEntryIds`` and ``replacedGlEntryIds``; 409 while it is in a batch."""
        raw = request.path_params["id"]
        return await self._admin_write(request, "invoice edit", 200, lambda b: self._edit_invoice(raw, b))

    async def admin_close_invoice(self, request: Request) -> Response:
        """POST /_sandbox/invoices/{id}/close {withGlEntries?}: close an invoice left open by an edit."""
        raw = request.path_params["id"]
        return await self._admin_write(request, "invoice close", 200, lambda b: self._close_invoice(raw, b))

    def _admin_target(self, raw: str) -> Invoice:
        inv = self.world.invoices.get(int(raw)) if raw.isdigit() else None
        if inv is None:
            raise ApiError(404, {"error": f"no invoice {raw}"})
        if inv.batch_id is not None:
            raise ApiError(409, {"error": f"invoice {inv.number} (id {inv.id}) is in batch {inv.batch_id}: a batched "
                                 "invoice cannot be edited; DELETE finance/accounting/batches/"
                                 f"{inv.batch_id} first"})
        return inv

    def _edit_invoice(self, raw: str, body: dict[str, Any]) -> dict[str, Any]:
        inv = self._admin_target(raw)
        w, finance = self.world, self.extras.finance
        lines = w.edited_lines(inv, list(body.get("changeLines") or []), list(body.get("removeLines") or []),
                               list(body.get("addLines") or []))
        total = sum((Decimal(str(x.total)) + Decimal(str(x.tax)) for x in lines), Decimal(0))
        settled = finance.paid(inv.id) + finance.credits(inv)
        if inv.sign * (total - settled) < 0:
            raise ApiError(409, {"error": f"the edit would make invoice {inv.number} total {total:.2f}, past what is "
                                 f"paid and credited on it ({settled:.2f}): remove the payment or credit first"})
        now = _now()
        old = w.reopen(inv, now, API_MEMBER) if not inv.open else []
        inv.lines, inv.reported_total = lines, None
        if body.get("description") is not None:
            inv.description = str(body["description"])
        finance.status.pop(inv.id, None)  # reopened: the open status; closed again: Closed
        if body.get("close", True):
            w.close(inv, now, API_MEMBER, with_gl=bool(body.get("withGlEntries", True)))
        return {**w.render_invoice(inv), "glEntryIds": inv.gl_entry_ids, "replacedGlEntryIds": old}

    def _close_invoice(self, raw: str, body: dict[str, Any]) -> dict[str, Any]:
        inv = self._admin_target(raw)
        self.world.close(inv, _now(), API_MEMBER, with_gl=bool(body.get("withGlEntries", True)))
        return {**self.world.render_invoice(inv), "glEntryIds": inv.gl_entry_ids}

    async def admin_edit_procurement(self, request: Request) -> Response:
        """POST /_sandbox/purchaseorders/{id}/edit {changeLines?: [{line, quantity?, unitCost?, description?}],
        removeLines?, addLines?, freightCost?}: re-receive an unbatched, closed purchase order with changed lines;
        200 UnpostedProcurement plus ``glEntryIds`` (new) and ``replacedGlEntryIds``; 409 while it is batched."""
        raw = request.path_params["id"]
        return await self._admin_write(request, "procurement edit", 200,
                                       lambda b: self.extras.procurement.admin_edit(raw, b))

    async def admin_delete_company(self, request: Request) -> Response:
        raw = request.path_params["id"]
        with self.lock:
            comp = self.world.companies.pop(int(raw), None) if raw.isdigit() else None
        if comp is None:
            return _json(404, {"error": f"no company {raw}"})
        return _json(200, {"deleted": render_company(comp)})


def _set_api_base(request: Request) -> None:
    """References' ``_info`` hrefs point at the API root this request came to (cw_common.API_BASE)."""
    API_BASE.set(f"{request.url.scheme}://{request.url.netloc}{API_PREFIX}")


def _entity_name(resource: str) -> str:
    return {"locations": "Location", "companies": "Company", "taxcodes": "TaxCode",
            "unpostedinvoices": "UnpostedInvoice", "invoices": "Invoice", "batches": "GLExport",
            **EXTRA_ENTITY}.get(resource, resource)


def _json_body(raw: bytes) -> Any:
    """A write's body: any JSON value (PATCH sends an array), or None when empty."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, {"code": "InvalidObject", "message": f"The request body is not valid JSON: {exc}",
                             "errors": []}) from exc


def _parse_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, {"code": "InvalidObject", "message": f"The request body is not valid JSON: {exc}",
                             "errors": []}) from exc
    if not isinstance(data, dict):
        raise ApiError(400, {"code": "InvalidObject", "message": "The request body must be a JSON object.",
                             "errors": []})
    return data


def _check_flags(req: dict[str, Any], resource: str) -> None:
    for name in ("exportInvoicesFlag", "exportExpensesFlag", "exportProductsFlag", "exportPaymentsFlag"):
        if name in req and req[name] is not None and not isinstance(req[name], bool):
            raise invalid(resource, [verror("InvalidField", f"{name} must be true or false.", resource, name)])


def _opt_int(req: dict[str, Any], name: str, resource: str) -> int | None:
    value = req.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(resource, [verror("InvalidField", f"{name} must be an integer.", resource, name)])
    return value


def _int_list(req: dict[str, Any], name: str, resource: str) -> list[int]:
    value = req.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise invalid(resource, [verror("InvalidField", f"{name} must be a list of integers.", resource, name)])
    return value


def create_connectwise_app(config: ConnectWiseSandboxConfig | None = None) -> ConnectWiseFaultMiddleware:
    """Build the simulator: a Starlette app wrapped outermost in fault injection (a FaultMiddleware subclass).

    The simulator object is reachable as ``app.simulator`` for in-process inspection.
    """
    sim = ConnectWiseSimulator(config or ConnectWiseSandboxConfig())
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    routes = [
        Route("/login/companyinfo/{company}", sim.company_info, methods=["GET"]),
        Route(API_PREFIX + "/{path:path}", sim.api, methods=methods),
        Route("/_sandbox/state", sim.admin_state, methods=["GET"]),
        Route("/_sandbox/reset", sim.admin_reset, methods=["POST"]),
        Route("/_sandbox/faults", sim.admin_faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/calls", sim.admin_calls, methods=["GET", "DELETE"]),
        Route("/_sandbox/config", sim.admin_config, methods=["GET", "POST"]),
        Route("/_sandbox/unpostedinvoices", sim.admin_add_invoice, methods=["POST"]),
        Route("/_sandbox/companies/{id}", sim.admin_delete_company, methods=["DELETE"]),
        Route("/_sandbox/time/entries", sim.admin_time_entry, methods=["POST"]),
        Route("/_sandbox/time/entries/{id}", sim.admin_update_time_entry, methods=["POST"]),
        Route("/_sandbox/unpostedprocurement", sim.admin_add_procurement, methods=["POST"]),
        Route("/_sandbox/credit-applications", sim.admin_credit_application, methods=["POST"]),
        Route("/_sandbox/invoices/{id}/edit", sim.admin_edit_invoice, methods=["POST"]),
        Route("/_sandbox/invoices/{id}/close", sim.admin_close_invoice, methods=["POST"]),
        Route("/_sandbox/purchaseorders/{id}/edit", sim.admin_edit_procurement, methods=["POST"]),
    ]
    app = _CallLog(Starlette(routes=routes), sim)
    wrapped = ConnectWiseFaultMiddleware(app, sim)
    wrapped.simulator = sim  # type: ignore[attr-defined]
    return wrapped

