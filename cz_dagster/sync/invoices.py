"""ConnectWise unposted invoices (Accounting Interface GL export) -> Xero ACCREC invoices. Pure logic."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from cz_dagster.errors import RecordFailure
from cz_dagster.sync.hashing import stable_hash

CENT = Decimal("0.01")
UNIT = Decimal("0.0001")  # Xero keeps unit prices to 4 decimals when asked with unitdp=4
# control characters, zero-width and bidirectional overrides/isolates (text that displays other than it reads)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
EARLIEST = date(1900, 1, 1)
YEARS_AHEAD = 10  # a document dated further ahead than this is a typo, not a plan


def clean_text(value: Any) -> str:
    """Text as Xero should show it: control and invisible characters dropped, tabs as spaces, trimmed."""
    return CONTROL.sub("", str(value).replace("\t", " ")).strip()


class RecordError(RecordFailure):
    """A problem with one record, phrased for the finance person who has to fix it."""


@dataclass
class SourceDoc:
    """One unposted ConnectWise document (an invoice, or procurement for a bill) as exported, with what the
    ledger, Xero and the accounting batch need. ``reference`` is the Xero Reference we control."""

    id: str
    number: str
    company_id: int | None
    company_name: str
    gl_entry_ids: list[int]
    raw: dict[str, Any]
    version: str = ""
    errors: list[str] = field(default_factory=list)
    reference: str = ""
    credit: bool = False  # a credit memo (negative total): a Xero credit note, its total the opposite sign


SourceInvoice = SourceDoc


def money(value: Any) -> Decimal:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise RecordError(f"amount {value!r} is not a number") from exc
    if not d.is_finite():
        raise RecordError(f"amount {value!r} is not a finite number")
    return d


def parse_gl_entry_ids(raw: Any) -> list[int]:
    if raw is None or raw == "":
        return []
    items = raw if isinstance(raw, list) else [p for p in str(raw).replace(";", ",").split(",") if p.strip()]
    try:
        return [int(str(x).strip()) for x in items]
    except ValueError as exc:
        raise RecordError(f"glEntryIds {raw!r} are not whole numbers") from exc


def version_of(txn: dict[str, Any]) -> str:
    """What makes a different Xero document: if any of this changes in ConnectWise, it is a new version."""
    detail = txn.get("detail") or []
    lines = [
        {k: line.get(k) for k in ("accountNumber", "description", "memo", "quantity", "itemPrice", "total",
                                  "taxCodeXref")} if isinstance(line, dict) else line
        for line in (detail if isinstance(detail, list) else [detail])
    ]
    return stable_hash({
        "number": txn.get("documentNumber"), "date": txn.get("documentDate"), "due": txn.get("dueDate"),
        "company": company_ref(txn.get("company"))[0].get("id"), "currency": currency_code(txn),
        "total": txn.get("total"), "lines": lines,
    })


def currency_code(txn: dict[str, Any]) -> Any:
    """The export's currency code; a malformed currency is returned as it is, for pre-flight to name."""
    currency = txn.get("currency")
    return currency.get("currencyCode") if isinstance(currency, dict) else currency


def company_ref(value: Any) -> tuple[dict[str, Any], str | None]:
    """An export row's company (or vendor) reference, and an error when it is not one: a bare string, or an id
    that is not a number, would otherwise crash the whole run rather than fail its own record."""
    if value in (None, "", {}):
        return {}, None
    if not isinstance(value, dict):
        return {}, f"the company reference {str(value)[:80]!r} is not a ConnectWise company; re-export the document"
    try:
        int(value["id"]) if value.get("id") is not None else None
    except (TypeError, ValueError):
        return {}, f"the company id {str(value.get('id'))[:40]!r} is not a number; re-export the document"
    return value, None


