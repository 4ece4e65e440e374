"""ConnectWise unposted procurement (GL export purchase transactions) -> Xero ACCPAY bills. Pure logic.

Xero does not make bill numbers unique, so the Reference we set (``CW-PROC-<id>``) plus the supplier contact
is what lets a re-run or a crashed run find a bill instead of creating it twice.
"""

from __future__ import annotations

import re
from datetime import date as date_type
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cz_dagster.sync.hashing import stable_hash
from cz_dagster.sync.invoices import (
    CENT,
    RecordError,
    SourceDoc,
    as_credit_note,
    check_total,
    company_ref,
    currency_code,
    detail_sign,
    is_credit,
    iso_date,
    money,
    parse_gl_entry_ids,
    tax_of,
    xero_lines,
)

BILL_PRICE_KEYS = ("itemCost", "cost", "unitCost")


def version_of(txn: dict[str, Any]) -> str:
    lines = [{k: line.get(k) for k in ("accountNumber", "description", "quantity", "cost", "itemCost", "total",
                                       "taxCodeXref")} for line in txn.get("purchaseDetail") or []]
    vendor = company_ref(txn.get("vendor") or txn.get("company"))[0]
    return stable_hash({"number": txn.get("vendorInvoiceNumber"), "date": txn.get("vendorInvoiceDate"),
                        "purchase": txn.get("purchaseDate"), "due": txn.get("dueDate"), "vendor": vendor.get("id"),
                        "total": txn.get("total"), "freight": txn.get("freightAmount"), "lines": lines})


SIMPLE_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")


def record_key(raw_id: Any) -> str:
    """The ledger id and Reference suffix of a purchase transaction. ConnectWise's ``id`` is a string such as
    "PO #COMPANYBPO, Packing Slip: COMPANYBPO": kept as it is when short and plain, else a stable hash of it, so
    the Reference stays the same every export, fits Xero's limits and quotes safely in a Where filter."""
    text = str(raw_id)
    return text if SIMPLE_ID.fullmatch(text) else "h" + stable_hash(text, 16)


def bill_reference(raw_id: Any) -> str:
    """The Xero Reference of the bill made from a purchase transaction (how a re-run finds it)."""
    return f"CW-PROC-{record_key(raw_id)}"


def record_ids(txn: dict[str, Any]) -> list[int]:
    """The integers that mark procurement posted: ``glEntryIds`` where an export has them; ConnectWise's purchase
    transactions have none, so then the ids of its purchaseDetail and purchaseDetailTax items [inference, the
    reference's "Marking records posted"]."""
    if txn.get("glEntryIds") not in (None, ""):
        return parse_gl_entry_ids(txn.get("glEntryIds"))
    ids = []
    for item in [*(txn.get("purchaseDetail") or []), *(txn.get("purchaseDetailTax") or [])]:
        if not isinstance(item, dict) or item.get("id") is None:
            continue
        try:
            ids.append(int(item["id"]))
        except (TypeError, ValueError):
            raise RecordError(f"purchase line id {item['id']!r} is not a whole number") from None
    return ids


def source_bills(export: dict[str, Any]) -> list[SourceDoc]:
    out: list[SourceDoc] = []
    for txn in export.get("purchaseTransactions") or []:
        vendor, bad_vendor = company_ref(txn.get("vendor") or txn.get("company"))
        errors: list[str] = [bad_vendor] if bad_vendor else []
        try:
            gl_ids = record_ids(txn)
        except RecordError as exc:
            gl_ids = []
            errors.append(str(exc))
        sid = record_key(txn.get("id") or txn.get("documentNumber"))
        label = str(txn.get("vendorInvoiceNumber") or txn.get("documentNumber") or sid)
        out.append(SourceDoc(id=sid, number=label,
                             company_id=int(vendor["id"]) if vendor.get("id") is not None else None,
                             company_name=str(vendor.get("name") or vendor.get("identifier") or "?"),
                             gl_entry_ids=gl_ids, raw=txn, version=version_of(txn), errors=errors,
                             reference=bill_reference(txn.get("id") or txn.get("documentNumber")),
                             credit=is_credit(txn)))
    return out


