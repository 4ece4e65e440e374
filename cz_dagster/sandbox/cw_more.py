"""More of the simulated ConnectWise tenant, for the payroll, payments and catalogue flows: members, work types,
time entries and sheets, billing statuses, invoice payments and status changes, catalogue items.

Kept beside the accounting world (cw_seed) and plugged into the simulator's dispatch: ``Extras.dispatch``
answers the paths it knows and returns None for the rest. Deterministic from the seed and anchor day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from cz_dagster.sandbox import demo
from cz_dagster.sandbox.cw_seed import World, drop_nulls, fmt, money

WORK_TYPES = [
    {"id": 1, "name": "Regular", "billTime": "Billable"},
    {"id": 2, "name": "Overtime", "billTime": "Billable"},
    {"id": 3, "name": "After Hours", "billTime": "Billable"},
    {"id": 4, "name": "Travel", "billTime": "NoCharge"},
    {"id": 5, "name": "Annual Leave", "billTime": "DoNotBill", "accrualType": "Vacation"},
    {"id": 6, "name": "Sick Leave", "billTime": "DoNotBill", "accrualType": "Sick"},
]
BILLING_STATUSES = [
    {"id": 1, "name": "New", "closedFlag": False}, {"id": 2, "name": "Sent", "closedFlag": False},
    {"id": 13, "name": "Closed", "closedFlag": True}, {"id": 14, "name": "Paid", "closedFlag": True},
    {"id": 15, "name": "Partially Paid", "closedFlag": False},
]
SUBCATEGORIES = [{"id": 1, "name": "General", "category": {"id": 1, "name": "Products"}}]
TYPES = [{"id": 1, "name": "Non-Inventory"}, {"id": 2, "name": "Service"}]
CURRENCIES = [
    {"id": 1, "currencyIdentifier": "AUD", "name": "Australian Dollar", "symbol": "$",
     "currencyCode": {"id": 1, "name": "AUD"}, "numberOfDecimals": 2},
    {"id": 2, "currencyIdentifier": "NZD", "name": "New Zealand Dollar", "symbol": "$",
     "currencyCode": {"id": 2, "name": "NZD"}, "numberOfDecimals": 2},
]
# What the mix of time entry statuses looks like across three weeks of a real MSP
STATUS_MIX = ["ApprovedByTierTwo"] * 6 + ["ReadyToBill"] * 3 + ["Billed"] * 3 + ["Open", "PendingApproval",
                                                                                   "Rejected", "ErrorsCorrected"]
KNOWN = {
    "members": "id identifier firstName lastName officeEmail primaryEmail employeeIdentifer inactiveFlag hireDate "
               "defaultLocation/* timeSheetStartDate type",
    "worktypes": "id name billTime accrualType inactiveFlag",
    "timeentries": "id company/* chargeToId chargeToType member/* locationId workType/* workRole/* timeStart timeEnd "
                   "actualHours hoursDeduct billableOption notes status timeSheet/*",
    "billingstatuses": "id name closedFlag defaultFlag sortOrder",
    "payments": "id type amount paymentDate invoice/* appliedBy",
    "catalog": "id identifier description customerDescription subcategory/* type/* productClass price cost "
               "taxableFlag inactiveFlag integrationXRef",
    "subcategories": "id name category/*",
    "types": "id name",
    "currencies": "id currencyIdentifier name symbol currencyCode/*",
    "unpostedprocurement": "id description unpostedProductId locationId procurementType purchaseOrder/* purchaseDate "
                           "vendor/* vendorAccountNumber vendorInvoiceNumber vendorInvoiceDate currency/* total "
                           "taxTotal taxCode/* freightCost dateClosed",
}
PROCUREMENT_LINES = [("Dell Latitude 5450 laptop", "310", 1450.00, "INPUT"),
                     ("Microsoft 365 Business Premium (annual)", "310", 26.40, "INPUT"),
                     ("Network switch 24-port PoE", "310", 560.00, "INPUT"),
                     ("Courier and handling", "429", 35.00, "EXEMPTEXPENSES"),
                     ("Firewall subscription (wholesale)", "310", 410.00, "INPUT")]


class CwError(Exception):
    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(body.get("message"))
        self.status, self.body = status, body


def invalid(resource: str, message: str, code: str = "InvalidObject", fld: str = "") -> CwError:
    return CwError(400, {"code": "InvalidObject", "message": f"{resource} object is invalid",
                         "errors": [{"code": code, "message": message, "resource": resource, "field": fld}]})


@dataclass
class Extras:
    world: World
    seed: int
    members: dict[int, dict[str, Any]] = field(default_factory=dict)
    time_entries: dict[int, dict[str, Any]] = field(default_factory=dict)
    payments: dict[int, dict[str, Any]] = field(default_factory=dict)
    invoice_status: dict[int, dict[str, Any]] = field(default_factory=dict)
    catalog: dict[int, dict[str, Any]] = field(default_factory=dict)
    procurement: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 70001

    def __post_init__(self) -> None:
        anchor = self.world.anchor
        locations = {slug: info["cw_location_id"] for slug, info in demo.LOCATIONS.items()}
        for m in demo.CW_MEMBERS:
            loc_id = locations.get(m["defaultLocation"], 11)
            self.members[m["id"]] = drop_nulls({
                **{k: m.get(k) for k in ("id", "identifier", "firstName", "lastName", "primaryEmail",
                                         "employeeIdentifer", "inactiveFlag")},
                "officeEmail": m.get("primaryEmail"), "hireDate": fmt(anchor - timedelta(days=800)),
                "defaultLocation": {"id": loc_id, "name": demo.LOCATIONS[m["defaultLocation"]]["name"]},
                "type": {"id": 1, "name": "Employee"}, "_info": self._info(anchor - timedelta(days=30))})
        rng = random.Random(self.seed + 7)
        entry_id = 90001
        for m in demo.CW_MEMBERS:
            if m["inactiveFlag"]:
                continue
            for back in range(21, 0, -1):
                day = (anchor - timedelta(days=back)).date()
                if day.weekday() >= 5:
                    continue
                start = datetime.combine(day, datetime.min.time(), tzinfo=anchor.tzinfo) + timedelta(hours=8)
                for _ in range(rng.randint(1, 3)):
                    hours = rng.choice([0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
                    work = rng.choice([WORK_TYPES[0]] * 6 + [WORK_TYPES[1], WORK_TYPES[3]])
                    status = rng.choice(STATUS_MIX)
                    self.time_entries[entry_id] = self._entry(entry_id, m, start, hours, work, status)
                    start += timedelta(hours=hours)
                    entry_id += 1
        vendors = [c for c in self.world.companies.values() if c.get("isVendorFlag")]
        gl_id, proc_id = 80001, 3001
        for slug, info in demo.LOCATIONS.items():
            for n in range(8):
                vendor = vendors[(n + len(slug)) % len(vendors)]
                day = anchor - timedelta(days=rng.randint(2, 40))
                lines = []
                for _ in range(rng.randint(1, 3)):
                    desc, account, cost, xref = rng.choice(PROCUREMENT_LINES)
                    qty = float(rng.randint(1, 5))
                    rate = Decimal("0.1") if xref == "INPUT" else Decimal(0)
                    total = Decimal(str(cost)) * Decimal(str(qty))
                    lines.append({"id": gl_id, "accountNumber": account, "description": desc, "quantity": qty,
                                  "cost": cost, "itemCost": cost, "total": money(total), "taxCodeXref": xref,
                                  "taxCode": {"id": 1 if xref == "INPUT" else 2,
                                              "name": "GST" if xref == "INPUT" else "GST-FREE"},
                                  "_tax": total * rate})
                    gl_id += 1
                subtotal = sum((Decimal(str(x["total"])) for x in lines), Decimal(0))
                tax = sum((x.pop("_tax") for x in lines), Decimal(0))
                self.procurement[proc_id] = {
                    "id": proc_id, "locationId": info["cw_location_id"], "poNumber": f"PO-{proc_id}",
                    "vendorId": vendor["id"], "vendorInvoiceNumber": f"{vendor['identifier'][:6].upper()}-{4400 + n}",
                    "date": day, "lines": lines, "apEntry": gl_id, "subtotal": money(subtotal),
                    "tax": money(tax.quantize(Decimal("0.01"))), "batch": None}
                gl_id += 1
                proc_id += 1
        for i, item in enumerate((demo.XERO_ITEMS or [])[:4], start=1):  # some items already catalogued
            self.catalog[i] = self._catalog_item(i, {"identifier": item["Code"], "description": item["Name"][:60],
                                                     "customerDescription": item["Name"], "price": 1.0, "cost": 0.5,
                                                     "subcategory": SUBCATEGORIES[0], "type": TYPES[0]})

    def _info(self, stamp: datetime, by: str = "ApiMember") -> dict[str, Any]:
        return {"lastUpdated": fmt(stamp), "updatedBy": by, "dateEntered": fmt(stamp), "enteredBy": by}

    def _entry(self, entry_id: int, m: dict[str, Any], start: datetime, hours: float, work: dict[str, Any],
               status: str) -> dict[str, Any]:
        locations = {slug: info["cw_location_id"] for slug, info in demo.LOCATIONS.items()}
        week = start.date() - timedelta(days=start.weekday())
        return {"id": entry_id, "chargeToType": "ServiceTicket", "chargeToId": 5000 + entry_id % 97,
                "member": {"id": m["id"], "identifier": m["identifier"],
                           "name": f"{m['firstName']} {m['lastName']}"},
                "locationId": locations.get(m["defaultLocation"], 11),
                "workType": {"id": work["id"], "name": work["name"]}, "timeStart": fmt(start),
                "timeEnd": fmt(start + timedelta(hours=hours)), "actualHours": hours, "hoursDeduct": 0.0,
                "billableOption": "Billable", "notes": "Support work", "status": status,
                "timeSheet": {"id": 40000 + m["id"] * 100 + week.isocalendar()[1],
                              "name": f"{week} to {week + timedelta(days=6)}"},
                "_info": self._info(start + timedelta(hours=hours))}

    def _catalog_item(self, item_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return drop_nulls({"id": item_id, "productClass": "NonInventory", "taxableFlag": True, "inactiveFlag": False,
                           **body, "_info": self._info(datetime.now(self.world.anchor.tzinfo))})

    # -- procurement: unposted -> export -> batch, beside the invoices of the accounting world -----------
    def proc_gl_ids(self, rec: dict[str, Any]) -> list[int]:
        return [x["id"] for x in rec["lines"]] + [rec["apEntry"]]

    def _vendor_ref(self, vendor_id: int) -> dict[str, Any]:
        return self.world.company_ref(vendor_id)

    def render_unposted_procurement(self, rec: dict[str, Any]) -> dict[str, Any]:
        total = money(Decimal(str(rec["subtotal"])) + Decimal(str(rec["tax"])))
        return drop_nulls({"id": rec["id"], "description": f"Purchase order {rec['poNumber']}",
                           "unpostedProductId": str(rec["id"]), "locationId": rec["locationId"],
                           "procurementType": "Purchase", "purchaseOrder": {"id": rec["id"], "name": rec["poNumber"]},
                           "purchaseDate": fmt(rec["date"]), "vendor": self._vendor_ref(rec["vendorId"]),
                           "vendorInvoiceNumber": rec["vendorInvoiceNumber"], "vendorInvoiceDate": fmt(rec["date"]),
                           "currency": {"id": 1, "currencyCode": "AUD", "name": "Australian Dollar"},
                           "total": total, "taxTotal": rec["tax"], "freightCost": 0.0, "dateClosed": fmt(rec["date"]),
                           "_info": self._info(rec["date"])})

    def purchase_transaction(self, rec: dict[str, Any]) -> dict[str, Any]:
        vendor = self._vendor_ref(rec["vendorId"])
        return drop_nulls({
            "id": rec["id"], "documentNumber": rec["poNumber"], "documentDate": fmt(rec["date"]),
            "purchaseDate": fmt(rec["date"]), "apAccountNumber": "800", "company": vendor, "vendor": vendor,
            "vendorNumber": vendor.get("identifier"), "vendorInvoiceNumber": rec["vendorInvoiceNumber"],
            "vendorInvoiceDate": fmt(rec["date"]), "dueDate": fmt(rec["date"] + timedelta(days=30)),
            "currency": {"id": 1, "currencyCode": "AUD", "name": "Australian Dollar"},
            "total": money(Decimal(str(rec["subtotal"])) + Decimal(str(rec["tax"]))), "freightAmount": 0.0,
            "glEntryIds": ",".join(str(i) for i in self.proc_gl_ids(rec)),
            "purchaseDetail": [dict(x) for x in rec["lines"]]})

    def export_products(self, location_id: int | None) -> tuple[list[dict], list[dict]]:
        chosen = [r for r in self.procurement.values() if r["batch"] is None
                  and (location_id is None or r["locationId"] == location_id)]
        vendors = {r["vendorId"]: {"vendor": self._vendor_ref(r["vendorId"]), "company": self._vendor_ref(
            r["vendorId"]), "vendorNumber": self._vendor_ref(r["vendorId"]).get("identifier")} for r in chosen}
        return [self.purchase_transaction(r) for r in chosen], list(vendors.values())

    def batch_procurement(self, body: dict[str, Any]) -> dict[str, Any]:
        from cz_dagster.sandbox.cw_seed import Batch

        ids = [int(i) for i in body.get("processedRecordIds") or []]
        if not ids:
            raise invalid("accountingBatch", "processedRecordIds is required.", "MissingRequiredField",
                          "processedRecordIds")
        identifier = str(body.get("batchIdentifier") or datetime.now(self.world.anchor.tzinfo).strftime("%Y%m%d%H%M%S"))
        if len(identifier) > 50:
            raise invalid("accountingBatch", "batchIdentifier must be 50 characters or fewer.", "InvalidField",
                          "batchIdentifier")
        if any(b.identifier == identifier for b in self.world.batches.values()):
            raise invalid("accountingBatch", "A batch with this identifier already exists", "ObjectExists",
                          "batchIdentifier")
        by_entry = {g: r for r in self.procurement.values() if r["batch"] is None for g in self.proc_gl_ids(r)}
        unknown = [i for i in ids if i not in by_entry]
        if unknown:
            raise invalid("accountingBatch", f"{', '.join(map(str, unknown))} are not unposted GL entries.",
                          "InvalidField", "processedRecordIds")
        records = {by_entry[i]["id"]: by_entry[i] for i in ids}
        for rec in records.values():
            missing = set(self.proc_gl_ids(rec)) - set(ids)
            if missing:
                raise invalid("accountingBatch", f"procurement {rec['poNumber']} must be batched whole: "
                              f"processedRecordIds lacks {', '.join(map(str, sorted(missing)))}.", "InvalidField",
                              "processedRecordIds")
        now = datetime.now(self.world.anchor.tzinfo)
        batch_id = max(self.world.batches, default=0) + 1
        self.world.batches[batch_id] = Batch(id=batch_id, identifier=identifier, export_invoices=False,
                                             export_expenses=False, export_products=True, processed_ids=ids,
                                             invoice_ids=[], created_at=now, updated_at=now)
        for rec in records.values():
            rec["batch"] = batch_id
        out = self.world.export([])
        out["purchaseTransactions"] = [self.purchase_transaction(r) for r in records.values()]
        return out

    # -- invoices: payments and status on top of the accounting world -------------------------------------
    def render_invoice(self, base: dict[str, Any]) -> dict[str, Any]:
        paid = sum((Decimal(str(p["amount"])) for p in self.payments.values() if p["invoice"]["id"] == base["id"]),
                   Decimal(0))
        out = dict(base)
        out["payments"] = money(paid)
        out["balance"] = money(Decimal(str(base["total"])) - paid)
        if base["id"] in self.invoice_status:
            out["status"] = self.invoice_status[base["id"]]
            out["_info"] = {**base.get("_info", {}), "lastUpdated": fmt(datetime.now(self.world.anchor.tzinfo))}
        return out

    def _invoice(self, raw: str) -> dict[str, Any]:
        inv = self.world.invoices.get(int(raw)) if raw.isdigit() else None
        if inv is None:
            raise CwError(404, {"code": "NotFound", "message": f"Invoice recId {raw} not found."})
        return self.render_invoice_base(inv)

    def render_invoice_base(self, inv: Any) -> dict[str, Any]:
        return self.world.render_invoice(inv)  # already wrapped with payments

    def add_payment(self, invoice_raw: str, body: dict[str, Any]) -> dict[str, Any]:
        invoice = self._invoice(invoice_raw)
        try:
            amount = Decimal(str(body.get("amount")))
        except ArithmeticError:
            raise invalid("invoicePayment", "amount is not a number", fld="amount") from None
        if amount <= 0:
            raise invalid("invoicePayment", "Payment amount must be greater than zero.", fld="amount")
        if amount > Decimal(str(invoice["balance"])):
            raise invalid("invoicePayment", "Payment amount exceeds invoice balance.", fld="amount")
        pid = self.next_id
        self.next_id += 1
        payment = {"id": pid, "type": "Payment", "amount": money(amount),
                   "paymentDate": body.get("paymentDate") or fmt(datetime.now(self.world.anchor.tzinfo)),
                   "invoice": {"id": invoice["id"], "identifier": invoice["invoiceNumber"]}, "appliedBy": "ApiMember",
                   "_info": self._info(datetime.now(self.world.anchor.tzinfo))}
        self.payments[pid] = payment
        return {**payment, "invoiceTotal": invoice["total"],
                "invoiceBalance": money(Decimal(str(invoice["balance"])) - amount)}

    # -- dispatch ---------------------------------------------------------------------------------------------
    def collections(self) -> dict[tuple[str, ...], tuple[str, list[dict[str, Any]]]]:
        return {
            ("system", "members"): ("members", list(self.members.values())),
            ("time", "worktypes"): ("worktypes", [{**w, "_info": self._info(self.world.anchor)} for w in WORK_TYPES]),
            ("time", "entries"): ("timeentries", list(self.time_entries.values())),
            ("finance", "billingstatuses"): ("billingstatuses", list(BILLING_STATUSES)),
            ("procurement", "catalog"): ("catalog", list(self.catalog.values())),
            ("procurement", "subcategories"): ("subcategories", list(SUBCATEGORIES)),
            ("procurement", "types"): ("types", list(TYPES)),
            ("finance", "currencies"): ("currencies", list(CURRENCIES)),
            ("finance", "accounting", "unpostedprocurement"): (
                "unpostedprocurement", [self.render_unposted_procurement(r) for r in self.procurement.values()
                                        if r["batch"] is None]),
        }

    def write(self, method: str, parts: list[str], body: Any) -> tuple[int, Any] | None:
        """Writes this module owns; None when the path is not one of them."""
        if len(parts) >= 4 and parts[:2] == ["finance", "invoices"] and parts[3] == "payments":
            if method == "POST" and len(parts) == 4:
                return 201, self.add_payment(parts[2], body or {})
            if method == "DELETE" and len(parts) == 5:
                pid = int(parts[4]) if parts[4].isdigit() else -1
                if pid not in self.payments or str(self.payments[pid]["invoice"]["id"]) != parts[2]:
                    raise CwError(404, {"code": "NotFound", "message": f"InvoicePayment recId {parts[4]} not found."})
                del self.payments[pid]
                return 204, None
        if len(parts) == 3 and parts[:2] == ["finance", "invoices"] and method == "PATCH":
            self._invoice(parts[2])
            for op in body if isinstance(body, list) else []:
                if op.get("path") == "status" and op.get("op") in ("replace", "add"):
                    wanted = (op.get("value") or {}).get("id")
                    status = next((s for s in BILLING_STATUSES if s["id"] == wanted), None)
                    if status is None:
                        raise invalid("invoice", f"billing status {wanted} does not exist", fld="status")
                    self.invoice_status[int(parts[2])] = {"id": status["id"], "name": status["name"],
                                                          "isClosed": status["closedFlag"]}
            return 200, self._invoice(parts[2])
        if (parts == ["finance", "accounting", "batches"] and method == "POST" and isinstance(body, dict)
                and body.get("exportProductsFlag") and not body.get("exportInvoicesFlag")):
            return 201, self.batch_procurement(body)
        if parts[:2] == ["procurement", "catalog"]:
            if method == "POST" and len(parts) == 2:
                return 201, self.create_catalog(body or {})
            if method == "PATCH" and len(parts) == 3:
                return 200, self.patch_catalog(parts[2], body)
        return None

    def payments_of(self, invoice_raw: str) -> list[dict[str, Any]]:
        self._invoice(invoice_raw)
        return [p for p in self.payments.values() if str(p["invoice"]["id"]) == invoice_raw]

    def create_catalog(self, body: dict[str, Any]) -> dict[str, Any]:
        for name in ("identifier", "description", "subcategory", "type", "customerDescription"):
            if not body.get(name):
                raise invalid("catalogItem", f"The {name} field is required.", "MissingRequiredField", name)
        for name, limit in (("identifier", 75), ("description", 60), ("customerDescription", 6000),
                            ("integrationXRef", 50)):
            if body.get(name) and len(str(body[name])) > limit:
                raise invalid("catalogItem", f"The field {name} must be a string with a maximum length of {limit}.",
                              "InvalidField", name)
        if any(str(c["identifier"]).casefold() == str(body["identifier"]).casefold() for c in self.catalog.values()):
            raise invalid("catalogItem", "A catalog item with this identifier already exists", "ObjectExists",
                          "identifier")
        item_id = max(self.catalog, default=0) + 1
        self.catalog[item_id] = self._catalog_item(item_id, body)
        return self.catalog[item_id]

    def patch_catalog(self, raw: str, body: Any) -> dict[str, Any]:
        item = self.catalog.get(int(raw)) if raw.isdigit() else None
        if item is None:
            raise CwError(404, {"code": "NotFound", "message": f"CatalogItem recId {raw} not found."})
        for op in body if isinstance(body, list) else []:
            if op.get("op") in ("replace", "add") and op.get("path") in KNOWN["catalog"].split():
                item[op["path"]] = op.get("value")
        item["_info"] = self._info(datetime.now(self.world.anchor.tzinfo))
        return item

    def admin_time_entry(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add an entry as a technician would: {memberId, date, hours, workTypeId?, status?, startHour?}."""
        member = next((m for m in demo.CW_MEMBERS if m["id"] == int(body["memberId"])), None)
        if member is None:
            raise ValueError(f"memberId {body['memberId']} is not a demo member")
        work = next((w for w in WORK_TYPES if w["id"] == int(body.get("workTypeId", 1))), WORK_TYPES[0])
        day = datetime.fromisoformat(str(body["date"])[:10]).replace(tzinfo=self.world.anchor.tzinfo)
        start = day + timedelta(hours=float(body.get("startHour", 18)))
        entry_id = max(self.time_entries, default=90000) + 1
        self.time_entries[entry_id] = self._entry(entry_id, member, start, float(body["hours"]), work,
                                                  str(body.get("status", "ApprovedByTierTwo")))
        return self.time_entries[entry_id]

    def state(self) -> dict[str, Any]:
        return {"procurement": {
                    "unposted": [self.render_unposted_procurement(r) for r in self.procurement.values()
                                 if r["batch"] is None],
                    "posted": [{**self.render_unposted_procurement(r), "batch": r["batch"]}
                               for r in self.procurement.values() if r["batch"] is not None]},
                "payments": list(self.payments.values()), "catalog": list(self.catalog.values()),
                "members": list(self.members.values()), "time_entries": list(self.time_entries.values())}
