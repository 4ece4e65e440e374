"""The rest of the simulated ConnectWise tenant beside the invoices' Accounting Interface (cw_seed): procurement
(cw_procurement), time and members (cw_time), payments, billing statuses and currencies (cw_finance) and the
catalogue (cw_catalog), put together for the HTTP layer.

``Extras`` offers connectwise.py three things: ``collections()`` (plain GET lists, /{id} and /count, served by the
common paging/conditions code), ``route()`` (nested paths and writes) and ``state()`` for /_sandbox/state. Every
write stamps ``_info.lastUpdated`` with the real time, so incremental ``_info/lastUpdated >= [...]`` reads see it.
Deterministic from the seed and the anchor day; each module has its own random stream, so adding one never moves
another's data.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from cz_sandbox import cw_catalog, cw_finance, cw_procurement, cw_time
from cz_sandbox.cw_catalog import Catalog
from cz_sandbox.cw_common import CwError, not_found
from cz_sandbox.cw_finance import BILLING_STATUSES, CURRENCIES, Finance
from cz_sandbox.cw_procurement import PO_STATUSES, Procurement
from cz_sandbox.cw_seed import Invoice, World, drop_nulls
from cz_sandbox.cw_time import Time

__all__ = ["ENTITY", "KNOWN", "CwError", "Extras"]

KNOWN: dict[str, str] = {**cw_procurement.KNOWN, **cw_time.KNOWN, **cw_finance.KNOWN, **cw_catalog.KNOWN}
ENTITY = {"members": "Member", "worktypes": "WorkType", "timeentries": "TimeEntry", "timesheets": "TimeSheet",
          "billingstatuses": "BillingStatus", "currencies": "FinanceCurrency", "catalog": "CatalogItem",
          "subcategories": "ProductSubCategory", "categories": "ProductCategory", "types": "ProductType",
          "purchaseorders": "PurchaseOrder", "purchaseorderstatuses": "PurchaseOrderStatus",
          "purchaseorderlineitems": "PurchaseOrderLineItem", "unpostedprocurement": "UnpostedProcurement",
          "payments": "InvoicePayment"}

Render = Callable[[], list[dict[str, Any]]]
Lookup = Callable[[str], dict[str, Any] | None]
# What route() answers: ("list"|"count", resource, items) for the common list code, or ("done", status, body).
Answer = tuple[str, Any, Any]


def _by_id(items: Render) -> Lookup:
    def get(raw: str) -> dict[str, Any] | None:
        return next((it for it in items() if str(it["id"]) == raw), None)
    return get


class Extras:
    """Procurement, time, finance and catalogue state of one tenant, on top of its accounting world."""

    def __init__(self, world: World, seed: int, procurement_per_location: dict[str, int] | None = None):
        self.world = world
        self.procurement = Procurement(world)
        self.procurement.seed(random.Random(seed + 11), procurement_per_location or {})
        self.time = Time(world)
        self.time.seed(random.Random(seed + 7))
        self.finance = Finance(world)
        self.catalog = Catalog(world)
        self.catalog.seed()

    def render_invoice(self, inv: Invoice, base: dict[str, Any]) -> dict[str, Any]:
        return self.finance.decorate(inv, base)

    # ------------------------------------------------------------ plain collections

    def collections(self) -> dict[tuple[str, ...], tuple[str, Render, Lookup]]:
        p, t, c = self.procurement, self.time, self.catalog

        def po(raw: str) -> dict[str, Any] | None:
            found = p.pos.get(int(raw)) if raw.isdigit() else None
            return p.render_po(found) if found else None

        def unposted(raw: str) -> dict[str, Any] | None:
            rec = p.records.get(int(raw)) if raw.isdigit() else None
            return p.render_unposted(rec) if rec and rec.batch_id is None else None

        def entry(raw: str) -> dict[str, Any] | None:
            return t.entries.get(int(raw)) if raw.isdigit() else None

        def member(raw: str) -> dict[str, Any] | None:
            return t.members.get(int(raw)) if raw.isdigit() else None

        def item(raw: str) -> dict[str, Any] | None:
            return c.items.get(int(raw)) if raw.isdigit() else None

        def fixed(rows: list[dict[str, Any]]) -> Render:
            return lambda: [drop_nulls(dict(r)) for r in rows]

        def sheet(raw: str) -> dict[str, Any] | None:
            return next((s for s in t.sheets.values() if str(s["id"]) == raw), None)

        return {
            ("system", "members"): ("members", lambda: [t.members[k] for k in sorted(t.members)], member),
            ("time", "worktypes"): ("worktypes", t.work_types, _by_id(t.work_types)),
            ("time", "entries"): ("timeentries", lambda: list(t.entries.values()), entry),
            ("time", "sheets"): ("timesheets", t.sheet_list, sheet),
            ("finance", "billingstatuses"): ("billingstatuses", fixed(BILLING_STATUSES),
                                             _by_id(fixed(BILLING_STATUSES))),
            ("finance", "currencies"): ("currencies", fixed(CURRENCIES), _by_id(fixed(CURRENCIES))),
            ("procurement", "catalog"): ("catalog", lambda: list(c.items.values()), item),
            ("procurement", "subcategories"): ("subcategories", fixed(cw_catalog.SUBCATEGORIES),
                                               _by_id(fixed(cw_catalog.SUBCATEGORIES))),
            ("procurement", "categories"): ("categories", fixed(cw_catalog.CATEGORIES),
                                            _by_id(fixed(cw_catalog.CATEGORIES))),
            ("procurement", "types"): ("types", fixed(cw_catalog.TYPES), _by_id(fixed(cw_catalog.TYPES))),
            ("procurement", "purchaseorderstatuses"): ("purchaseorderstatuses", fixed(PO_STATUSES),
                                                       _by_id(fixed(PO_STATUSES))),
            ("procurement", "purchaseorders"): ("purchaseorders", lambda: [p.render_po(x) for x in p.pos.values()],
                                                po),
            ("finance", "accounting", "unpostedprocurement"): (
                "unpostedprocurement", lambda: [p.render_unposted(r) for r in p.unposted()], unposted),
        }

    # ------------------------------------------------------------ nested paths and writes

    def route(self, method: str, parts: list[str], body: Any) -> Answer | None:
        """Answer the nested and write paths this module owns; None for everything else."""
        n = len(parts)
        if n >= 3 and parts[:2] == ["finance", "invoices"]:
            raw = parts[2]
            if n == 3 and method == "PATCH":
                return "done", 200, self.world.render_invoice(self.finance.patch_invoice(raw, body))
            if n == 3 and method == "PUT":
                return "done", 200, self.world.render_invoice(self.finance.put_invoice(raw, body))
            if n >= 4 and parts[3] == "payments":
                if n == 4 and method == "GET":
                    return "list", "payments", self.finance.payments_of(raw)
                if n == 4 and method == "POST":
                    return "done", 201, self.finance.add_payment(raw, body)
                if n == 5 and parts[4] == "count" and method == "GET":
                    return "count", "payments", self.finance.payments_of(raw)
                if n == 5 and method == "GET":
                    return "done", 200, self.finance.payment(raw, parts[4])
                if n == 5 and method in ("PATCH", "PUT"):
                    return "done", 200, self.finance.change_payment(raw, parts[4], body, method)
                if n == 5 and method == "DELETE":
                    self.finance.delete_payment(raw, parts[4])
                    return "done", 204, None
                return _not_allowed(method)
        if n == 3 and parts[:2] == ["finance", "closedinvoices"] and parts[2] != "count":
            # The documented way to change a closed invoice's status: ClosedInvoice {id, status, internalNotes}.
            if method == "GET":
                return "done", 200, self.finance.closed_invoice(parts[2])
            if method == "PATCH":
                self.finance.patch_invoice(parts[2], body)
                return "done", 200, self.finance.closed_invoice(parts[2])
            if method == "PUT":
                self.finance.put_closed_invoice(parts[2], body)
                return "done", 200, self.finance.closed_invoice(parts[2])
            return _not_allowed(method)
        if n >= 4 and parts[:2] == ["procurement", "purchaseorders"] and parts[3] == "lineitems":
            _po, lines = self.procurement.lines_of(parts[2])
            if n == 4 and method == "GET":
                return "list", "purchaseorderlineitems", lines
            if n == 5 and parts[4] == "count" and method == "GET":
                return "count", "purchaseorderlineitems", lines
            if n == 5 and method == "GET":
                found = next((x for x in lines if str(x["id"]) == parts[4]), None)
                if found is None:
                    raise not_found("PurchaseOrderLineItem", parts[4])
                return "done", 200, found
            return _not_allowed(method)
        if parts[:2] == ["procurement", "catalog"]:
            if n == 2 and method == "POST":
                return "done", 201, self.catalog.create(body)
            if n == 3 and parts[2] != "count" and method == "PUT":
                return "done", 200, self.catalog.put(parts[2], body)
            if n == 3 and parts[2] != "count" and method == "PATCH":
                return "done", 200, self.catalog.patch(parts[2], body)
        if n == 4 and parts[:2] == ["time", "sheets"] and parts[3] in ("submit", "approve", "reject", "reverse"):
            if method != "POST":
                return _not_allowed(method)
            return "done", 200, self.time.sheet_action(parts[2], parts[3])
        return None

    def state(self) -> dict[str, Any]:
        return {**self.procurement.state(), **self.time.state(), **self.finance.state(), **self.catalog.state()}


def _not_allowed(method: str) -> Answer:
    raise CwError(405, {"code": "ConnectWiseApi",
                        "message": f"The requested resource does not support http method '{method}'."})