def source_invoices(export: dict[str, Any]) -> list[SourceInvoice]:
    out: list[SourceInvoice] = []
    for txn in export.get("transactions") or []:
        company, bad_company = company_ref(txn.get("company"))
        errors: list[str] = [bad_company] if bad_company else []
        try:
            gl_ids = parse_gl_entry_ids(txn.get("glEntryIds"))
        except RecordError as exc:
            gl_ids = []
            errors.append(str(exc))
        number = str(txn.get("documentNumber") or "").strip()
        sid = str(txn.get("id") or number)
        inv = SourceDoc(id=sid, number=number,
                        company_id=int(company["id"]) if company.get("id") is not None else None,
                        company_name=str(company.get("name") or company.get("identifier") or "?"),
                        gl_entry_ids=gl_ids, raw=txn, version=version_of(txn), errors=errors,
                        reference=f"CW-INV-{sid}", credit=is_credit(txn))
        out.append(inv)
    return out


def is_credit(txn: dict[str, Any]) -> bool:
    """A credit memo: ConnectWise exports it as a receivable of negative total (its lines the other sign). The
    sign, not the ``billingType`` (whose credit-memo value is unpublished), decides; a total that is not a number
    stays an invoice, whose pre-flight then names the bad amount."""
    try:
        return txn.get("total") is not None and money(txn["total"]) < 0
    except RecordError:
        return False


def iso_date(value: Any, what: str) -> str:
    if not value:
        raise RecordError(f"{what} is missing")
    text = str(value)[:10]
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise RecordError(f"{what} {value!r} is not a date") from exc


def document_dates(raw_date: Any, raw_due: Any, what: str) -> tuple[str, str]:
    """The document's date and due date, or RecordError when either is not a date, out of any plausible range
    (a year 1899 or 9999 is a typo that Xero would file in a closed or far-future period), or due before issued."""
    day, due = iso_date(raw_date, f"{what} date"), iso_date(raw_due, "due date")
    latest = date.today() + timedelta(days=366 * YEARS_AHEAD)
    for value, name in ((day, f"{what} date"), (due, "due date")):
        if not EARLIEST.isoformat() <= value <= latest.isoformat():
            raise RecordError(f"{name} {value} is out of range ({EARLIEST.isoformat()} to {latest.isoformat()}); "
                              "fix the date in ConnectWise")
    if due < day:
        raise RecordError(f"due date {due} is before the {what} date {day}; fix the billing terms in ConnectWise")
    return day, due


TAX_LINE_TYPES = ("ST",)  # glTypeId of a sales-tax detail line (the sample's "Level 1 Sales Tax")


def split_tax_lines(details: Any) -> tuple[Any, list[dict[str, Any]]]:
    """The document's own lines, and its sales-tax lines (ConnectWise exports tax as detail lines of its own)."""
    if not isinstance(details, list):
        return details, []
    lines: list[Any] = []
    tax: list[dict[str, Any]] = []
    for d in details:
        is_tax = isinstance(d, dict) and str(d.get("glTypeId") or "").upper() in TAX_LINE_TYPES
        (tax if is_tax else lines).append(d)
    return lines, tax


def detail_sign(txn: dict[str, Any], details: Any) -> int:
    """+1 when the detail lines carry the document's sign, -1 when they carry the opposite one (ConnectWise's
    export: the transaction is the receivable or payable entry, its lines the other side of it). Decided by
    what the lines add up to against the total; the total check then refuses a document that fits neither."""
    if txn.get("total") is None or not isinstance(details, list):
        return 1
    try:
        total = money(txn["total"])
        net = sum((money(d.get("total")) if d.get("total") is not None else
                   money(d.get("quantity") if d.get("quantity") is not None else 1) * money(d.get("itemPrice") or 0)
                   for d in details if isinstance(d, dict)), Decimal(0))
    except RecordError:
        return 1  # the line that is not a number is named where the lines are read
    if net == 0 or total == 0:
        return 1
    return 1 if (net > 0) == (total > 0) else -1


