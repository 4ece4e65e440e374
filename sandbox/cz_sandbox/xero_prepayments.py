"""Overpayments and prepayments: money received from a customer (or paid to a supplier) with no invoice (bill) to
apply it to yet, made by a Xero user (the admin routes), read over GET and allocated to invoices later.

The two are one shape in the spec (Overpayment and Prepayment schemas: Type, Contact, Date, Status AUTHORISED |
PAID | VOIDED, LineItems, totals, RemainingCredit, Allocations, Payments), so they are one set of functions here,
told apart by ``kind``. What differs, as in Xero: an overpayment carries no tax (LineAmountTypes NoTax, one line to
the debtors/creditors account); a prepayment is a sale (purchase) paid in advance, so its line carries tax, and a
RECEIVE-PREPAYMENT takes its number from the invoice sequence and shows it as InvoiceNumber and as Reference
("Returns Invoice number field. Reference field isn't available.", the Prepayment schema; INV-0011 in both fields of
the spec's example). Allocating either to an invoice is xero_allocations.py's.

Not published; chosen: a prepayment's INV- number is not checked against invoices typed with the same number (it is
only never issued to one); the overpayment lists its receipt in Payments (as the simulator always has), the
prepayment lists none (as the spec's example does) -- neither models refunds.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from cz_sandbox.xero_accounting import ElementError, Org, build_lines, line_totals, render_line
from cz_sandbox.xero_allocations import live_allocations, render_allocation
from cz_sandbox.xero_formats import Clock, iso_string, money, ms_date, num, parse_date_in, to_decimal

TYPES = {"Overpayment": ("RECEIVE-OVERPAYMENT", "SPEND-OVERPAYMENT"),
         "Prepayment": ("RECEIVE-PREPAYMENT", "SPEND-PREPAYMENT")}
ID_KEYS = {"Overpayment": "OverpaymentID", "Prepayment": "PrepaymentID"}
SORTABLE = {"date", "updateddateutc", "total", "status", "type", "reference", "remainingcredit", "contact.name",
            "invoicenumber"}


def store(org: Org, kind: str) -> dict[str, dict[str, Any]]:
    return org.overpayments if kind == "Overpayment" else org.prepayments


def create_advance(org: Org, kind: str, body: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """A RECEIVE- (default) or SPEND- overpayment or prepayment as a Xero user records one: ``body`` is {ContactID,
    Amount (the total received or spent), Date?, Reference?, Type?, and for a prepayment AccountCode? (200 / 429)
    and TaxType? (the account's default)}. Raises ElementError (or ValueError for a malformed Amount or Date)."""
    contact = org.contacts.get(str(body.get("ContactID") or "").lower())
    if contact is None:
        raise ElementError([f"The contact with ContactID {body.get('ContactID')} could not be found."])
    receive, spend = TYPES[kind]
    doc_type = str(body.get("Type") or receive).upper()
    if doc_type not in (receive, spend):
        raise ElementError([f"Type must be {receive} or {spend}"])
    value = money(to_decimal(body.get("Amount"), "Amount"))
    if value <= 0:
        raise ElementError(["Amount must be greater than zero"])
    now = clock.now()
    line_type = "ACCREC" if doc_type == receive else "ACCPAY"
    reference = body.get("Reference")
    if kind == "Overpayment":
        lat = "NoTax"
        lines = [{"LineItemID": str(uuid.uuid4()), "Description": reference or "Overpayment", "Quantity": Decimal(1),
                  "UnitAmount": value, "AccountCode": "610" if line_type == "ACCREC" else "800", "TaxType": "NONE",
                  "TaxAmount": Decimal("0.00"), "LineAmount": value, "Tracking": []}]
    else:
        lat = "Inclusive"
        errors: list[str] = []
        lines = build_lines(org, [{"Description": reference or "Prepayment", "Quantity": 1, "UnitAmount": str(value),
                                   "AccountCode": body.get("AccountCode") or ("200" if line_type == "ACCREC"
                                                                              else "429"),
                                   "TaxType": body.get("TaxType")}], line_type, lat, 2, errors)
        if errors:
            raise ElementError(errors)
    doc: dict[str, Any] = {
        ID_KEYS[kind]: str(uuid.uuid4()), "Type": doc_type, "ContactID": contact["ContactID"],
        "Date": parse_date_in(body.get("Date")) or now.date(), "Status": "AUTHORISED", "LineAmountTypes": lat,
        "LineItems": lines, "CurrencyCode": "AUD", "CurrencyRate": Decimal(1), "Reference": reference,
        "UpdatedDateUTC": now, "AllocationIDs": [], "FullyPaidOnDate": None,
    }
    line_totals(doc)
    doc["RemainingCredit"] = doc["Total"]
    if kind == "Overpayment":
        doc["PaymentID"] = str(uuid.uuid4())
    elif doc_type == receive:
        doc["InvoiceNumber"] = doc["Reference"] = org.invoice_numbers.issue()
        org.invoice_numbers.move(doc["PrepaymentID"], None, doc["InvoiceNumber"])
    else:
        doc["Reference"] = None
    store(org, kind)[doc[ID_KEYS[kind]]] = doc
    return doc


def render_advance(org: Org, kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    """An overpayment or prepayment as GET /Overpayments or /Prepayments returns it (the spec examples' order)."""
    contact = org.contacts.get(doc["ContactID"])
    key = ID_KEYS[kind]
    out: dict[str, Any] = {key: doc[key], "ID": doc[key], "CurrencyRate": num(doc["CurrencyRate"]),
                           "Type": doc["Type"]}
    if doc.get("Reference"):
        out["Reference"] = doc["Reference"]
    if doc.get("InvoiceNumber"):
        out["InvoiceNumber"] = doc["InvoiceNumber"]
    out.update({
        "RemainingCredit": num(doc["RemainingCredit"]),
        "Allocations": [render_allocation(org, a) for a in live_allocations(org, doc)],
        "Payments": [], "HasAttachments": False,
        "Contact": {"ContactID": doc["ContactID"], "Name": contact["Name"] if contact else None},
        "DateString": iso_string(doc["Date"]), "Date": ms_date(doc["Date"]), "Status": doc["Status"],
        "LineAmountTypes": doc["LineAmountTypes"], "LineItems": [render_line(ln) for ln in doc["LineItems"]],
        "SubTotal": num(doc["SubTotal"]), "TotalTax": num(doc["TotalTax"]), "Total": num(doc["Total"]),
        "UpdatedDateUTC": ms_date(doc["UpdatedDateUTC"]), "CurrencyCode": doc["CurrencyCode"],
    })
    if doc.get("PaymentID"):  # the receipt of an overpayment
        out["Payments"] = [{"PaymentID": doc["PaymentID"], "Date": ms_date(doc["Date"]), "Amount": num(doc["Total"]),
                            "Reference": doc.get("Reference") or "", "CurrencyRate": 1.0, "HasAccount": False,
                            "HasValidationErrors": False}]
    return out


def advance_view(org: Org, doc: dict[str, Any]) -> dict[str, Any]:
    """What ``where`` sees: native values plus the contact under ``Contact``."""
    contact = org.contacts.get(doc["ContactID"], {})
    return {**doc, "Contact": {"ContactID": doc["ContactID"], "Name": contact.get("Name")}}
