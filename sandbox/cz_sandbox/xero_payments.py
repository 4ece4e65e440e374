"""Payments (and admin-made overpayments) against invoices and bills, with Xero's allocation rules.

A payment is what moves an invoice from AUTHORISED to PAID, so it is the one write here that changes another
document: applying it adds to the invoice's AmountPaid, lowers AmountDue, sets FullyPaidOnDate and bumps the
invoice's UpdatedDateUTC (which is how a poller using If-Modified-Since on /Invoices sees the change); deleting
(reversing) it undoes all of that. The product pulls these to close out ConnectWise invoices, so both directions
and partial payments must add up exactly.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cz_sandbox.xero_accounting import (
    ElementError,
    Org,
    find_invoice,
    render_contact,
    settle_invoice,
)
from cz_sandbox.xero_formats import ZERO_ID, Clock, iso_string, money, ms_date, num, parse_date_in, to_decimal

PAYMENT_TYPES = {"ACCREC": "ACCRECPAYMENT", "ACCPAY": "ACCPAYPAYMENT"}
OVERPAID = "Payment amount exceeds the amount outstanding on this document"


def payment_account(org: Org, raw: Any) -> dict[str, Any] | None:
    """The account a payment is made to or from: by AccountID or Code."""
    if not isinstance(raw, dict):
        return None
    if raw.get("AccountID"):
        return next((a for a in org.accounts.values() if a["AccountID"] == str(raw["AccountID"]).lower()), None)
    if raw.get("Code") not in (None, ""):
        return org.accounts.get(str(raw["Code"]))
    return None


def create_payment(org: Org, element: Any, clock: Clock) -> dict[str, Any]:
    """Validate and apply one payment to its invoice; raises ElementError (with a candidate for the echo)."""
    if not isinstance(element, dict):
        raise ElementError(["A payment must be a JSON object."])
    errors: list[str] = []
    raw_invoice = element.get("Invoice") if isinstance(element.get("Invoice"), dict) else {}
    key = raw_invoice.get("InvoiceID") or raw_invoice.get("InvoiceNumber") or element.get("InvoiceNumber")
    invoice = find_invoice(org, str(key)) if key else None
    if not key:
        errors.append("You must specify either an Invoice, CreditNote, Prepayment or Overpayment for the payment")
    elif invoice is None:
        errors.append("Invoice could not be found")
    elif invoice["Status"] != "AUTHORISED":
        errors.append("Payment cannot be created against a document that is not in AUTHORISED status"
                      if invoice["Status"] != "PAID" else OVERPAID)
    account = payment_account(org, element.get("Account"))
    if element.get("Account") in (None, {}):
        errors.append("An Account must be specified for the payment")
    elif account is None or account["Status"] != "ACTIVE":
        errors.append("Account could not be found")
    elif account["Type"] != "BANK" and not account.get("EnablePaymentsToAccount"):
        errors.append("Payments can only be made to or from bank accounts or accounts with "
                      "'Enable payments to this account' selected")
    amount = Decimal("0.00")
    try:
        amount = money(to_decimal(element.get("Amount"), "Amount")) if element.get("Amount") is not None \
            else Decimal("0.00")
    except ValueError as exc:
        errors.append(str(exc))
    if amount <= 0:
        errors.append("Payment amount must be greater than zero")
    elif invoice is not None and invoice["Status"] == "AUTHORISED" and amount > invoice["AmountDue"]:
        errors.append(OVERPAID)
    try:
        pay_date = parse_date_in(element.get("Date")) or datetime.now(UTC).date()
    except ValueError as exc:
        errors.append(str(exc))
        pay_date = datetime.now(UTC).date()
    rate = Decimal(1)
    if element.get("CurrencyRate") is not None:
        try:
            rate = to_decimal(element["CurrencyRate"], "CurrencyRate")
        except ValueError as exc:
            errors.append(str(exc))
    candidate = {
        "PaymentID": ZERO_ID, "InvoiceID": invoice["InvoiceID"] if invoice else None, "Date": pay_date,
        "Amount": amount, "Reference": element.get("Reference"), "CurrencyRate": rate, "Status": "AUTHORISED",
        "IsReconciled": bool(element.get("IsReconciled")), "AccountCode": account["Code"] if account else None,
        "PaymentType": PAYMENT_TYPES.get(invoice["Type"] if invoice else "", "ACCRECPAYMENT"),
        "UpdatedDateUTC": None, "_echo": element,
    }
    if errors:
        err = ElementError(errors)
        err.candidate = candidate  # type: ignore[attr-defined]
        raise err
    now = clock.now()
    candidate.pop("_echo")
    candidate.update(PaymentID=str(uuid.uuid4()), UpdatedDateUTC=now)
    org.payments[candidate["PaymentID"]] = candidate
    _apply(invoice, candidate, +1, now)
    return candidate


def _apply(invoice: dict[str, Any], payment: dict[str, Any], sign: int, now: datetime) -> None:
    invoice["AmountPaid"] = invoice.get("AmountPaid", Decimal("0.00")) + sign * payment["Amount"]
    ids = list(invoice.get("PaymentIDs", []))
    if sign > 0:
        ids.append(payment["PaymentID"])
    invoice["PaymentIDs"] = ids
    settle_invoice(invoice, payment["Date"], now)


def delete_payment(org: Org, payment_id: str, clock: Clock) -> dict[str, Any]:
    """Reverse a payment: Status DELETED, the invoice gets the amount back (PAID -> AUTHORISED)."""
    payment = org.payments.get(str(payment_id).lower())
    if payment is None:
        raise KeyError(payment_id)
    if payment["Status"] == "DELETED":
        raise ElementError(["Payment has already been deleted"])
    now = clock.now()
    payment["Status"] = "DELETED"
    payment["UpdatedDateUTC"] = now
    invoice = org.invoices.get(payment["InvoiceID"])
    if invoice is not None:
        _apply(invoice, payment, -1, now)
    return payment


def payment_view(org: Org, payment: dict[str, Any]) -> dict[str, Any]:
    """What ``where`` sees: native values with Invoice/Account sub-objects."""
    invoice = org.invoices.get(payment.get("InvoiceID") or "", {})
    contact = org.contacts.get(invoice.get("ContactID") or "", {})
    account = org.accounts.get(payment.get("AccountCode") or "", {})
    return {**payment, "Invoice": {"InvoiceID": invoice.get("InvoiceID"), "InvoiceNumber": invoice.get("InvoiceNumber"),
                                   "Type": invoice.get("Type"),
                                   "Contact": {"ContactID": contact.get("ContactID"), "Name": contact.get("Name")}},
            "Account": {"AccountID": account.get("AccountID"), "Code": account.get("Code")}}


def render_payment(org: Org, payment: dict[str, Any]) -> dict[str, Any]:
    """A payment as GET /Payments returns it (MS dates, the invoice summarised with its contact)."""
    out: dict[str, Any] = {"PaymentID": payment["PaymentID"]}
    if payment.get("Date") is not None:
        out["Date"] = ms_date(payment["Date"])
    out.update({"BankAmount": num(payment["Amount"]), "Amount": num(payment["Amount"]),
                "Reference": payment.get("Reference") or "", "CurrencyRate": num(payment["CurrencyRate"]),
                "PaymentType": payment["PaymentType"], "Status": payment["Status"],
                "IsReconciled": bool(payment.get("IsReconciled")), "HasAccount": True, "HasValidationErrors": False})
    if payment.get("UpdatedDateUTC") is not None:
        out["UpdatedDateUTC"] = ms_date(payment["UpdatedDateUTC"])
    account = org.accounts.get(payment.get("AccountCode") or "")
    if account is not None:
        out["Account"] = {"AccountID": account["AccountID"], "Code": account["Code"]}
    invoice = org.invoices.get(payment.get("InvoiceID") or "")
    if invoice is not None:
        summary: dict[str, Any] = {"Type": invoice["Type"], "InvoiceID": invoice["InvoiceID"]}
        if invoice.get("InvoiceNumber"):
            summary["InvoiceNumber"] = invoice["InvoiceNumber"]
        contact = org.contacts.get(invoice.get("ContactID") or "")
        if contact is not None:
            summary["Contact"] = {k: v for k, v in render_contact(contact, summary=True).items()
                                  if k in ("ContactID", "Name", "ContactNumber", "EmailAddress")}
        summary.update({"Payments": [], "CreditNotes": [], "Prepayments": [], "Overpayments": [],
                        "IsDiscounted": False, "HasErrors": False, "CurrencyCode": invoice.get("CurrencyCode") or "AUD",
                        "LineItems": []})
        out["Invoice"] = summary
    return out


def failed_payment(org: Org, element: Any, messages: list[str], candidate: dict[str, Any] | None) -> dict[str, Any]:
    """The echo of a rejected payment: all-zero id, HasValidationErrors and the messages."""
    if candidate is not None:
        out = render_payment(org, {**candidate, "UpdatedDateUTC": None})
        out.pop("UpdatedDateUTC", None)
        if "Invoice" not in out and isinstance(element, dict) and isinstance(element.get("Invoice"), dict):
            out["Invoice"] = {k: v for k, v in element["Invoice"].items() if k in ("InvoiceID", "InvoiceNumber")}
    else:
        out = {"PaymentID": ZERO_ID}
    out["PaymentID"] = ZERO_ID
    out["HasValidationErrors"] = True
    out["ValidationErrors"] = [{"Message": m} for m in messages]
    return out


# ---------------------------------------------------------------- overpayments (admin-made)

def create_overpayment(org: Org, contact_id: str, amount: Any, when: Any, clock: Clock,
                       reference: str | None = None) -> dict[str, Any]:
    """A RECEIVE-OVERPAYMENT as a Xero user records one (money received with no invoice to apply it to)."""
    contact = org.contacts.get(str(contact_id).lower())
    if contact is None:
        raise ElementError([f"The contact with ContactID {contact_id} could not be found."])
    value = money(to_decimal(amount, "Amount"))
    if value <= 0:
        raise ElementError(["Amount must be greater than zero"])
    now = clock.now()
    doc = {"OverpaymentID": str(uuid.uuid4()), "Type": "RECEIVE-OVERPAYMENT", "ContactID": contact["ContactID"],
           "Date": parse_date_in(when) or now.date(), "Status": "AUTHORISED", "Total": value,
           "RemainingCredit": value, "Reference": reference, "UpdatedDateUTC": now,
           "PaymentID": str(uuid.uuid4())}
    org.overpayments[doc["OverpaymentID"]] = doc
    return doc


def render_overpayment(org: Org, doc: dict[str, Any]) -> dict[str, Any]:
    contact = org.contacts.get(doc["ContactID"])
    total = num(doc["Total"])
    out: dict[str, Any] = {
        "OverpaymentID": doc["OverpaymentID"], "ID": doc["OverpaymentID"], "Type": doc["Type"],
        "Contact": {"ContactID": doc["ContactID"], "Name": contact["Name"] if contact else None},
        "DateString": iso_string(doc["Date"]), "Date": ms_date(doc["Date"]), "Status": doc["Status"],
        "LineAmountTypes": "NoTax",
        "LineItems": [{"Description": doc.get("Reference") or "Overpayment", "UnitAmount": total, "TaxType": "NONE",
                       "TaxAmount": 0.0, "LineAmount": total, "AccountCode": "610", "Quantity": 1.0}],
        "SubTotal": total, "TotalTax": 0.0, "Total": total, "UpdatedDateUTC": ms_date(doc["UpdatedDateUTC"]),
        "CurrencyCode": "AUD", "CurrencyRate": 1.0, "RemainingCredit": num(doc["RemainingCredit"]),
        "Allocations": [], "HasAttachments": False,
        "Payments": [{"PaymentID": doc["PaymentID"], "Date": ms_date(doc["Date"]), "Amount": total,
                      "Reference": doc.get("Reference") or "", "CurrencyRate": 1.0, "HasAccount": False,
                      "HasValidationErrors": False}],
    }
    if doc.get("Reference"):
        out["Reference"] = doc["Reference"]
    return out


def overpayment_view(org: Org, doc: dict[str, Any]) -> dict[str, Any]:
    contact = org.contacts.get(doc["ContactID"], {})
    return {**doc, "Contact": {"ContactID": doc["ContactID"], "Name": contact.get("Name")}}