def tax_of(txn: dict[str, Any], tax_lines: list[dict[str, Any]], sign: int, what: str) -> Decimal:
    """The document's tax in its own sign: its tax lines (with the lines' sign), or else the header's
    ``salesTax``. Tax lines of the other sign than the lines fit neither convention: refused."""
    try:
        if tax_lines:
            amounts = [money(t.get("total") or 0) for t in tax_lines]
            tax = sign * sum(amounts, Decimal(0))
            total = money(txn.get("total") or 0)
            if tax and total and (tax > 0) != (total > 0):
                raise RecordError(f"ConnectWise exported the {what}'s tax lines with the sign of its total, not of "
                                  "its lines, so it cannot tell which side they are on; re-export the "
                                  f"{what}, and if it stays so, enter it in Xero by hand")
            return tax.quantize(CENT, rounding=ROUND_HALF_UP) if tax else Decimal("0.00")  # never "-0.00"
        return money(txn.get("salesTax") or 0).quantize(CENT, rounding=ROUND_HALF_UP)
    except RecordError as exc:
        raise RecordError(f"the {what} tax: {exc}") from None


def check_total(txn: dict[str, Any], lines: list[dict[str, Any]], what: str, tax: Decimal,
                extra: Decimal = Decimal(0)) -> None:
    """The lines (plus ``extra``, e.g. freight) and the tax must add up to what ConnectWise says the document
    totals: a cent per line for rounding, no more. Otherwise Xero would hold a different amount than
    ConnectWise, and the accounts would disagree unnoticed."""
    if txn.get("total") is None:
        return
    try:
        total = money(txn["total"]).quantize(CENT, rounding=ROUND_HALF_UP)
    except RecordError as exc:
        raise RecordError(f"the {what} total: {exc}") from None
    net = sum((Decimal(str(line["LineAmount"])) for line in lines), Decimal(0)) + extra
    if abs(net + tax - total) > CENT * len(lines):
        raise RecordError(f"the lines add up to {net:.2f} plus tax {tax:.2f}, but ConnectWise says the {what} "
                          f"totals {total:.2f}; correct the {what} in ConnectWise, then re-run")


def to_xero_invoice(inv: SourceInvoice, contact_id: str | None, *, status: str = "AUTHORISED") -> dict[str, Any]:
    """The Xero invoice for one ConnectWise invoice, or RecordError naming what to fix (pre-flight)."""
    txn = inv.raw
    if inv.errors:
        raise RecordError("; ".join(inv.errors))
    if not inv.number:
        raise RecordError("the invoice has no invoice number")
    if len(inv.number) > 255:
        raise RecordError("the invoice number is longer than Xero's 255 characters")
    if inv.company_id is None:
        raise RecordError("the invoice names no company in ConnectWise; set its company, then re-run")
    if contact_id is None:
        raise RecordError(
            f"unknown customer: ConnectWise company {inv.company_name!r} (id {inv.company_id}) has no Xero contact "
            "in this organisation; check the company exists in ConnectWise and see the xero/contacts run")
    if not inv.gl_entry_ids:
        raise RecordError("ConnectWise exported no GL entries for this invoice, so it could not be marked posted")
    details, tax_lines = split_tax_lines(txn.get("detail") or [])
    sign = detail_sign(txn, details)
    lines = xero_lines(details, price_keys=("itemPrice",), what="invoice", sign=sign)
    check_total(txn, lines, "invoice", tax_of(txn, tax_lines, sign, "invoice"))
    day, due = document_dates(txn.get("documentDate"), txn.get("dueDate") or txn.get("documentDate"), "invoice")
    doc: dict[str, Any] = {
        "Type": "ACCREC",
        "InvoiceNumber": inv.number,
        "Reference": inv.reference,
        "Contact": {"ContactID": contact_id},
        "Date": day,
        "DueDate": due,
        "LineAmountTypes": "Exclusive",
        "Status": status,
        "LineItems": lines,
    }
    currency = currency_code(txn)
    if currency:
        doc["CurrencyCode"] = currency
    return doc


def as_credit_note(doc: dict[str, Any], credit_type: str) -> dict[str, Any]:
    """A document built in its negative (ConnectWise) sign, turned into Xero's positive credit note of
    ``credit_type``: the lines' quantities and amounts negated, its number the CreditNoteNumber, no due date."""
    for line in doc["LineItems"]:
        line["Quantity"] = -line["Quantity"]
        line["LineAmount"] = -line["LineAmount"]
    rest = {k: v for k, v in doc.items() if k not in ("Type", "InvoiceNumber", "DueDate")}
    return {"Type": credit_type, "CreditNoteNumber": doc["InvoiceNumber"], **rest}


