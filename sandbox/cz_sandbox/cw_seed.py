"""The ConnectWise simulator's world: demo data built from a seed, the accounting state machine, and renderers
that turn it into the JSON shapes of the real API (UnpostedInvoice, Invoice, AccountingBatch, GLExport, ...).

Kept apart from the HTTP layer so the state rules (what is unposted, what a batch posts, what an export shows)
read in one place. Everything here is synchronous and unlocked: the HTTP layer serialises access.

Ids, as the real tenant has them: invoice ids (= UnpostedInvoice ``id`` and ``billingLogId``, = GLExport
transaction ``id``) from 1001, invoice numbers from "10001" in date order, GL entry ids from 50001 (one per detail
line, plus one accounts-receivable entry per invoice), batch ids from 1, company ids from 250.

Credit memos are invoices of ``type`` "CreditMemo" (the Invoice model's enum) whose amounts carry the memo's sign:
negative ``total``, ``subtotal`` and ``salesTax``. Their lines are given as a user enters them (positive quantity
and price) and stored negated, so everything computed from the lines (totals, tax, the export) follows. The demo
seeds none unless ``credit_memos_per_location`` asks (``seed_credit_memos``). Unpublished, chosen here:
- a credit memo's lines are entered positive and the memo's type makes them negative (quantity negated, the
  unit price stays positive), so its Invoice and UnpostedInvoice amounts are negative;
- a credit memo takes its number from the invoices' one sequence (no prefix or suffix);
- its export transaction has ``documentType`` "CREDIT MEMO" (the sample shows only "INVOICE", upper case) and
  ``billingType`` "CreditMemo" (the sample's ``billingType`` "Miscellaneous" is an Invoice ``type`` value);
  ``glTypeId`` stays "AR": the transaction is still the receivable entry, now negative, its lines positive;
  the header's tax amounts (``salesTax``, ``taxableTotal``, ``taxLevels``) keep the document's sign, negative;
- seeded credit memos are applied to nothing (a user applies them: ``/_sandbox/credit-applications``).

Edits after posting (``World.reopen`` / ``World.close``): ConnectWise lets a user unbatch an invoice, set it to an
open status, edit it and close it again; closing builds its GL entries anew (the nexnow.net workaround for a
stuck invoice relies on this). So a reopened invoice has no GL entries and is not unposted (it is not closed);
closing it gives every line and the receivable NEW GL entry ids (the old ids are no longer GL entries), while its
id, number and date stay. Unpublished, chosen: the open status is "New" (billing status id 1), and a batched
invoice cannot be reopened (delete or unbatch its batch first), as the Accounting Interface's edit steps say.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cz_sandbox import demo
from cz_sandbox.cw_conditions import format_datetime

CURRENCY = {"id": 1, "symbol": "$", "currencyCode": "AUD", "name": "Australian Dollar"}
COUNTRY = {"id": 7, "name": "Australia"}
CLOSED = {"id": 13, "name": "Closed", "isClosed": True}
OPEN = {"id": 1, "name": "New", "isClosed": False}  # a reopened invoice's status (finance/billingStatuses id 1)
INVOICE_TYPES = ("Agreement", "CreditMemo", "DownPayment", "Miscellaneous", "Progress", "Standard")  # Invoice.type
CREDIT_MEMO = "CreditMemo"
ACTIVE = {"id": 1, "name": "Active"}
CLIENT_TYPE = {"id": 1, "name": "Client"}
VENDOR_TYPE = {"id": 3, "name": "Vendor"}
TERMS = {30: {"id": 1, "name": "Net 30"}, 14: {"id": 2, "name": "Net 14"}}
AR_ACCOUNT = "610"  # the demo Xero organisations' Accounts Receivable code
TAX_ACCOUNT = "820"  # GST
COGS_ACCOUNT = "310"
DETAIL_ID_OFFSET = 1_000_000  # detail line ids are not GL entry ids (the sample's 1009 and 1016 are not among them)
API_MEMBER = "ApiMember"  # updatedBy on records the API changed
STAFF = ("jmorrison", "aspencer", "kwong", "tnguyen")
FIRST_COMPANY_ID = 250
FIRST_INVOICE_ID = 1001
FIRST_INVOICE_NUMBER = 10001
FIRST_GL_ENTRY_ID = 50001

# The third location: exists in ConnectWise but has no Xero organisation (configuration-error tests).
EXTRA_LOCATIONS: dict[str, dict[str, Any]] = {
    "perth": {"cw_location_id": 13, "name": "Perth", "timezone": "Australia/Perth"},
}
LOCATION_PLACES = {
    "adelaide": ("Adelaide", "SA", "5000", "08 8"), "melbourne": ("Melbourne", "VIC", "3000", "03 9"),
    "perth": ("Perth", "WA", "6000", "08 9"),
}
STREETS = ("King William", "Flinders", "Collins", "Grenfell", "Pirie", "Bourke", "Swanston", "Currie", "Hindley",
           "Gawler Place", "Rundle", "Lonsdale")
CONTACT_NAMES = ("Sarah Mitchell", "David Chen", "Priya Patel", "Tom O'Brien", "Emma Walsh", "Liam Nguyen",
                 "Grace Kelly", "Noah Russo", "Olivia Brown", "Jack Thompson", "Mia Rossi", "Lucas Martin")
VENDORS = [
    ("Ingram Micro Australia", "ingrammicro", "au.ar@ingrammicro.com.au"),
    ("Dicker Data", "dickerdata", "accounts@dickerdata.com.au"),
    ("Leader Computers", "leadercomputers", "accounts@leadersystems.com.au"),
    ("Telstra Business", "telstrabusiness", "billing@telstra.com.au"),
]
CATALOG_IDENTIFIERS = {
    "Managed services agreement - monthly": "MSA-MONTHLY",
    "Microsoft 365 Business Premium licences": "M365-BP",
    "Onsite support (hours)": "ONSITE-HR",
    "Remote support (hours)": "REMOTE-HR",
    "Firewall subscription renewal": "FW-SUB",
    "Dell Latitude 5450 laptop": "DELL-LAT5450",
    "Network switch 24-port PoE": "SW-24POE",
    "Backup and disaster recovery - monthly": "BDR-MONTHLY",
    "Project: server migration milestone": "PRJ-MIGRATE",
    "Security awareness training seats": "SAT-SEAT",
}
HOURS = (0.5, 0.75, 1, 1.5, 2, 2.25, 2.5, 3, 3.5, 4, 6.5, 8)


def money(value: float | Decimal) -> float:
    """Round half up to cents, as accounting systems do (Python's round() is banker's on binary floats)."""
    return float(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def fmt(value: datetime | None) -> str | None:
    return format_datetime(value) if value is not None else None


def drop_nulls(value: Any) -> Any:
    """Responses omit null properties, as the real API does."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def all_locations() -> dict[str, dict[str, Any]]:
    """slug -> {cw_location_id, name, timezone}: the demo locations plus the Xero-less Perth."""
    out = {slug: {"cw_location_id": loc["cw_location_id"], "name": loc["name"], "timezone": loc["timezone"]}
           for slug, loc in demo.LOCATIONS.items()}
    out.update(EXTRA_LOCATIONS)
    return out


