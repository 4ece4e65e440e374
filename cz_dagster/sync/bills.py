"""ConnectWise unposted procurement (GL export purchase transactions) -> Xero ACCPAY bills. Pure logic.

Xero does not make bill numbers unique, so the Reference we set (``CW-PROC-<id>``) plus the supplier contact
is what lets a re-run or a crashed run find a bill instead of creating it twice.
"""

from __future__ import annotations

from datetime import date as date_type
from datetime import timedelta
from decimal import ROUND_HALF_UP
from typing import Any

from cz_dagster.sync.hashing import stable_hash
from cz_dagster.sync.invoices import (
    CENT,
    RecordError,
    SourceDoc,
    company_ref,
    currency_code,
    iso_date,
    money,
    parse_gl_entry_ids,
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


def source_bills(export: dict[str, Any]) -> list[SourceDoc]:
    out: list[SourceDoc] = []
    for txn in export.get("purchaseTransactions") or []:
        vendor, bad_vendor = company_ref(txn.get("vendor") or txn.get("company"))
        errors: list[str] = [bad_vendor] if bad_vendor else []
        try:
            gl_ids = parse_gl_entry_ids(txn.get("glEntryIds"))
        except RecordError as exc:
            gl_ids = []
            errors.append(str(exc))
        sid = str(txn.get("id") or txn.get("documentNumber"))
        label = str(txn.get("vendorInvoiceNumber") or txn.get("documentNumber") or sid)
        out.append(SourceDoc(id=sid, number=label,
                             company_id=int(vendor["id"]) if vendor.get("id") is not None else None,
                             company_name=str(vendor.get("name") or vendor.get("identifier") or "?"),
                             gl_entry_ids=gl_ids, raw=txn, version=version_of(txn), errors=errors,
                             reference=f"CW-PROC-{sid}"))
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
    lines = xero_lines(txn.get("purchaseDetail") or [], price_keys=BILL_PRICE_KEYS, what="bill")
    freight = txn.get("freightAmount")
    if freight not in (None, 0, 0.0, "0"):
        first = lines[0]
        try:
            amount = float(money(freight).quantize(CENT, rounding=ROUND_HALF_UP))
        except RecordError as exc:
            raise RecordError(f"freight: {exc}") from None
        lines.append({"Description": "Freight", "Quantity": 1.0, "UnitAmount": amount,
                      "AccountCode": first["AccountCode"], "TaxType": first["TaxType"], "LineAmount": amount})
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