def to_xero_credit_note(doc: SourceDoc, contact_id: str | None, *, status: str = "AUTHORISED") -> dict[str, Any]:
    """The Xero ACCRECCREDIT credit note for one ConnectWise credit memo: built as the invoice it mirrors (the same
    pre-flight, lines and total check, in the memo's negative sign), then turned to Xero's positive credit note.
    CreditNoteNumber is the memo's number, so a crashed run finds it again by number."""
    return as_credit_note(to_xero_invoice(doc, contact_id, status=status), "ACCRECCREDIT")


def xero_lines(details: list[dict[str, Any]], *, price_keys: tuple[str, ...], what: str,
               sign: int = 1) -> list[dict[str, Any]]:
    """Xero line items from ConnectWise GL detail lines (``sign`` -1: lines exported with the opposite sign of
    the document, as ConnectWise does); the first problem found is a RecordError naming the line."""
    if not details:
        raise RecordError(f"the {what} has no lines")
    if not isinstance(details, list):
        raise RecordError(f"the {what}'s lines are not a list in ConnectWise's export: {str(details)[:60]!r}")
    lines = []
    for n, line in enumerate(details, start=1):
        where = f"line {n}"
        if not isinstance(line, dict):
            raise RecordError(f"{where} is not an object in ConnectWise's export: {str(line)[:60]!r}")
        tax_type = (line.get("taxCodeXref") or "").strip()
        if not tax_type:
            code = (line.get("taxCode") or {}).get("identifier") or (line.get("taxCode") or {}).get("name") or "(none)"
            raise RecordError(f"{where}: tax code {code} has no Xero tax type; set the Xero TaxType as the "
                              "tax code's xref in ConnectWise")
        account = str(line.get("accountNumber") or "").strip()
        if not account:
            raise RecordError(f"{where}: no GL account number; map the product or work type to a GL account")
        price_raw = next((line.get(k) for k in price_keys if line.get(k) is not None), line.get("total"))
        try:
            qty = sign * money(line.get("quantity") if line.get("quantity") is not None else 1)
            price = money(price_raw)
        except RecordError as exc:
            raise RecordError(f"{where}: {exc}") from None
        if qty < 0 and price < 0:  # both flipped (a price given in the lines' sign): the same line
            qty, price = -qty, -price
        description = clean_text(line.get("description") or line.get("itemDescription") or line.get("memo") or "")
        amount = (qty * price).quantize(CENT, rounding=ROUND_HALF_UP)
        unit = price.quantize(UNIT, rounding=ROUND_HALF_UP)
        if (qty * unit).quantize(CENT, rounding=ROUND_HALF_UP) != amount:
            # Xero keeps 4 decimals of a unit price: where that would change the line total, send the total
            # as one unit and keep ConnectWise's quantity and price in the description.
            description = f"{description} ({qty.normalize():f} x {price.normalize():f})".strip()
            qty, unit = Decimal(1), amount
        lines.append({
            "Description": (description or f"ConnectWise {what} line")[:4000],
            "Quantity": float(qty),
            "UnitAmount": float(unit),
            "AccountCode": account,
            "TaxType": tax_type,
            "LineAmount": float(amount),
        })
    return lines


def expected_total(inv: SourceInvoice) -> Decimal | None:
    """The total the Xero document must have: ConnectWise's, or for a credit memo its opposite (Xero credit notes
    are positive)."""
    total = inv.raw.get("total")
    if total is None:
        return None
    amount = money(total).quantize(CENT, rounding=ROUND_HALF_UP)
    return -amount if inv.credit else amount


def totals_match(inv: SourceInvoice, xero_total: Any, lines: int = 1) -> bool:
    """Never raises: an amount that is not a number (on either side) does not match. Xero rounds tax per line,
    ConnectWise may round it on the total, so ``lines`` lines may differ by half a cent each, and no more."""
    try:
        want = expected_total(inv)
        if want is None or xero_total is None:
            return True
        return abs(want - money(xero_total)) <= Decimal("0.005") * max(1, lines)
    except RecordError:
        return False


def batches_needed(n: int, size: int) -> int:
    return math.ceil(n / size) if n else 0
