"""Procurement in the simulated tenant: purchase orders from the vendor companies, their line items, and the
Accounting Interface's procurement side (unposted procurement -> export as purchase transactions -> batch).

Grain (chosen, the public record is silent): receiving and closing a purchase order creates ONE unposted
procurement record, the way the export groups a supplier bill. The record has one GL entry per PO line (its
purchaseDetail item ids) and one for its tax (its purchaseDetailTax item id); the export names no ``glEntryIds``
for procurement (as in ConnectWise's sample), so a batch names those item ids and must name them all (as with
invoices). GL entry ids come from the world's one counter, after the invoices' ids.

Ids: purchase orders from 5001 (poNumber "PO-40001"... in date order), unposted procurement from 7001 in closing
order (``unpostedProductId`` is the same number as a string; ``includedProductIds`` of an export names these);
the GLExportPurchaseTransaction ``id`` is a string as in the sample, "PO #PO-40001, Packing Slip: PS7001".
Tax: a line's ``taxCode`` is the tenant's CW tax code (GST / GST-FREE) and its
``taxCodeXref`` is the purchase-side Xero tax type from ``demo.CW_PURCHASE_TAX_XREFS`` (INPUT / EXEMPTEXPENSES);
freight is taxed like the first line. Amounts: line ``tax`` = round(extCost x rate); total = subTotal + freight + tax.

Vendor returns (negative procurement; opt-in, ``"vendorReturn": true`` on ``/_sandbox/unpostedprocurement``): a
purchase order whose lines have negative quantities, the stock sent back, received and closed like any other, so
its purchase transaction totals negative and its purchaseDetail lines (and tax item) carry the opposite sign,
positive. Unpublished, chosen: the return is a PO with negative line quantities (the unit cost stays positive),
its ``procurementType`` stays "Purchase" (the enum's other values, Adjustment and Transfer, are inventory moves),
and its vendor invoice number defaults to "CR-<po id>" (the supplier's credit note).

Edits after posting (``/_sandbox/purchaseorders/{id}/edit``): once its batch is deleted, a received purchase order
can be changed and received again; like an invoice closed again it gets NEW GL entry ids (purchaseDetail and
purchaseDetailTax item ids) and a new ``dateClosed``, and keeps its PO, its number and its unposted record id.
Unpublished, chosen: the same record id (ConnectWise might make a new one).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from cz_sandbox import demo
from cz_sandbox.cw_common import API_MEMBER, CwError, info, invalid, not_found, now
from cz_sandbox.cw_seed import CURRENCY, TERMS, World, drop_nulls, fmt, money, zoneless

PO_STATUSES = [
    {"id": 1, "name": "Open", "defaultFlag": True, "closedFlag": False, "sortOrder": 1},
    {"id": 2, "name": "Ordered", "defaultFlag": False, "closedFlag": False, "sortOrder": 2},
    {"id": 3, "name": "Closed", "defaultFlag": False, "closedFlag": True, "sortOrder": 3},
    {"id": 4, "name": "Cancelled", "defaultFlag": False, "closedFlag": True, "sortOrder": 4},
]
_STATUS = {s["id"]: s for s in PO_STATUSES}
AP_ACCOUNT = "800"  # the demo Xero organisations' Accounts Payable code
PURCHASE_TAX_ACCOUNT = "820"  # GST
FIRST_PO_ID = 5001
FIRST_PO_NUMBER = 40001
FIRST_UNPOSTED_ID = 7001
FREIGHT = (15.0, 22.5, 35.0, 49.95)
RESOURCE = "unpostedProcurement"

KNOWN = {
    "purchaseorders": "id poNumber poDate status/* closedFlag dateClosed vendorCompany/* vendorContact/* "
                      "vendorSite/* vendorInvoiceNumber vendorInvoiceDate vendorOrderNumber customerCompany/* "
                      "locationId location/* businessUnitId currency/* subTotal salesTax freightCost "
                      "freightTaxTotal total taxCode/* taxPoFlag taxFreightFlag terms/* trackingNumber "
                      "internalNotes enteredBy",
    "purchaseorderlineitems": "id purchaseOrderId purchaseOrderNumber lineNumber product/* description vendorSku "
                              "quantity unitCost extCost tax receivedQuantity receivedStatus dateReceived "
                              "closedFlag canceledFlag batchedFlag unitOfMeasure/*",
    "purchaseorderstatuses": "id name defaultFlag closedFlag sortOrder inactiveFlag",
    "unpostedprocurement": "id description unpostedProductId locationId departmentId procurementType "
                           "purchaseOrder/* purchaseDate trackingNumber vendor/* vendorAccountNumber "
                           "vendorInvoiceNumber vendorInvoiceDate currency/* total taxTotal taxCode/* freightCost "
                           "freightTaxTotal billingTerms/* dateClosed customer/* purchaseOrderTaxableFlag "
                           "itemTaxableFlag",
}


@dataclass
class PoLine:
    id: int
    line_number: int
    description: str
    product: str | None
    quantity: float
    unit_cost: float
    account: str
    tax_code_id: int
    xref: str
    rate: float
    received: float = 0.0
    date_received: datetime | None = None
    entry_id: int | None = None
    batched: bool = False
    updated_at: datetime | None = None

    @property
    def ext_cost(self) -> float:
        return money(Decimal(str(self.quantity)) * Decimal(str(self.unit_cost)))

    @property
    def tax(self) -> float:
        return money(Decimal(str(self.ext_cost)) * Decimal(str(self.rate)))


@dataclass
class PurchaseOrder:
    id: int
    number: str
    location_id: int
    vendor_id: int
    date: datetime
    status_id: int
    lines: list[PoLine]
    entered_at: datetime
    updated_at: datetime
    entered_by: str
    updated_by: str
    freight: float = 0.0
    vendor_invoice_number: str | None = None
    vendor_invoice_date: datetime | None = None
    closed_at: datetime | None = None
    vendor_return: bool = False  # the lines' quantities are negative (module docstring)

    @property
    def subtotal(self) -> float:
        return money(sum(Decimal(str(x.ext_cost)) for x in self.lines))

    @property
    def freight_rate(self) -> float:
        return self.lines[0].rate if self.lines else 0.0

    @property
    def freight_tax(self) -> float:
        return money(Decimal(str(self.freight)) * Decimal(str(self.freight_rate)))

    @property
    def tax(self) -> float:
        return money(sum(Decimal(str(x.tax)) for x in self.lines) + Decimal(str(self.freight_tax)))

    @property
    def total(self) -> float:
        return money(Decimal(str(self.subtotal)) + Decimal(str(self.freight)) + Decimal(str(self.tax)))


@dataclass
class UnpostedRecord:
    """One received, closed purchase order waiting for the accounting package (see the module docstring)."""

    id: int
    po_id: int
    freight_entry_id: int | None
    ap_entry_id: int
    closed_at: datetime
    updated_at: datetime
    batch_id: int | None = None

    def gl_entry_ids(self, po: PurchaseOrder) -> list[int]:
        """The record ids a batch must name to mark this procurement posted: its purchaseDetail items and its
        purchaseDetailTax item (the export's only integer ids: purchase transactions have no glEntryIds)."""
        return [*(x.entry_id for x in po.lines if x.entry_id is not None), self.ap_entry_id]


@dataclass
class Procurement:
    """Purchase orders and unposted procurement of one tenant; the HTTP layer serialises access."""

    world: World
    pos: dict[int, PurchaseOrder] = field(default_factory=dict)
    records: dict[int, UnpostedRecord] = field(default_factory=dict)
    entries: dict[int, int] = field(default_factory=dict)  # GL entry id -> unposted record id
    next_po_id: int = FIRST_PO_ID
    next_po_number: int = FIRST_PO_NUMBER
    next_record_id: int = FIRST_UNPOSTED_ID
    next_line_id: int = 1

    # ------------------------------------------------------------ building

    def vendors(self) -> list[dict[str, Any]]:
        return [c for c in self.world.companies.values() if c.get("isVendorFlag")]

    def tax_for(self, identifier: str) -> tuple[int, str, float]:
        code = self.world.tax_code_by(identifier=identifier) or self.world.tax_codes[1]
        return code["id"], demo.CW_PURCHASE_TAX_XREFS.get(code["identifier"], "INPUT"), float(code["rate"])

    def add_po(self, *, location_id: int, vendor_id: int, day: datetime, specs: list[dict[str, Any]], status_id: int,
               entered_by: str, freight: float = 0.0, number: str | None = None) -> PurchaseOrder:
        lines = []
        for n, spec in enumerate(specs, start=1):
            lines.append(PoLine(id=self.next_line_id, line_number=n, description=spec["description"],
                                product=spec.get("product"), quantity=float(spec["quantity"]),
                                unit_cost=float(spec["unitCost"]), account=str(spec["accountNumber"]),
                                tax_code_id=spec["taxCodeId"], xref=spec["xref"], rate=float(spec["rate"]),
                                updated_at=day))
            self.next_line_id += 1
        if number is None:
            number = f"PO-{self.next_po_number}"
            self.next_po_number += 1
        po = PurchaseOrder(id=self.next_po_id, number=number, location_id=location_id, vendor_id=vendor_id,
                           date=day, status_id=status_id, lines=lines, entered_at=day, updated_at=day,
                           entered_by=entered_by, updated_by=entered_by, freight=freight)
        self.next_po_id += 1
        self.pos[po.id] = po
        return po

    def receive_and_close(self, po: PurchaseOrder, received: datetime, invoice_number: str, by: str,
                          with_gl: bool = True) -> UnpostedRecord:
        """Receive every line, enter the supplier invoice and close the PO: it becomes unposted procurement."""
        for line in po.lines:
            line.received, line.date_received, line.updated_at = line.quantity, received, received
        # vendorInvoiceDate is a date (midnight UTC, like invoice dates); dateReceived / dateClosed keep the time
        po.vendor_invoice_number = invoice_number
        po.vendor_invoice_date = received.replace(hour=0, minute=0, second=0, microsecond=0)
        po.status_id, po.closed_at, po.updated_at, po.updated_by = 3, received, received, by
        freight_entry, ap_entry = self._new_entries(po, with_gl)
        rec = UnpostedRecord(id=self.next_record_id, po_id=po.id, freight_entry_id=freight_entry,
                             ap_entry_id=ap_entry, closed_at=received, updated_at=received)
        self.next_record_id += 1
        self.records[rec.id] = rec
        for entry in rec.gl_entry_ids(po):
            self.entries[entry] = rec.id
        return rec

    def _new_entries(self, po: PurchaseOrder, with_gl: bool) -> tuple[int | None, int]:
        """GL entry ids for a closing: one per line and for freight (unless ``with_gl`` is off), and the payable
        entry; (freight entry, payable entry)."""
        freight_entry = None
        if with_gl:
            for line in po.lines:
                line.entry_id = self.world.next_entry_id
                self.world.next_entry_id += 1
            if po.freight:
                freight_entry = self.world.next_entry_id
                self.world.next_entry_id += 1
        ap_entry = self.world.next_entry_id
        self.world.next_entry_id += 1
        return freight_entry, ap_entry

    def seed(self, rng: random.Random, per_location: dict[str, int]) -> None:
        """~25-40 POs per location over the last two months: most received and closed (unposted procurement),
        some still Ordered or Open. Deterministic from the rng (seeded from config.seed) and the anchor day."""
        vendors = sorted(c["id"] for c in self.vendors())
        anchor = self.world.anchor
        unknown = set(per_location) - {loc["slug"] for loc in self.world.locations.values()}
        if unknown:
            raise ValueError(f"unknown location slugs {sorted(unknown)} in procurement_per_location")
        drafts = []
        for loc in self.world.locations.values():
            for seq in range(int(per_location.get(loc["slug"], 0))):
                day = anchor - timedelta(days=rng.randint(4, 60))  # a date: poDate is midnight UTC
                hour = rng.randint(8, 16)
                roll = rng.random()
                status = 3 if roll < 0.8 else 2 if roll < 0.92 else 1
                specs = []
                for desc, product, account, cost, tax in rng.sample(demo.CW_PROCUREMENT_LINES, rng.randint(1, 4)):
                    qty = rng.randint(5, 40) if "per seat" in desc else rng.randint(1, 6)
                    tax_id, xref, rate = self.tax_for(tax)
                    specs.append({"description": desc, "product": product, "accountNumber": account,
                                  "unitCost": cost, "quantity": qty, "taxCodeId": tax_id, "xref": xref, "rate": rate})
                freight = rng.choice(FREIGHT) if rng.random() < 0.25 else 0.0
                received = day + timedelta(days=rng.randint(1, 3), hours=hour + rng.randint(0, 5))
                drafts.append((day, loc["id"], seq, rng.choice(vendors), specs, status, freight, received,
                               rng.randint(100000, 999999)))
        drafts.sort(key=lambda d: (d[0], d[1], d[2]))
        closing = []
        for day, lid, _seq, vendor_id, specs, status, freight, received, inv_no in drafts:
            # A PO to be closed is Ordered until received below (in closing order, so record ids follow it).
            po = self.add_po(location_id=lid, vendor_id=vendor_id, day=day, specs=specs,
                             status_id=2 if status == 3 else status, entered_by="purchasing",
                             freight=freight if status == 3 else 0.0)
            if status == 3:
                closing.append((min(received, anchor - timedelta(hours=1)), po, inv_no))
        for received, po, inv_no in sorted(closing, key=lambda c: (c[0], c[1].id)):
            prefix = "".join(ch for ch in self.world.companies[po.vendor_id]["identifier"].upper() if ch.isalpha())
            self.receive_and_close(po, received, f"{prefix[:4]}-{inv_no}", "purchasing")

    # ------------------------------------------------------------ reading

    def unposted(self) -> list[UnpostedRecord]:
        return sorted((r for r in self.records.values() if r.batch_id is None), key=lambda r: r.id)

    def vendor_ref(self, vendor_id: int) -> dict[str, Any]:
        return self.world.company_ref(vendor_id)

    def _terms(self, vendor_id: int) -> tuple[dict[str, Any], int]:
        days = self.world.company_terms(vendor_id)
        return TERMS.get(days, {"id": 1, "name": f"Net {days}"}), days

    def render_po(self, po: PurchaseOrder) -> dict[str, Any]:
        status = _STATUS[po.status_id]
        terms, _days = self._terms(po.vendor_id)
        first = po.lines[0] if po.lines else None
        return drop_nulls({
            "id": po.id, "poNumber": po.number, "poDate": fmt(po.date),
            "status": {"id": status["id"], "name": status["name"]}, "closedFlag": status["closedFlag"],
            "dateClosed": fmt(po.closed_at), "vendorCompany": self.vendor_ref(po.vendor_id),
            "vendorInvoiceNumber": po.vendor_invoice_number, "vendorInvoiceDate": fmt(po.vendor_invoice_date),
            "locationId": po.location_id, "location": self.world.location_ref(po.location_id),
            "currency": dict(CURRENCY), "subTotal": po.subtotal, "salesTax": po.tax, "freightCost": po.freight,
            "freightTaxTotal": po.freight_tax, "total": po.total,
            "taxCode": self.world.tax_ref(first.tax_code_id) if first else None, "taxPoFlag": True,
            "taxFreightFlag": bool(po.freight), "terms": terms, "enteredBy": po.entered_by,
            "_info": info(po.entered_at, po.entered_by, po.updated_at, po.updated_by),
        })

    def render_line(self, po: PurchaseOrder, line: PoLine) -> dict[str, Any]:
        received = line.received >= line.quantity
        return drop_nulls({
            "id": line.id, "purchaseOrderId": po.id, "purchaseOrderNumber": po.number, "lineNumber": line.line_number,
            "product": {"id": _product_id(line.product), "identifier": line.product} if line.product else None,
            "description": line.description, "quantity": line.quantity, "unitCost": line.unit_cost,
            "extCost": line.ext_cost, "tax": line.tax,
            "receivedQuantity": int(line.received), "receivedStatus": "FullyReceived" if received else "Waiting",
            "dateReceived": fmt(line.date_received), "closedFlag": received, "canceledFlag": False,
            "batchedFlag": line.batched, "unitOfMeasure": {"id": 1, "name": "Each"},
            "_info": info(po.entered_at, po.entered_by, line.updated_at or po.updated_at, po.updated_by),
        })

    def lines_of(self, raw: str) -> tuple[PurchaseOrder, list[dict[str, Any]]]:
        po = self.pos.get(int(raw)) if raw.isdigit() else None
        if po is None:
            raise not_found("PurchaseOrder", raw)
        return po, [self.render_line(po, x) for x in po.lines]

    def render_unposted(self, rec: UnpostedRecord) -> dict[str, Any]:
        po = self.pos[rec.po_id]
        comp = self.world.companies.get(po.vendor_id)
        terms, _days = self._terms(po.vendor_id)
        first = po.lines[0] if po.lines else None
        return drop_nulls({
            "id": rec.id, "description": f"{po.number} - {self.vendor_ref(po.vendor_id)['name']}",
            "unpostedProductId": str(rec.id), "locationId": po.location_id, "procurementType": "Purchase",
            "purchaseOrder": {"id": po.id, "name": po.number}, "purchaseDate": fmt(po.date),
            "vendor": self.vendor_ref(po.vendor_id), "vendorAccountNumber": comp.get("accountNumber") if comp else None,
            "vendorInvoiceNumber": po.vendor_invoice_number, "vendorInvoiceDate": fmt(po.vendor_invoice_date),
            "currency": dict(CURRENCY), "total": po.total, "taxTotal": po.tax,
            "taxCode": self.world.tax_ref(first.tax_code_id) if first else None, "freightCost": po.freight,
            "freightTaxTotal": po.freight_tax, "billingTerms": terms, "dateClosed": fmt(rec.closed_at),
            "purchaseOrderTaxableFlag": True, "itemTaxableFlag": any(x.rate > 0 for x in po.lines),
            "_info": info(rec.closed_at, po.updated_by, rec.updated_at, po.updated_by),
        })

    # ------------------------------------------------------------ the GL export

    def select(self, location_id: int | None, included: set[str], excluded: set[str]) -> list[UnpostedRecord]:
        return [r for r in self.unposted()
                if (location_id is None or self.pos[r.po_id].location_id == location_id)
                and (not included or str(r.id) in included) and str(r.id) not in excluded]

    def export(self, records: list[UnpostedRecord]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(purchaseTransactions, vendors) of ``records``; records without GL entries cannot be exported."""
        vendors: dict[int, dict[str, Any]] = {}
        txns = []
        for rec in records:
            po = self.pos[rec.po_id]
            if not any(x.entry_id for x in po.lines):
                continue
            vendors.setdefault(po.vendor_id, self._vendor(po.vendor_id))
            txns.append(self.transaction(rec))
        return txns, list(vendors.values())

    def _vendor(self, vendor_id: int) -> dict[str, Any]:
        comp = self.world.companies.get(vendor_id)
        terms, days = self._terms(vendor_id)
        return drop_nulls({"vendor": self.vendor_ref(vendor_id), "company": self.vendor_ref(vendor_id),
                           "accountNumber": comp.get("accountNumber") if comp else None,
                           "vendorNumber": comp.get("vendorIdentifier") if comp else None,
                           "billingTerms": terms, "dueDays": days,
                           "contact": comp.get("billingContact") if comp else None,
                           "site": comp.get("site") if comp else None,
                           "taxCode": self.world.tax_ref(comp["taxCodeId"] if comp else 1)})

    def transaction(self, rec: UnpostedRecord) -> dict[str, Any]:
        """A purchase transaction in the shape of ConnectWise's published sample (reference: "The export as
        ConnectWise sends it"): a string id "PO #..., Packing Slip: ...", lines with the opposite sign of the
        total (cost the extended cost, itemCost the unit cost), tax in purchaseDetailTax, freight in
        freightAmount, and no glEntryIds, vendor or dueDate (the vendor is ``company`` and GLExport.vendors)."""
        po = self.pos[rec.po_id]
        comp = self.world.companies.get(po.vendor_id)
        terms, days = self._terms(po.vendor_id)
        invoice_date = po.vendor_invoice_date or po.date
        levels: dict[str, list[Decimal]] = {}
        for line in po.lines:
            bucket = levels.setdefault(line.xref, [Decimal(0), Decimal(0)])
            bucket[0] += Decimal(str(line.ext_cost))
            bucket[1] += Decimal(str(line.tax))
        if po.freight and po.lines:
            bucket = levels[po.lines[0].xref]
            bucket[0] += Decimal(str(po.freight))
            bucket[1] += Decimal(str(po.freight_tax))
        first = po.lines[0] if po.lines else None
        return drop_nulls({
            "id": transaction_id(po, rec), "documentNumber": po.number, "documentDate": zoneless(rec.closed_at),
            "purchaseDate": zoneless(po.date), "description": f"Purchase order {po.number}", "memo": po.number,
            "packingSlip": packing_slip(rec), "apAccountNumber": AP_ACCOUNT, "company": self.vendor_ref(po.vendor_id),
            "companyType": {"id": 3, "name": "Vendor"},
            "vendorNumber": comp.get("vendorIdentifier") if comp else None,
            "vendorAccountNumber": comp.get("accountNumber") if comp else None,
            "vendorInvoiceNumber": po.vendor_invoice_number, "vendorInvoiceDate": zoneless(invoice_date),
            "billingTerms": terms, "billingTermsXref": str(days), "dueDays": days, "currency": dict(CURRENCY),
            "taxCode": self.world.tax_ref(first.tax_code_id) if first else None,
            "taxLevels": [{"taxLevel": 1, "taxCodeXref": xref, "taxableAmount": money(a[0]), "taxAmount": money(a[1])}
                          for xref, a in levels.items()],
            "purchaseHeaderTaxableFlag": True, "purchaseHeaderFreightTaxableFlag": bool(po.freight),
            "freightAmount": po.freight, "total": po.total, "site": comp.get("site") if comp else None,
            "purchaseDetail": [self._detail(po, rec, x) for x in po.lines if x.entry_id is not None],
            "purchaseDetailTax": [self._tax_item(po, rec)],
        })

    def _detail(self, po: PurchaseOrder, rec: UnpostedRecord, line: PoLine) -> dict[str, Any]:
        return drop_nulls({
            "id": line.entry_id, "lineNumber": line.line_number, "documentDate": us_datetime(rec.closed_at),
            "glTypeId": "RP", "glClass": "E", "accountNumber": line.account, "costAccountNumber": line.account,
            "description": line.description, "itemDescription": line.description, "memo": line.description,
            "quantity": -line.quantity, "cost": line.ext_cost, "itemCost": line.unit_cost, "total": -line.ext_cost,
            "taxable": line.rate > 0, "taxRate": line.rate, "taxCode": self.world.tax_ref(line.tax_code_id),
            "taxCodeXref": line.xref,
            "item": {"id": _product_id(line.product), "identifier": line.product} if line.product else None,
            "vendorNumber": (self.world.companies.get(po.vendor_id) or {}).get("vendorIdentifier"),
            "unitOfMeasure": {"id": 1, "name": "Each"}, "currency": dict(CURRENCY),
        })

    def _tax_item(self, po: PurchaseOrder, rec: UnpostedRecord) -> dict[str, Any]:
        """The purchase tax as one item, in the lines' sign. Its model is not in the published field lists: the
        fields here are those of a detail line that a tax item plausibly has [assumption]."""
        first = po.lines[0] if po.lines else None
        return drop_nulls({"id": rec.ap_entry_id, "glTypeId": "ST", "description": "Level 1 Purchase Tax",
                           "accountNumber": PURCHASE_TAX_ACCOUNT, "taxCodeXref": first.xref if first else None,
                           "taxRate": first.rate if first else 0.0, "total": -po.tax})

    # ------------------------------------------------------------ batching


    def owner(self, entry: int) -> UnpostedRecord | None:
        rec_id = self.entries.get(entry)
        return self.records.get(rec_id) if rec_id is not None else None

    def post(self, record_ids: list[int], batch_id: int, when: datetime) -> None:
        for rec_id in record_ids:
            rec = self.records[rec_id]
            rec.batch_id, rec.updated_at = batch_id, when
            po = self.pos[rec.po_id]
            po.updated_at, po.updated_by = when, API_MEMBER
            for line in po.lines:
                line.batched, line.updated_at = True, when

    def unpost(self, batch_id: int, when: datetime) -> None:
        """A deleted batch returns its procurement to unposted, and the PO lines to unbatched."""
        for rec in self.records.values():
            if rec.batch_id == batch_id:
                rec.batch_id, rec.updated_at = None, when
                po = self.pos[rec.po_id]
                po.updated_at, po.updated_by = when, API_MEMBER
                for line in po.lines:
                    line.batched, line.updated_at = False, when

    # ------------------------------------------------------------ admin

    def admin_add(self, body: dict[str, Any]) -> dict[str, Any]:
        """/_sandbox/unpostedprocurement: a received, closed PO from ``vendorId`` (which may be no company)."""
        location_id = int(body["locationId"])
        if location_id not in self.world.locations:
            raise ValueError(f"locationId {location_id} is not one of {sorted(self.world.locations)}")
        number = body.get("poNumber")
        if number is not None and any(p.number == str(number) for p in self.pos.values()):
            raise ValueError(f"poNumber {number} already exists")
        vendor_return = bool(body.get("vendorReturn"))
        specs = [self._line_spec(spec, vendor_return) for spec in body.get("lines") or []]
        if not specs:
            raise ValueError("lines is required")
        when = now()
        day = (when - timedelta(days=int(body.get("daysAgo", 3)))).replace(hour=0, minute=0, second=0)
        po = self.add_po(location_id=location_id, vendor_id=int(body["vendorId"]), day=day, specs=specs,
                         status_id=2, entered_by=API_MEMBER, freight=float(body.get("freightCost") or 0),
                         number=str(number) if number is not None else None)
        po.vendor_return = vendor_return
        default_number = f"CR-{po.id}" if vendor_return else f"INV-{po.id}"
        rec = self.receive_and_close(po, when, str(body.get("vendorInvoiceNumber") or default_number), API_MEMBER,
                                     with_gl=bool(body.get("withGlEntries", True)))
        return {**self.render_unposted(rec), "glEntryIds": rec.gl_entry_ids(po)}

    def _line_spec(self, spec: dict[str, Any], vendor_return: bool = False) -> dict[str, Any]:
        """An admin PO line {description, quantity?, unitCost, accountNumber, taxCode | taxCodeXref, taxRate?,
        product?} as ``add_po`` takes it; a vendor return's quantity is given positive (the units sent back) and
        stored negative."""
        code = self.world.tax_code_by(identifier=str(spec["taxCode"])) if spec.get("taxCode") else None
        # the record's tax code decides its purchase-side tax type unless an xref is given outright
        xref = str(spec.get("taxCodeXref") or (demo.CW_PURCHASE_TAX_XREFS.get(code["identifier"]) if code
                                                else None) or "INPUT")
        if code is None:
            ident = next((k for k, v in demo.CW_PURCHASE_TAX_XREFS.items() if v == xref), None)
            code = self.world.tax_code_by(identifier=ident) if ident else None
        rate = float(spec["taxRate"]) if "taxRate" in spec else (float(code["rate"]) if code else 0.0)
        quantity = float(spec.get("quantity", 1))
        if vendor_return:
            if quantity <= 0:
                raise ValueError("a vendor return's quantities are given positive (the units sent back)")
            quantity = -quantity
        return {"description": str(spec["description"]), "quantity": quantity, "unitCost": spec["unitCost"],
                "accountNumber": str(spec.get("accountNumber") or ""), "taxCodeId": code["id"] if code else None,
                "xref": xref, "rate": rate, "product": spec.get("product")}

    def admin_edit(self, raw: str, body: dict[str, Any]) -> dict[str, Any]:
        """/_sandbox/purchaseorders/{id}/edit: change a received, unbatched PO and receive it again (new GL entry
        ids; module docstring). ``changeLines`` [{line, quantity?, unitCost?, description?}] (line = lineNumber;
        a vendor return's quantities given positive), ``removeLines`` [lineNumber], ``addLines`` [line spec],
        ``freightCost``."""
        po = self.pos.get(int(raw)) if raw.isdigit() else None
        if po is None:
            raise CwError(404, {"error": f"no purchase order {raw}"})
        rec = next((r for r in self.records.values() if r.po_id == po.id), None)
        if rec is None:
            raise ValueError(f"purchase order {po.number} is not received and closed: nothing was posted")
        if rec.batch_id is not None:
            raise CwError(409, {"error": f"purchase order {po.number} (record {rec.id}) is in batch {rec.batch_id}: "
                                f"DELETE finance/accounting/batches/{rec.batch_id} first"})
        sign = -1 if po.vendor_return else 1
        by_number = {x.line_number: x for x in po.lines}
        changes: dict[int, dict[str, Any]] = {}
        for spec in body.get("changeLines") or []:
            number = int(spec["line"])
            if number not in by_number:
                raise ValueError(f"line {number} is not one of the PO's lines {sorted(by_number)}")
            change: dict[str, Any] = {}
            if "quantity" in spec:
                change["quantity"] = float(spec["quantity"])
                if po.vendor_return and change["quantity"] <= 0:
                    raise ValueError("a vendor return's quantities are given positive (the units sent back)")
            if "unitCost" in spec:
                change["unitCost"] = float(spec["unitCost"])
            if "description" in spec:
                change["description"] = str(spec["description"])
            changes[number] = change
        gone = {int(n) for n in body.get("removeLines") or []}
        if gone - set(by_number):
            raise ValueError(f"removeLines {sorted(gone - set(by_number))} are not among {sorted(by_number)}")
        added = [self._line_spec(spec, po.vendor_return) for spec in body.get("addLines") or []]
        if len(gone) == len(po.lines) and not added:
            raise ValueError("a purchase order keeps at least one line")
        freight = float(body["freightCost"]) if body.get("freightCost") is not None else None
        when = now()
        old = rec.gl_entry_ids(po)
        for entry in old:
            self.entries.pop(entry, None)
        kept = []
        for line in po.lines:
            if line.line_number in gone:
                continue
            spec = changes.get(line.line_number, {})
            if "quantity" in spec:
                line.quantity = sign * spec["quantity"]
            if "unitCost" in spec:
                line.unit_cost = spec["unitCost"]
            if "description" in spec:
                line.description = spec["description"]
            kept.append(line)
        next_number = max(by_number) + 1
        for spec in added:
            kept.append(PoLine(id=self.next_line_id, line_number=next_number, description=spec["description"],
                               product=spec.get("product"), quantity=float(spec["quantity"]),
                               unit_cost=float(spec["unitCost"]), account=spec["accountNumber"],
                               tax_code_id=spec["taxCodeId"], xref=spec["xref"], rate=float(spec["rate"])))
            self.next_line_id += 1
            next_number += 1
        po.lines = kept
        if freight is not None:
            po.freight = freight
        for line in po.lines:
            line.received, line.date_received, line.updated_at, line.entry_id = line.quantity, when, when, None
        rec.freight_entry_id, rec.ap_entry_id = self._new_entries(po, with_gl=True)
        rec.closed_at = rec.updated_at = po.closed_at = po.updated_at = when
        po.updated_by = API_MEMBER
        for entry in rec.gl_entry_ids(po):
            self.entries[entry] = rec.id
        return {**self.render_unposted(rec), "glEntryIds": rec.gl_entry_ids(po), "replacedGlEntryIds": old}

    def state(self) -> dict[str, Any]:
        def row(rec: UnpostedRecord) -> dict[str, Any]:
            out = {**self.render_unposted(rec), "glEntryIds": rec.gl_entry_ids(self.pos[rec.po_id])}
            if rec.batch_id is not None:
                out["batch"] = rec.batch_id
            return out
        ordered = sorted(self.records.values(), key=lambda r: r.id)
        return {"procurement": {"unposted": [row(r) for r in ordered if r.batch_id is None],
                                "posted": [row(r) for r in ordered if r.batch_id is not None]},
                "purchase_orders": [{**self.render_po(p), "lineItems": [self.render_line(p, x) for x in p.lines]}
                                    for p in sorted(self.pos.values(), key=lambda p: p.id)]}


def _product_id(identifier: str | None) -> int:
    known = [c[1] for c in demo.CW_PROCUREMENT_LINES]
    return 6001 + known.index(identifier) if identifier in known else 6999


def check_export_ids(req: dict[str, Any], name: str) -> set[str]:
    """includedProductIds / excludedProductIds are string[] in the spec; integers are accepted and stringified."""
    value = req.get(name)
    if value is None:
        return set()
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, (str, int)) for v in value):
        raise invalid("exportAccountingBatchRequest", f"{name} must be a list of strings.", fld=name)
    return {str(v) for v in value}


__all__ = ["KNOWN", "PO_STATUSES", "CwError", "Procurement", "check_export_ids"]


def packing_slip(rec: UnpostedRecord) -> str:
    return f"PS{rec.id}"


def transaction_id(po: PurchaseOrder, rec: UnpostedRecord) -> str:
    """The purchase transaction's id as ConnectWise builds it (the sample's "PO #COMPANYBPO, Packing Slip:
    COMPANYBPO"): a string, not a number, one per received packing slip."""
    return f"PO #{po.number}, Packing Slip: {packing_slip(rec)}"


def us_datetime(value: datetime | None) -> str | None:
    """A detail line's documentDate as the sample has it: US format, "5/1/2014 5:21:58 AM"."""
    if value is None:
        return None
    hour = value.hour % 12 or 12
    return f"{value.month}/{value.day}/{value.year} {hour}:{value.minute:02d}:{value.second:02d} " \
           f"{'AM' if value.hour < 12 else 'PM'}"