@dataclass
class Line:
    """One invoice line and its GL entry; ``entry_id`` is None on an invoice that has no GL entries."""

    entry_id: int | None
    description: str
    quantity: float
    unit_price: float
    account: str
    tax_code_id: int | None
    tax_xref: str
    tax_rate: float
    product: str | None
    total: float
    tax: float
    hours: bool = False
    time_entry_id: int | None = None  # the time entry an hours line bills; kept when GL entries are rebuilt


@dataclass
class Invoice:
    id: int
    number: str
    location_id: int
    company_id: int
    date: datetime
    due_days: int
    description: str
    lines: list[Line]
    ar_entry_id: int | None
    entered_at: datetime
    closed_at: datetime
    updated_at: datetime
    entered_by: str
    updated_by: str
    batch_id: int | None = None
    currency_code: str | None = None  # None: the company's currency (AUD)
    reported_total: float | None = None  # a total that disagrees with the lines (bad-input tests)
    type: str = "Standard"  # Invoice.type; "CreditMemo": the lines are stored negated (module docstring)
    open: bool = False  # reopened for an edit: no GL entries, not unposted, until closed again

    @property
    def is_credit_memo(self) -> bool:
        return self.type == CREDIT_MEMO

    @property
    def sign(self) -> int:
        """-1 for a credit memo (its amounts are negative), else 1."""
        return -1 if self.is_credit_memo else 1

    @property
    def is_unposted(self) -> bool:
        """On the Unposted tab: closed and in no batch."""
        return self.batch_id is None and not self.open

    @property
    def currency(self) -> dict[str, Any]:
        code = self.currency_code
        return dict(CURRENCY) if code is None else {**CURRENCY, "id": 99, "currencyCode": code, "name": code}

    @property
    def subtotal(self) -> float:
        return money(sum(Decimal(str(line.total)) for line in self.lines))

    @property
    def tax(self) -> float:
        return money(sum(Decimal(str(line.tax)) for line in self.lines))

    @property
    def total(self) -> float:
        if self.reported_total is not None:
            return self.reported_total
        return money(Decimal(str(self.subtotal)) + Decimal(str(self.tax)))

    @property
    def gl_entry_ids(self) -> list[int]:
        if self.ar_entry_id is None:
            return []
        return [line.entry_id for line in self.lines if line.entry_id is not None] + [self.ar_entry_id]


@dataclass
class Batch:
    id: int
    identifier: str
    export_invoices: bool
    export_expenses: bool
    export_products: bool
    processed_ids: list[int]
    invoice_ids: list[int]
    created_at: datetime
    updated_at: datetime
    by: str = API_MEMBER
    procurement_ids: list[int] = field(default_factory=list)  # unposted procurement records (cw_procurement)