def due_date(txn: dict[str, Any], bill_date: Any) -> str:
    """ConnectWise's purchase transactions carry billing terms as ``dueDays``, not a due date."""
    if txn.get("dueDate"):
        return iso_date(txn["dueDate"], "due date")
    start = date_type.fromisoformat(iso_date(bill_date, "supplier invoice date"))
    try:
        days = int(txn.get("dueDays") or 0)
    except (TypeError, ValueError):
        raise RecordError(f"dueDays {txn.get('dueDays')!r} is not a whole number of days") from None
    return (start + timedelta(days=days)).isoformat()


def bill_tax(txn: dict[str, Any], sign: int) -> Decimal:
    """A purchase transaction's tax: its purchaseDetailTax items (in the lines' sign), else its taxLevels."""
    if txn.get("purchaseDetailTax"):
        return tax_of(txn, list(txn["purchaseDetailTax"]), sign, "bill")
    try:
        return sum((money(t.get("taxAmount") or 0) for t in txn.get("taxLevels") or [] if isinstance(t, dict)),
                   Decimal(0)).quantize(CENT, rounding=ROUND_HALF_UP)
    except RecordError as exc:
        raise RecordError(f"the bill tax: {exc}") from None


def to_xero_bill(doc: SourceDoc, contact_id: str | None, *, status: str = "AUTHORISED") -> dict[str, Any]:
    txn = doc.raw
    if doc.errors:
        raise RecordError("; ".join(doc.errors))
    if contact_id is None:
        raise RecordError(
            f"unknown supplier: ConnectWise vendor {doc.company_name!r} (id {doc.company_id}) has no Xero contact in "
            "this organisation; check the vendor exists in ConnectWise and see this run's supplier errors")
    if not doc.gl_entry_ids:
        raise RecordError("ConnectWise exported no GL entries for this procurement, so it could not be marked posted")
    details = txn.get("purchaseDetail") or []
    sign = detail_sign(txn, details)
    lines = xero_lines(details, price_keys=BILL_PRICE_KEYS, what="bill", sign=sign)
    freight = txn.get("freightAmount")
    if freight not in (None, 0, 0.0, "0"):
        first = lines[0]
        try:
            amount = float(money(freight).quantize(CENT, rounding=ROUND_HALF_UP))
        except RecordError as exc:
            raise RecordError(f"freight: {exc}") from None
        lines.append({"Description": "Freight", "Quantity": 1.0, "UnitAmount": amount,
                      "AccountCode": first["AccountCode"], "TaxType": first["TaxType"], "LineAmount": amount})
    check_total(txn, lines, "bill", bill_tax(txn, sign))
    date = txn.get("vendorInvoiceDate") or txn.get("purchaseDate") or txn.get("documentDate")
    bill: dict[str, Any] = {
        "Type": "ACCPAY",
        "InvoiceNumber": str(txn.get("vendorInvoiceNumber") or txn.get("documentNumber") or doc.id)[:255],
        "Reference": doc.reference,
        "Contact": {"ContactID": contact_id},
        "Date": iso_date(date, "supplier invoice date"),
        "DueDate": due_date(txn, date),
        "LineAmountTypes": "Exclusive",
        "Status": status,
        "LineItems": lines,
    }
    currency = currency_code(txn)
    if currency:
        bill["CurrencyCode"] = currency
    return bill


def to_xero_supplier_credit(doc: SourceDoc, contact_id: str | None, *, status: str = "AUTHORISED") -> dict[str, Any]:
    """Negative procurement (a vendor return or credit) -> an ACCPAYCREDIT credit note against the supplier: built
    as the bill it mirrors (the same pre-flight and total check, in its negative sign), then turned positive. Its
    number is the supplier's (not unique), so our Reference is what finds it again."""
    return as_credit_note(to_xero_bill(doc, contact_id, status=status), "ACCPAYCREDIT")
