"""Payments against invoices and bills, and cash refunds of credit notes, with Xero's rules for them.

A payment is what moves an invoice from AUTHORISED to PAID, so it is the one write here that changes another
document: applying it adds to the invoice's AmountPaid, lowers AmountDue, sets FullyPaidOnDate and bumps the
invoice's UpdatedDateUTC (which is how a poller using If-Modified-Since on /Invoices sees the change); deleting
(reversing) it undoes all of that. The product pulls these to close out ConnectWise invoices, so both directions
and partial payments must add up exactly.

A payment with a ``CreditNote`` instead of an ``Invoice`` (the Payment schema has both, and PaymentType
ARCREDITPAYMENT / APCREDITPAYMENT) refunds a credit note in cash: it uses up RemainingCredit as an allocation does.
Not published; chosen: "Credit note could not be found" for an unknown one, and the invoice's messages otherwise.
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
from cz_sandbox.xero_allocations import settle_credit
from cz_sandbox.xero_credit_notes import find_credit_note
from cz_sandbox.xero_formats import ZERO_ID, Clock, money, ms_date, num, parse_date_in, to_decimal

PAYMENT_TYPES = {"ACCREC": "ACCRECPAYMENT", "ACCPAY": "ACCPAYPAYMENT", "ACCRECCREDIT": "ARCREDITPAYMENT",
                 "ACCPAYCREDIT": "APCREDITPAYMENT"}
OVERPAID = "Payment amount exceeds the amount outstanding on this document"
NOT_AUTHORISED = "Payment cannot be created against a document that is not in AUTHORISED status"


def payment_account(org: Org, raw: Any) -> dict[str, Any] | None:
    """The account a payment is made to or from: by AccountID or Code."""
    if not isinstance(raw, dict):
        return None
    if raw.get("AccountID"):
        return next((a for a in org.accounts.values() if a["AccountID"] == str(raw["AccountID"]).lower()), None)
    if raw.get("Code") not in (None, ""):
        return org.accounts.get(str(raw["Code"]))
    return None


def _target(org: Org, element: dict[str, Any], errors: list[str]
            ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(invoice, credit note) the payment is for: an Invoice by InvoiceID or InvoiceNumber, or a CreditNote (a cash
    refund of its credit) by CreditNoteID or CreditNoteNumber; the document must be AUTHORISED."""
    raw_invoice = element.get("Invoice") if isinstance(element.get("Invoice"), dict) else {}
    raw_credit = element.get("CreditNote") if isinstance(element.get("CreditNote"), dict) else {}
    key = raw_invoice.get("InvoiceID") or raw_invoice.get("InvoiceNumber") or element.get("InvoiceNumber")
    credit_key = raw_credit.get("CreditNoteID") or raw_credit.get("CreditNoteNumber") or \
        element.get("CreditNoteNumber")
    if key:
        invoice = find_invoice(org, str(key))
        if invoice is None:
            errors.append("Invoice could not be found")
        elif invoice["Status"] != "AUTHORISED":
            errors.append(NOT_AUTHORISED if invoice["Status"] != "PAID" else OVERPAID)
        return invoice, None
    if credit_key:
        credit = find_credit_note(org, str(credit_key))
        if credit is None:
            errors.append("Credit note could not be found")
        elif credit["Status"] != "AUTHORISED":
            errors.append(NOT_AUTHORISED if credit["Status"] != "PAID" else OVERPAID)
        return None, credit
    errors.append("You must specify either an Invoice, CreditNote, Prepayment or Overpayment for the payment")
    return None, None


def create_payment(org: Org, element: Any, clock: Clock) -> dict[str, Any]:
    """Validate and apply one payment to its invoice, or as a cash refund to its credit note; raises ElementError
    (with a candidate for the echo)."""
    if not isinstance(element, dict):
        raise ElementError(["A payment must be a JSON object."])
    errors: list[str] = []
    invoice, credit = _target(org, element, errors)
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
    else:
        target = invoice or credit
        outstanding = "AmountDue" if invoice is not None else "RemainingCredit"
        if target is not None and target["Status"] == "AUTHORISED" and amount > target[outstanding]:
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
    doc_type = invoice["Type"] if invoice else credit["Type"] if credit else ""
    candidate = {
        "PaymentID": ZERO_ID, "InvoiceID": invoice["InvoiceID"] if invoice else None,
        "CreditNoteID": credit["CreditNoteID"] if credit else None, "Date": pay_date,
        "Amount": amount, "Reference": element.get("Reference"), "CurrencyRate": rate, "Status": "AUTHORISED",
        "IsReconciled": bool(element.get("IsReconciled")), "AccountCode": account["Code"] if account else None,
        "PaymentType": PAYMENT_TYPES.get(doc_type, "ACCRECPAYMENT"), "UpdatedDateUTC": None, "_echo": element,
    }
    if errors:
        err = ElementError(errors)
        err.candidate = candidate  # type: ignore[attr-defined]
        raise err
    now = clock.now()
    candidate.pop("_echo")
    candidate.update(PaymentID=str(uuid.uuid4()), UpdatedDateUTC=now)
    org.payments[candidate["PaymentID"]] = candidate
    if invoice is not None:
        _apply(invoice, candidate, +1, now)
    else:
        _refund(credit, candidate, +1, now)
    return candidate