@dataclass
class World:
    """All state of one simulated ConnectWise tenant."""

    locations: dict[int, dict[str, Any]] = field(default_factory=dict)
    companies: dict[int, dict[str, Any]] = field(default_factory=dict)
    tax_codes: dict[int, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[int, Invoice] = field(default_factory=dict)
    entries: dict[int, int] = field(default_factory=dict)  # GL entry id -> invoice id
    batches: dict[int, Batch] = field(default_factory=dict)
    next_invoice_id: int = FIRST_INVOICE_ID
    next_invoice_number: int = FIRST_INVOICE_NUMBER
    next_entry_id: int = FIRST_GL_ENTRY_ID
    next_batch_id: int = 1
    anchor: datetime = field(default_factory=lambda: datetime.now(UTC))

    # ------------------------------------------------------------ references

    def location_ref(self, location_id: int) -> dict[str, Any]:
        loc = self.locations.get(location_id)
        return {"id": location_id, "name": loc["name"] if loc else f"Location {location_id}"}

    def company_ref(self, company_id: int | None) -> dict[str, Any] | None:
        if company_id is None:  # an invoice without a company (bad-input tests)
            return None
        comp = self.companies.get(company_id)
        if comp is None:
            return {"id": company_id, "identifier": f"unknown-{company_id}", "name": f"Unknown company {company_id}"}
        return {"id": company_id, "identifier": comp["identifier"], "name": comp["name"]}

    def tax_ref(self, tax_code_id: int | None) -> dict[str, Any] | None:
        code = self.tax_codes.get(tax_code_id) if tax_code_id is not None else None
        return {"id": code["id"], "name": code["identifier"]} if code else None

    def tax_code_by(self, identifier: str | None = None, xref: str | None = None) -> dict[str, Any] | None:
        for code in self.tax_codes.values():
            if identifier is not None and code["identifier"].lower() == identifier.lower():
                return code
            if xref is not None and code["xref"] == xref:
                return code
        return None

    def company_terms(self, company_id: int) -> int:
        comp = self.companies.get(company_id)
        return int(comp["billingTerms"]["name"].split()[-1]) if comp else 30

    # ------------------------------------------------------------ invoices

    def add_invoice(self, *, location_id: int, company_id: int, invoice_date: datetime, lines: list[dict[str, Any]],
                    closed_at: datetime, entered_by: str, description: str | None = None,
                    number: str | None = None, with_gl: bool = True, due_days: int | None = None,
                    currency_code: str | None = None, reported_total: float | None = None,
                    invoice_type: str = "Standard") -> Invoice:
        """Close an invoice: it gets GL entries (one per line, plus AR) and shows up as unposted. A credit memo's
        ``lines`` are given positive and stored negated (module docstring)."""
        sign = -1 if invoice_type == CREDIT_MEMO else 1
        if number is None:
            number = str(self.next_invoice_number)
            self.next_invoice_number += 1
        inv = Invoice(id=self.next_invoice_id, number=number, location_id=location_id, company_id=company_id,
                      date=invoice_date, due_days=due_days if due_days is not None else self.company_terms(company_id),
                      description=description or "", lines=[self.build_line(spec, sign) for spec in lines],
                      ar_entry_id=None, entered_at=closed_at - timedelta(hours=2, minutes=17), closed_at=closed_at,
                      updated_at=closed_at, entered_by=entered_by, updated_by=entered_by,
                      currency_code=currency_code, reported_total=reported_total, type=invoice_type)
        self.next_invoice_id += 1
        self.invoices[inv.id] = inv
        self._make_gl_entries(inv, with_gl)
        return inv

    @staticmethod
    def build_line(spec: dict[str, Any], sign: int = 1) -> Line:
        """A line from its spec {description, quantity, unitPrice, accountNumber, taxCodeId, xref, rate, product,
        hours}; ``sign`` -1 stores a credit memo's positive quantity negated (the price stays positive)."""
        qty, price = sign * float(spec["quantity"]), float(spec["unitPrice"])
        total = money(Decimal(str(qty)) * Decimal(str(price)))
        rate = float(spec["rate"])
        return Line(entry_id=None, description=spec["description"], quantity=qty, unit_price=price,
                    account=str(spec["accountNumber"]), tax_code_id=spec.get("taxCodeId"), tax_xref=spec["xref"],
                    tax_rate=rate, product=spec.get("product"), total=total,
                    tax=money(Decimal(str(total)) * Decimal(str(rate))), hours=bool(spec.get("hours")))

    def _make_gl_entries(self, inv: Invoice, with_gl: bool) -> None:
        """Closing: one GL entry per line plus the receivable, from the tenant's one counter (none when the
        invoice has no lines or ``with_gl`` is off, the missing-GL-mapping case)."""
        if not (with_gl and inv.lines):
            return
        for line in inv.lines:
            line.entry_id = self.next_entry_id
            self.next_entry_id += 1
            if line.hours and line.time_entry_id is None:
                line.time_entry_id = _time_entry_id(line.entry_id)
        inv.ar_entry_id = self.next_entry_id
        self.next_entry_id += 1
        for entry in inv.gl_entry_ids:
            self.entries[entry] = inv.id

    def reopen(self, inv: Invoice, when: datetime, by: str) -> list[int]:
        """Set a closed, unbatched invoice to an open status: its GL entries go (returned, for the caller)."""
        if inv.batch_id is not None:
            raise ValueError(f"invoice {inv.number} (id {inv.id}) is in batch {inv.batch_id}: delete or unbatch "
                             "the batch first")
        old = inv.gl_entry_ids
        for entry in old:
            self.entries.pop(entry, None)
        for line in inv.lines:
            line.entry_id = None
        inv.ar_entry_id, inv.open = None, True
        inv.updated_at, inv.updated_by = when, by
        return old

    def close(self, inv: Invoice, when: datetime, by: str, with_gl: bool = True) -> None:
        """Close an open invoice again: new GL entries (new ids), unposted once more; id, number and date stay."""
        if not inv.open:
            raise ValueError(f"invoice {inv.number} (id {inv.id}) is not open")
        inv.open = False
        inv.closed_at, inv.updated_at, inv.updated_by = when, when, by
        self._make_gl_entries(inv, with_gl)

    def unposted(self) -> list[Invoice]:
        return [inv for inv in self.invoices.values() if inv.is_unposted]

    def line_spec(self, spec: dict[str, Any], credit_memo: bool = False) -> dict[str, Any]:
        """An admin line {description, quantity, unitPrice, accountNumber, taxCode | taxCodeXref, taxRate?,
        product?, hours?} as ``build_line`` takes it: the tax code resolved (default GST). A credit memo's line
        is given as a user enters it, positive (ValueError otherwise)."""
        code = None
        if spec.get("taxCode"):
            code = self.tax_code_by(identifier=str(spec["taxCode"]))
            if code is None:
                raise ValueError(f"unknown taxCode {spec['taxCode']!r}")
        elif spec.get("taxCodeXref"):
            code = self.tax_code_by(xref=str(spec["taxCodeXref"]))
        else:
            code = self.tax_codes[1]
        if credit_memo and not (float(spec["quantity"]) > 0 and float(spec["unitPrice"]) >= 0):
            raise ValueError("a credit memo's lines are given positive (quantity > 0, unitPrice >= 0): its type "
                             "makes them negative")
        xref = code["xref"] if code else str(spec["taxCodeXref"])
        rate = float(spec["taxRate"]) if "taxRate" in spec else (code["rate"] if code else 0.0)
        return {"description": str(spec["description"]), "quantity": spec["quantity"],
                "unitPrice": spec["unitPrice"], "accountNumber": str(spec["accountNumber"]),
                "taxCodeId": code["id"] if code else None, "xref": xref, "rate": rate,
                "product": spec.get("product"), "hours": bool(spec.get("hours"))}

    def edited_lines(self, inv: Invoice, change: list[dict[str, Any]], remove: list[int],
                     add: list[dict[str, Any]]) -> list[Line]:
        """The invoice's lines after an edit, built without touching the invoice (so a refused edit changes
        nothing): ``change`` [{line (1-based), quantity?, unitPrice?, description?}], ``remove`` [line], ``add``
        [admin line specs]. Line numbers name the lines before the edit; quantities of a credit memo are given
        positive, as when it was made."""
        count = len(inv.lines)
        out = [replace(line, entry_id=None) for line in inv.lines]
        for spec in change:
            number = int(spec["line"])
            if not 1 <= number <= count:
                raise ValueError(f"line {number} is not one of the invoice's lines 1..{count}")
            line = out[number - 1]
            if "quantity" in spec:
                qty = float(spec["quantity"])
                if inv.is_credit_memo and qty <= 0:
                    raise ValueError("a credit memo's quantities are given positive: its type makes them negative")
                line.quantity = inv.sign * qty
            if "unitPrice" in spec:
                line.unit_price = float(spec["unitPrice"])
            if "description" in spec:
                line.description = str(spec["description"])
            line.total = money(Decimal(str(line.quantity)) * Decimal(str(line.unit_price)))
            line.tax = money(Decimal(str(line.total)) * Decimal(str(line.tax_rate)))
        gone = {int(n) for n in remove}
        bad = sorted(n for n in gone if not 1 <= n <= count)
        if bad:
            raise ValueError(f"removeLines {bad} are not among the invoice's lines 1..{count}")
        out = [line for n, line in enumerate(out, start=1) if n not in gone]
        out += [self.build_line(self.line_spec(spec, inv.is_credit_memo), inv.sign) for spec in add]
        if not out:
            raise ValueError("an invoice keeps at least one line")
        return out

    # ------------------------------------------------------------ renderers

    def _info(self, entered: datetime, entered_by: str, updated: datetime, updated_by: str) -> dict[str, Any]:
        return {"lastUpdated": fmt(updated), "updatedBy": updated_by, "dateEntered": fmt(entered),
                "enteredBy": entered_by}

    def render_unposted(self, inv: Invoice) -> dict[str, Any]:
        comp = self.companies.get(inv.company_id)
        terms = TERMS.get(inv.due_days, {"id": 1, "name": f"Net {inv.due_days}"})
        return drop_nulls({
            "id": inv.id, "billingLogId": inv.id, "locationId": inv.location_id,
            "location": self.location_ref(inv.location_id), "company": self.company_ref(inv.company_id),
            "accountNumber": comp.get("accountNumber") if comp else None,
            "billToCompany": self.company_ref(inv.company_id),
            "billToSite": comp.get("site") if comp else None,
            "invoiceNumber": inv.number, "invoiceDate": fmt(inv.date), "invoiceType": inv.type,
            "description": inv.description or None, "billingTerms": terms, "dueDays": str(inv.due_days),
            "dueDate": fmt(inv.date + timedelta(days=inv.due_days)), "currency": inv.currency,
            "subTotal": inv.subtotal, "total": inv.total, "salesTaxAmount": inv.tax,
            "taxCode": self.tax_ref(comp["taxCodeId"] if comp else 1),
            "invoiceTaxableFlag": True, "itemTaxableFlag": any(line.tax_rate > 0 for line in inv.lines),
            "avalaraTaxFlag": False,
            "hasTime": any(line.hours for line in inv.lines), "hasExpenses": False,
            "hasProducts": any(not line.hours for line in inv.lines),
            "createdBy": inv.entered_by, "dateClosed": fmt(inv.closed_at),
            "_info": self._info(inv.entered_at, inv.entered_by, inv.updated_at, inv.updated_by),
        })

    def render_invoice(self, inv: Invoice) -> dict[str, Any]:
        comp = self.companies.get(inv.company_id)
        terms = TERMS.get(inv.due_days, {"id": 1, "name": f"Net {inv.due_days}"})
        batch = self.batches.get(inv.batch_id) if inv.batch_id is not None else None
        service = money(sum(Decimal(str(line.total)) for line in inv.lines if line.hours or line.account == "210"))
        return drop_nulls({
            "id": inv.id, "invoiceNumber": inv.number, "type": inv.type,
            "status": dict(OPEN if inv.open else CLOSED),
            "company": self.company_ref(inv.company_id), "billToCompany": self.company_ref(inv.company_id),
            "shipToCompany": self.company_ref(inv.company_id),
            "accountNumber": comp.get("accountNumber") if comp else None,
            "applyToType": "All", "billingSite": comp.get("site") if comp else None,
            "billingTerms": terms, "reference": inv.description or None,
            "date": fmt(inv.date), "dueDate": fmt(inv.date + timedelta(days=inv.due_days)),
            "locationId": inv.location_id, "location": self.location_ref(inv.location_id),
            "taxableFlag": True, "taxCode": self.tax_ref(comp["taxCodeId"] if comp else 1),
            "currency": inv.currency,
            "serviceTotal": service, "productTotal": money(Decimal(str(inv.subtotal)) - Decimal(str(service))),
            "expenseTotal": 0.0, "subtotal": inv.subtotal, "salesTax": inv.tax, "total": inv.total,
            "payments": 0.0, "credits": 0.0, "balance": inv.total, "specialInvoiceFlag": False,
            "closedBy": None if inv.open else inv.entered_by,
            "glBatch": {"id": batch.id, "name": batch.identifier} if batch else None,
            "_info": self._info(inv.entered_at, inv.entered_by, inv.updated_at, inv.updated_by),
        })

    def render_batch(self, batch: Batch) -> dict[str, Any]:
        return {"id": batch.id, "batchIdentifier": batch.identifier, "exportInvoicesFlag": batch.export_invoices,
                "exportExpensesFlag": batch.export_expenses, "exportProductsFlag": batch.export_products,
                "closedFlag": True,
                "_info": self._info(batch.created_at, batch.by, batch.updated_at, batch.by)}

    def render_location(self, loc: dict[str, Any]) -> dict[str, Any]:
        return {"id": loc["id"], "ownerLevelId": 2, "structureLevel": {"id": 2, "name": "Location"},
                "name": loc["name"], "timeZoneSetup": {"id": loc["tz_id"], "name": loc["timezone"]},
                "reportsTo": {"id": 1, "name": "Corporate"}, "locationFlag": True, "clientFlag": False,
                "workRoleIds": [], "departmentIds": [10, 20],
                "_info": self._info(self.anchor - timedelta(days=900), "admin", self.anchor - timedelta(days=400),
                                    "admin")}

    def render_tax_code(self, code: dict[str, Any]) -> dict[str, Any]:
        stamp = self.anchor - timedelta(days=700)
        return {"id": code["id"], "identifier": code["identifier"], "description": code["description"],
                "invoiceCaption": "GST" if code["rate"] else "Tax", "defaultFlag": code["id"] == 1,
                "effectiveDate": "2000-07-01T00:00:00Z", "country": dict(COUNTRY),
                "levelOneRate": round(code["rate"] * 100, 4), "levelOneRateType": "Percent",
                "levelOneCaption": "GST", "levelOneTaxCodeXref": code["xref"], "levelOneAgencyXref": "ATO",
                "levelOneServicesFlag": True, "levelOneProductsFlag": True, "levelOneExpensesFlag": True,
                "displayOnInvoiceFlag": True,
                "_info": self._info(stamp, "admin", stamp, "admin")}

    # ------------------------------------------------------------ the GL export

    def export(self, invoices: list[Invoice]) -> dict[str, Any]:
        """GLExport of ``invoices`` (those with GL entries); customers are the companies they name."""
        customers: dict[int, dict[str, Any]] = {}
        transactions = []
        for inv in invoices:
            if not inv.gl_entry_ids:
                continue
            if inv.company_id is not None and inv.company_id not in customers:
                customers[inv.company_id] = self._customer(inv.company_id)
            transactions.append(self._transaction(inv))
        return drop_nulls({"exportSettings": {}, "vendors": [], "customers": list(customers.values()),
                           "transactions": transactions, "expenses": [], "expenseBills": [],
                           "purchaseTransactions": [], "adjustmentTransactions": [], "inventoryTransfers": []})

    def _customer(self, company_id: int) -> dict[str, Any]:
        comp = self.companies.get(company_id)
        due = self.company_terms(company_id)
        return {"company": self.company_ref(company_id), "accountNumber": comp.get("accountNumber") if comp else None,
                "companyType": dict(CLIENT_TYPE) if comp else None,
                "contact": comp.get("billingContact") if comp else None, "site": comp.get("site") if comp else None,
                "taxCode": self.tax_ref(comp["taxCodeId"] if comp else 1), "taxable": True,
                "billingTerms": TERMS.get(due), "billingTermsXref": str(due), "dueDays": due,
                "currency": dict(CURRENCY)}

    def _transaction(self, inv: Invoice) -> dict[str, Any]:
        """A sales transaction in the shape of ConnectWise's published sample export (reference: "The export as
        ConnectWise sends it"): the transaction is the accounts-receivable entry (glTypeId AR, a positive total
        for an invoice, upper-case documentType, dates without a zone); its detail lines carry the opposite sign,
        and sales tax comes as detail lines of its own (glTypeId ST), one per tax level. A credit memo is the
        same with the signs turned: a negative total, positive lines and tax line; its header amounts
        (taxableTotal, taxLevels, salesTax) keep the document's sign, as an invoice's do. documentType
        "CREDIT MEMO" and billingType "CreditMemo" are unpublished choices (module docstring)."""
        comp = self.companies.get(inv.company_id)
        terms = TERMS.get(inv.due_days, {"id": 1, "name": f"Net {inv.due_days}"})
        levels: dict[str, list[Decimal]] = {}
        for line in inv.lines:
            bucket = levels.setdefault(line.tax_xref, [Decimal(0), Decimal(0)])
            bucket[0] += Decimal(str(line.total))
            bucket[1] += Decimal(str(line.tax))
        taxable = money(sum(Decimal(str(line.total)) for line in inv.lines if line.tax_rate > 0))
        kind = document_type(inv)
        rate = max((line.tax_rate for line in inv.lines), default=0.0)
        detail = [self._detail(inv, line) for line in inv.lines]
        detail.append(self._tax_line(inv, rate))
        taxed = [money(a[0]) for a in levels.values()] + [0.0] * 5
        return {
            "id": inv.id, "documentNumber": inv.number, "documentDate": zoneless(inv.date),
            "documentType": kind, "glTypeId": "AR", "glClass": "AR", "accountNumber": AR_ACCOUNT,
            "company": self.company_ref(inv.company_id), "companyType": dict(CLIENT_TYPE) if comp else None,
            "companyAccountNumber": comp.get("accountNumber") if comp else None,
            "site": comp.get("site") if comp else None, "shipToCompany": self.company_ref(inv.company_id),
            "billingTerms": terms, "billingTermsXref": str(inv.due_days),
            "dueDate": zoneless(inv.date + timedelta(days=inv.due_days)), "dueDays": inv.due_days,
            "currency": inv.currency, "taxCode": self.tax_ref(comp["taxCodeId"] if comp else 1),
            "taxable": taxable != 0, "taxableTotal": taxable, "taxGroupRate": rate,
            "taxAccountNumber": TAX_ACCOUNT, "stateTaxXref": inv.lines[0].tax_xref if inv.lines else None,
            "taxLevels": [{"taxLevel": 1, "taxCodeXref": xref, "taxableAmount": money(amounts[0]),
                           "taxAmount": money(amounts[1])} for xref, amounts in levels.items()],
            "salesTax": inv.tax, "stateTax": inv.tax, "countyTax": 0.0, "cityTax": 0.0,
            **{f"taxableAmount{n}": taxed[n - 1] if n == 1 else 0.0 for n in range(1, 6)},
            "total": inv.total, "description": inv.description or None,
            "memo": f"{'Credit Memo' if inv.is_credit_memo else 'Invoice'} {inv.number}", "billingType": inv.type,
            "glEntryIds": ",".join(str(e) for e in inv.gl_entry_ids),
            "detail": detail,
        }

    def _detail(self, inv: Invoice, line: Line) -> dict[str, Any]:
        """A revenue line: the other side of the receivable, so quantity and total are negative under an
        invoice's positive AR total (positive under a credit memo's negative one); its own id is a detail id,
        not one of the transaction's GL entry ids (as in the sample)."""
        taxable = line.tax_rate > 0
        item = {"id": _product_id(line.product), "identifier": line.product} if line.product else None
        return {
            "id": DETAIL_ID_OFFSET + line.entry_id if line.entry_id is not None else None,
            "documentDate": zoneless(inv.date), "documentType": document_type(inv), "glTypeId": "RP",
            "glClass": "R", "accountNumber": line.account, "costAccountNumber": COGS_ACCOUNT,
            "description": line.description, "memo": line.description, "itemDescription": line.description,
            "salesDescription": line.description, "quantity": -line.quantity, "itemPrice": line.unit_price,
            "total": -line.total, "cost": 0.0, "itemCost": 0.0, "salesCode": line.account,
            "itemTypeXref": "Service" if line.hours else "Non-Inventory", "locationXref": "DEFAULT",
            "taxableFlag": taxable, "itemTaxableFlag": taxable, "taxable2Flag": False, "taxable3Flag": False,
            "taxable4Flag": False, "taxable5Flag": False,
            "taxCode": self.tax_ref(line.tax_code_id), "taxCodeXref": line.tax_xref,
            "taxRate": line.tax_rate, "taxRatePercent": round(line.tax_rate * 100, 4),
            "taxLevels": [{"taxLevel": 1, "taxableFlag": taxable}],
            "item": item, "product": dict(item) if item else None,
            "unitOfMeasure": {"id": 1, "name": "Hour"} if line.hours else {"id": 2, "name": "Each"},
            "timeEntry": {"id": line.time_entry_id} if line.time_entry_id else None,
            "currency": inv.currency,
        }

    def _tax_line(self, inv: Invoice, rate: float) -> dict[str, Any]:
        """Sales tax as its own detail line (glTypeId ST, quantity 0, the tax as its total, with the detail
        lines' sign), as in the sample; one tax level here, as the demo's GST is one."""
        return {
            "id": DETAIL_ID_OFFSET + (inv.ar_entry_id or 0), "documentDate": zoneless(inv.date),
            "documentType": document_type(inv), "glTypeId": "ST", "glClass": "ST", "accountNumber": TAX_ACCOUNT,
            "description": "Level 1 Sales Tax", "memo": "Sales Tax", "taxNote": "AUTOSTAX", "quantity": 0.0,
            "itemPrice": 0.0, "total": -inv.tax, "taxRate": rate, "taxRatePercent": round(rate * 100, 4),
            "taxableFlag": False, "currency": inv.currency,
        }


def document_type(inv: Invoice) -> str:
    """The export's documentType: "INVOICE" (the sample), or "CREDIT MEMO" for a credit memo (unpublished;
    chosen in the sample's upper case)."""
    return "CREDIT MEMO" if inv.is_credit_memo else "INVOICE"


def zoneless(value: datetime | None) -> str | None:
    """Export dates as the sample has them: ``2011-06-20T00:00:00``, no zone."""
    return value.strftime("%Y-%m-%dT%H:%M:%S") if value is not None else None


def _time_entry_id(entry_id: int) -> int:
    return 900_000 + entry_id


def _product_id(identifier: str) -> int:
    known = list(CATALOG_IDENTIFIERS.values())
    return 3001 + known.index(identifier) if identifier in known else 3999


# ---------------------------------------------------------------- demo data

def _build_companies(world: World, rng: random.Random) -> None:
    places = all_locations()
    cid = FIRST_COMPANY_ID
    entries = [(name, ident, email, False) for name, ident, email in demo.COMPANIES]
    entries += [(name, ident, email, True) for name, ident, email in VENDORS]
    for i, (name, ident, email, vendor) in enumerate(entries):
        slugs = demo.COMPANY_LOCATIONS.get(ident, ("adelaide",))
        city, state, zipcode, phone = LOCATION_PLACES.get(slugs[0], LOCATION_PLACES["adelaide"])
        if vendor:
            city, state, zipcode, phone = ("Sydney", "NSW", "2000", "02 9")
        domain = email.split("@", 1)[1]
        terms = 14 if (i % 5 == 4 and not vendor) else 30
        stamp = world.anchor - timedelta(days=rng.randint(200, 1500), hours=rng.randint(0, 23))
        updated = world.anchor - timedelta(days=rng.randint(50, 190), hours=rng.randint(0, 23))
        contact = CONTACT_NAMES[i % len(CONTACT_NAMES)]
        world.companies[cid] = {
            "id": cid, "identifier": ident, "name": name, "status": dict(ACTIVE),
            "addressLine1": f"{rng.randint(1, 250)} {rng.choice(STREETS)} Street", "city": city, "state": state,
            "zip": zipcode, "country": dict(COUNTRY),
            "phoneNumber": f"{phone}{rng.randint(100, 999)} {rng.randint(1000, 9999)}",
            "website": f"www.{domain}", "accountNumber": f"{'V' if vendor else 'C'}{cid:05d}",
            "territory": world.location_ref(places[slugs[0]]["cw_location_id"]) if not vendor else None,
            "taxCode": None, "taxCodeId": 1, "billingTerms": dict(TERMS[terms]),
            "billingContact": {"id": 900 + cid, "name": contact},
            "defaultContact": {"id": 900 + cid, "name": contact},
            "invoiceToEmailAddress": email, "invoiceDeliveryMethod": {"id": 2, "name": "Email"},
            "currency": dict(CURRENCY), "isVendorFlag": vendor, "vendorIdentifier": ident if vendor else None,
            "types": [dict(VENDOR_TYPE if vendor else CLIENT_TYPE)], "site": {"id": 1000 + cid, "name": "Main"},
            "billingSite": {"id": 1000 + cid, "name": "Main"}, "deletedFlag": False, "leadFlag": False,
            "unsubscribeFlag": False, "mobileGuid": None,
            "_info": {"lastUpdated": fmt(updated), "updatedBy": "admin", "dateEntered": fmt(stamp),
                      "enteredBy": "admin"},
        }
        world.companies[cid]["taxCode"] = world.tax_ref(1)
        cid += 1


def render_company(comp: dict[str, Any]) -> dict[str, Any]:
    return drop_nulls({k: v for k, v in comp.items() if k != "taxCodeId"})


def demo_lines(rng: random.Random, world: World) -> list[dict[str, Any]]:
    """1-5 distinct lines from the catalogue; hours in quarters, licences by the seat; ~10% of lines GST-free."""
    lines = []
    gst, free = world.tax_codes[1], world.tax_codes[2]
    for description, account, price in rng.sample(demo.LINE_CATALOGUE, rng.randint(1, 5)):
        hours = "(hours)" in description
        if hours:
            qty: float = rng.choice(HOURS)
        elif "licences" in description or "seats" in description:
            qty = rng.randint(5, 60)
        elif account == "220":
            qty = rng.randint(1, 4)
        else:
            qty = 1
        code = free if rng.random() < 0.1 else gst
        lines.append({"description": description, "quantity": qty, "unitPrice": price, "accountNumber": account,
                      "taxCodeId": code["id"], "xref": code["xref"], "rate": code["rate"],
                      "product": CATALOG_IDENTIFIERS.get(description), "hours": hours})
    return lines


def build_world(seed: int, invoices_per_location: dict[str, int], anchor: date | None = None,
                stuck_invoice: bool = False, credit_memos_per_location: dict[str, int] | None = None) -> World:
    """The demo tenant: same seed, same sizes and same anchor day give the same data, byte for byte. Credit
    memos only when ``credit_memos_per_location`` asks (after every invoice, from their own random stream, so
    asking for them moves no invoice)."""
    anchor_day = anchor or datetime.now(UTC).date()
    world = World(anchor=datetime.combine(anchor_day, time(0, 0), tzinfo=UTC))
    rng = random.Random(seed)
    places = all_locations()
    unknown = set(invoices_per_location) - set(places)
    if unknown:
        raise ValueError(f"unknown location slugs {sorted(unknown)}; known: {sorted(places)}")
    for slug, loc in places.items():
        lid = loc["cw_location_id"]
        world.locations[lid] = {"id": lid, "name": loc["name"], "timezone": loc["timezone"], "slug": slug,
                                "tz_id": {"Australia/Adelaide": 5, "Australia/Melbourne": 6}.get(loc["timezone"], 7)}
    for code in demo.CW_TAX_CODES:
        world.tax_codes[code["id"]] = dict(code)
    _build_companies(world, rng)
    by_ident = {c["identifier"]: cid for cid, c in world.companies.items() if not c["isVendorFlag"]}

    drafts = []
    for slug, loc in places.items():
        count = int(invoices_per_location.get(slug, 0))
        local = [by_ident[i] for i, slugs in demo.COMPANY_LOCATIONS.items() if slug in slugs and i in by_ident]
        local = local or sorted(by_ident.values())
        for seq in range(count):
            day = world.anchor - timedelta(days=rng.randint(1, 45))
            closed = day + timedelta(hours=rng.randint(8, 17), minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
            drafts.append((closed, loc["cw_location_id"], seq, slug, rng.choice(local), day, demo_lines(rng, world),
                           rng.choice(STAFF)))
    drafts.sort(key=lambda d: (d[0], d[1], d[2]))
    stuck_done = not stuck_invoice
    for closed, lid, _seq, slug, company_id, day, lines, staff in drafts:
        stuck = slug == "adelaide" and not stuck_done
        stuck_done = stuck_done or stuck
        month = day.strftime("%B %Y")
        description = ("Hardware supply - GL mapping missing" if stuck
                       else f"{world.companies[company_id]['name']} - services {month}")
        world.add_invoice(location_id=lid, company_id=company_id, invoice_date=day, lines=lines, closed_at=closed,
                          entered_by=staff, description=description, with_gl=not stuck)
    if credit_memos_per_location:
        seed_credit_memos(world, random.Random(seed + 17), credit_memos_per_location)
    return world


def seed_credit_memos(world: World, rng: random.Random, per_location: dict[str, int]) -> None:
    """Opt-in demo credit memos: each credits one line (in full, or part of its quantity) of an earlier seeded
    invoice at the same location, to the same company, dated 1-10 days after it (not after the anchor day),
    closed and unposted, and applied to nothing (``POST /_sandbox/credit-applications`` applies one)."""
    slugs = {loc["slug"]: lid for lid, loc in world.locations.items()}
    unknown = set(per_location) - set(slugs)
    if unknown:
        raise ValueError(f"unknown location slugs {sorted(unknown)} in credit_memos_per_location")
    drafts = []
    for slug, lid in slugs.items():
        pool = sorted((i for i in world.invoices.values()
                       if i.location_id == lid and not i.is_credit_memo and i.gl_entry_ids), key=lambda i: i.id)
        for seq in range(min(int(per_location.get(slug, 0)), len(pool))):
            source = pool.pop(rng.randrange(len(pool)))
            line = rng.choice(source.lines)
            qty = line.quantity if line.quantity <= 1 or rng.random() < 0.5 else max(1, int(line.quantity // 2))
            day = min(source.date + timedelta(days=rng.randint(1, 10)), world.anchor - timedelta(days=1))
            closed = day + timedelta(hours=rng.randint(8, 17), minutes=rng.randint(0, 59))
            spec = {"description": line.description, "quantity": qty, "unitPrice": line.unit_price,
                    "accountNumber": line.account, "taxCodeId": line.tax_code_id, "xref": line.tax_xref,
                    "rate": line.tax_rate, "product": line.product, "hours": line.hours}
            drafts.append((closed, lid, seq, source, day, spec, rng.choice(STAFF)))
    for closed, lid, _seq, source, day, spec, staff in sorted(drafts, key=lambda d: (d[0], d[1], d[2])):
        world.add_invoice(location_id=lid, company_id=source.company_id, invoice_date=day, lines=[spec],
                          closed_at=closed, entered_by=staff, invoice_type=CREDIT_MEMO,
                          description=f"Credit for invoice {source.number} - {spec['description']}")