def _apply(invoice: dict[str, Any], payment: dict[str, Any], sign: int, now: datetime) -> None:
    invoice["AmountPaid"] = invoice.get("AmountPaid", Decimal("0.00")) + sign * payment["Amount"]
    ids = list(invoice.get("PaymentIDs", []))
    if sign > 0:
        ids.append(payment["PaymentID"])
    invoice["PaymentIDs"] = ids
    settle_invoice(invoice, payment["Date"], now)


def _refund(credit: dict[str, Any], payment: dict[str, Any], sign: int, now: datetime) -> None:
    """A cash refund uses up credit as an allocation does (PAID at 0), and its reversal gives it back."""
    credit["RemainingCredit"] = credit["RemainingCredit"] - sign * payment["Amount"]
    if sign > 0:
        credit["PaymentIDs"] = [*credit.get("PaymentIDs", []), payment["PaymentID"]]
    settle_credit(credit, payment["Date"], now)


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
    invoice = org.invoices.get(payment.get("InvoiceID") or "")
    if invoice is not None:
        _apply(invoice, payment, -1, now)
    credit = org.credit_notes.get(payment.get("CreditNoteID") or "")
    if credit is not None:
        _refund(credit, payment, -1, now)
    return payment


def payment_view(org: Org, payment: dict[str, Any]) -> dict[str, Any]:
    """What ``where`` sees: native values with Invoice/CreditNote/Account sub-objects."""
    invoice = org.invoices.get(payment.get("InvoiceID") or "", {})
    credit = org.credit_notes.get(payment.get("CreditNoteID") or "", {})
    contact = org.contacts.get(invoice.get("ContactID") or credit.get("ContactID") or "", {})
    account = org.accounts.get(payment.get("AccountCode") or "", {})
    party = {"ContactID": contact.get("ContactID"), "Name": contact.get("Name")}
    return {**payment, "Invoice": {"InvoiceID": invoice.get("InvoiceID"), "InvoiceNumber": invoice.get("InvoiceNumber"),
                                   "Type": invoice.get("Type"), "Contact": party},
            "CreditNote": {"CreditNoteID": credit.get("CreditNoteID"),
                           "CreditNoteNumber": credit.get("CreditNoteNumber"), "Type": credit.get("Type"),
                           "Contact": party},
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
        summary.update(_party(org, invoice))
        summary.update({"Payments": [], "CreditNotes": [], "Prepayments": [], "Overpayments": [],
                        "IsDiscounted": False, "HasErrors": False, "CurrencyCode": invoice.get("CurrencyCode") or "AUD",
                        "LineItems": []})
        out["Invoice"] = summary
    credit = org.credit_notes.get(payment.get("CreditNoteID") or "")
    if credit is not None:
        note: dict[str, Any] = {"Type": credit["Type"], "CreditNoteID": credit["CreditNoteID"],
                                "ID": credit["CreditNoteID"]}
        if credit.get("CreditNoteNumber"):
            note["CreditNoteNumber"] = credit["CreditNoteNumber"]
        note.update(_party(org, credit))
        note.update({"CurrencyCode": credit.get("CurrencyCode") or "AUD", "LineItems": []})
        out["CreditNote"] = note
    return out


def _party(org: Org, doc: dict[str, Any]) -> dict[str, Any]:
    contact = org.contacts.get(doc.get("ContactID") or "")
    if contact is None:
        return {}
    return {"Contact": {k: v for k, v in render_contact(contact, summary=True).items()
                        if k in ("ContactID", "Name", "ContactNumber", "EmailAddress")}}


def failed_payment(org: Org, element: Any, messages: list[str], candidate: dict[str, Any] | None) -> dict[str, Any]:
    """The echo of a rejected payment: all-zero id, HasValidationErrors and the messages."""
    if candidate is not None:
        out = render_payment(org, {**candidate, "UpdatedDateUTC": None})
        out.pop("UpdatedDateUTC", None)
        if "Invoice" not in out and isinstance(element, dict) and isinstance(element.get("Invoice"), dict):
            out["Invoice"] = {k: v for k, v in element["Invoice"].items() if k in ("InvoiceID", "InvoiceNumber")}
        if "CreditNote" not in out and isinstance(element, dict) and isinstance(element.get("CreditNote"), dict):
            out["CreditNote"] = {k: v for k, v in element["CreditNote"].items()
                                 if k in ("CreditNoteID", "CreditNoteNumber")}
    else:
        out = {"PaymentID": ZERO_ID}
    out["PaymentID"] = ZERO_ID
    out["HasValidationErrors"] = True
    out["ValidationErrors"] = [{"Message": m} for m in messages]
    return out
