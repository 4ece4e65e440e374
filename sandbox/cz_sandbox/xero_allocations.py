"""Allocations: a credit note, overpayment or prepayment applied to an invoice or bill (a settlement without cash).

``PUT /{CreditNotes|Overpayments|Prepayments}/{id}/Allocations`` takes ``{"Allocations": [{"Amount", "Date",
"Invoice": {"InvoiceID"}}]}`` (xero_accounting.yaml, the Allocation schema: Amount, Invoice and Date required) and
``DELETE .../Allocations/{AllocationID}`` reverses one. Applying one moves two documents at once, which is the point
of keeping it in one place: the invoice's AmountCredited rises and its AmountDue falls ("AmountCredited: Sum of all
credit notes, over-payments and pre-payments applied to invoice"; AmountPaid stays the sum of cash payments), the
source's RemainingCredit falls, and each becomes PAID when nothing is left (back to AUTHORISED on a reversal).
Both get a new UpdatedDateUTC, so a poller with If-Modified-Since sees either side move.

Validation messages. Seen from the real API (third-party captures, cited where used): "The invoice you are trying to
allocate to has already been paid off", "Credit Note cannot be allocated as amount is greater than amount
outstanding", "Credit Note cannot be allocated to an incorrect invoice t[ype]" (the capture is cut there). Not
published; chosen in the same words: the AUTHORISED, same-contact, same-currency, remaining-credit, amount and
missing-invoice messages below, and the overpayment/prepayment forms of all of them ("Overpayment cannot be ...").

Not published; chosen: several allocations in one PUT are applied element by element like any Xero batch (the spec
gives an array and summarizeErrors); a missing Date is the later of the two documents' dates; an allocation dated in
a locked period is refused, and so is deleting one; a deleted allocation is gone (404, and no longer listed).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from cz_sandbox.xero_accounting import (
    ALLOCATION_SOURCES,
    ElementError,
    Org,
    find_invoice,
    locked_period_error,
    settle_invoice,
)
from cz_sandbox.xero_formats import ZERO_ID, Clock, money, ms_date, num, parse_date_in, to_decimal

LABELS = {"CreditNote": "Credit Note", "Overpayment": "Overpayment", "Prepayment": "Prepayment"}
# The invoice type each source type settles: sales credits settle sales invoices, purchase credits bills.
TARGET_TYPE = {
    "ACCRECCREDIT": "ACCREC", "ACCPAYCREDIT": "ACCPAY",
    "RECEIVE-OVERPAYMENT": "ACCREC", "SPEND-OVERPAYMENT": "ACCPAY",
    "RECEIVE-PREPAYMENT": "ACCREC", "SPEND-PREPAYMENT": "ACCPAY",
}
PAID_OFF = "The invoice you are trying to allocate to has already been paid off"


def id_key(kind: str) -> str:
    return ALLOCATION_SOURCES[kind][2]


def sources(org: Org, kind: str) -> dict[str, dict[str, Any]]:
    """The Org store of one kind of source (credit_notes, overpayments, prepayments)."""
    return getattr(org, ALLOCATION_SOURCES[kind][0])


def settle_credit(source: dict[str, Any], on_date: date, now: datetime) -> None:
    """After an allocation or a refund moved RemainingCredit: PAID (on ``on_date``) when none is left, back to
    AUTHORISED when a reversal gives some back."""
    if source["RemainingCredit"] <= 0:
        source["Status"] = "PAID"
        source["FullyPaidOnDate"] = on_date
    elif source["Status"] == "PAID":
        source["Status"] = "AUTHORISED"
        source["FullyPaidOnDate"] = None
    source["UpdatedDateUTC"] = now


def live_allocations(org: Org, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """A source's or an invoice's allocations that have not been deleted, oldest first."""
    return [org.allocations[a] for a in doc.get("AllocationIDs", [])
            if a in org.allocations and not org.allocations[a]["IsDeleted"]]


def allocate(org: Org, kind: str, source: dict[str, Any], element: Any, clock: Clock) -> dict[str, Any]:
    """Validate and apply one allocation of ``source`` (a ``kind`` document) to an invoice; raises ElementError
    with the candidate attached for the echo."""
    if not isinstance(element, dict):
        raise ElementError(["An allocation must be a JSON object."])
    label = LABELS[kind]
    errors: list[str] = []
    if source["Status"] not in ("AUTHORISED", "PAID"):
        errors.append(f"{label} must be AUTHORISED before it can be allocated")
    raw_invoice = element.get("Invoice") if isinstance(element.get("Invoice"), dict) else {}
    key = raw_invoice.get("InvoiceID") or raw_invoice.get("InvoiceNumber")
    invoice = find_invoice(org, str(key)) if key else None
    if not key:
        errors.append("An Invoice must be specified for the allocation")
    elif invoice is None:
        errors.append("Invoice could not be found")
    else:
        if invoice["Type"] != TARGET_TYPE.get(source["Type"]):
            errors.append(f"{label} cannot be allocated to an incorrect invoice type")
        if invoice["Status"] == "PAID":
            errors.append(PAID_OFF)  # waynerobinson/xeroizer#320, with the amount message below
        elif invoice["Status"] != "AUTHORISED":
            errors.append(f"{label} cannot be allocated to an invoice that is not AUTHORISED")
        if invoice.get("ContactID") != source.get("ContactID"):
            errors.append(f"{label} cannot be allocated to an invoice for a different contact")
        if (invoice.get("CurrencyCode") or "AUD") != (source.get("CurrencyCode") or "AUD"):
            errors.append(f"{label} cannot be allocated to an invoice in a different currency")
    amount = Decimal("0.00")
    try:
        amount = money(to_decimal(element.get("Amount"), "Amount")) if element.get("Amount") is not None \
            else Decimal("0.00")
    except ValueError as exc:
        errors.append(str(exc))
    if amount <= 0:
        errors.append("Allocation amount must be greater than zero")
    else:
        if invoice is not None and invoice["Status"] in ("AUTHORISED", "PAID") and amount > invoice["AmountDue"]:
            errors.append(f"{label} cannot be allocated as amount is greater than amount outstanding")
        if amount > source["RemainingCredit"]:
            errors.append(f"{label} cannot be allocated as amount is greater than the remaining credit")
    on_date = None
    try:
        on_date = parse_date_in(element.get("Date"))
    except ValueError as exc:
        errors.append(str(exc))
    if on_date is None:
        on_date = max(source["Date"], invoice["Date"]) if invoice is not None else source["Date"]
    lock_error = locked_period_error(org, on_date, "AUTHORISED")
    if lock_error:
        errors.append(lock_error)
    candidate = {"AllocationID": ZERO_ID, "Source": kind, "SourceID": source[id_key(kind)],
                 "InvoiceID": invoice["InvoiceID"] if invoice else (key or ZERO_ID), "Amount": amount,
                 "Date": on_date, "IsDeleted": False, "UpdatedDateUTC": None}
    if errors:
        err = ElementError(errors)
        err.candidate = candidate  # type: ignore[attr-defined]
        raise err
    now = clock.now()
    candidate.update(AllocationID=str(uuid.uuid4()), UpdatedDateUTC=now)
    org.allocations[candidate["AllocationID"]] = candidate
    source.setdefault("AllocationIDs", []).append(candidate["AllocationID"])
    invoice.setdefault("AllocationIDs", []).append(candidate["AllocationID"])
    _move(invoice, source, amount, on_date, now)
    return candidate


def delete_allocation(org: Org, kind: str, source: dict[str, Any], allocation_id: str,
                      clock: Clock) -> dict[str, Any]:
    """Reverse one allocation of ``source``: the invoice owes the amount again, the source has it back as credit.
    KeyError when the source has no such (live) allocation; ElementError when its date is in a locked period."""
    allocation = org.allocations.get(allocation_id.lower())
    if (allocation is None or allocation["IsDeleted"] or allocation["Source"] != kind
            or allocation["SourceID"] != source[id_key(kind)]):
        raise KeyError(allocation_id)
    lock_error = locked_period_error(org, allocation["Date"], "AUTHORISED")
    if lock_error:
        raise ElementError([lock_error])
    now = clock.now()
    allocation["IsDeleted"] = True
    allocation["UpdatedDateUTC"] = now
    invoice = org.invoices.get(allocation["InvoiceID"])
    if invoice is not None:
        _move(invoice, source, -allocation["Amount"], allocation["Date"], now)
    return allocation


def _move(invoice: dict[str, Any], source: dict[str, Any], amount: Decimal, on_date: date, now: datetime) -> None:
    invoice["AmountCredited"] = invoice.get("AmountCredited", Decimal("0.00")) + amount
    settle_invoice(invoice, on_date, now)
    source["RemainingCredit"] = source["RemainingCredit"] - amount
    settle_credit(source, on_date, now)


# ---------------------------------------------------------------- rendering

def _invoice_stub(org: Org, allocation: dict[str, Any]) -> dict[str, Any]:
    """The invoice as Xero nests it in an allocation (the spec's examples: ids and empty lists, no amounts)."""
    invoice = org.invoices.get(allocation["InvoiceID"]) or {}
    out: dict[str, Any] = {"InvoiceID": allocation["InvoiceID"]}
    if invoice.get("InvoiceNumber"):
        out["InvoiceNumber"] = invoice["InvoiceNumber"]
    out.update({"Payments": [], "CreditNotes": [], "Prepayments": [], "Overpayments": [], "HasErrors": False,
                "IsDiscounted": False, "LineItems": []})
    return out


def render_allocation(org: Org, allocation: dict[str, Any], with_source: bool = False) -> dict[str, Any]:
    """One allocation: as a source lists it in its Allocations (``with_source`` False), or as the PUT answers it,
    naming the source as well (``"CreditNote": {"CreditNoteID", "ID", "LineItems": []}`` in the spec's example).

    AllocationID is in the Allocation schema but not in the spec's (2019) examples, which predate the DELETE that
    needs it; it is rendered wherever an allocation is, as the only way a client can learn it.
    """
    out: dict[str, Any] = {"AllocationID": allocation["AllocationID"], "Amount": num(allocation["Amount"]),
                           "Date": ms_date(allocation["Date"]), "Invoice": _invoice_stub(org, allocation)}
    if with_source:
        key = id_key(allocation["Source"])
        out[allocation["Source"]] = {key: allocation["SourceID"], "ID": allocation["SourceID"], "LineItems": []}
    return out


def failed_allocation(org: Org, element: Any, messages: list[str], candidate: dict[str, Any] | None
                      ) -> dict[str, Any]:
    """The echo of a refused allocation. It keeps Amount, Date and Invoice, which the Allocation schema requires
    and the SDK's model refuses to be without (``Invalid value for `amount`, must not be `None```)."""
    if candidate is not None:
        out = render_allocation(org, candidate, with_source=True)
        out.pop("AllocationID")
        if candidate["InvoiceID"] not in org.invoices:
            out["Invoice"] = {"InvoiceID": candidate["InvoiceID"]}
    else:
        out = {"Amount": 0.0, "Date": None, "Invoice": {"InvoiceID": ZERO_ID}}
    out["ValidationErrors"] = [{"Message": m} for m in messages]
    return out


def render_deleted(allocation: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The DELETE answer, shaped as the spec's example for all three DELETEs shows it: ``AllocationId`` (sic), the
    time of the deletion as ``/Date(ms)/``, ``Invoice`` as a one-element *list* and ``IsDeleted: true``, no Amount.

    That contradicts the spec's own Allocation schema (Invoice an object; Amount required), and the xero-python SDK,
    which parses the answer into that schema, raises ValueError after the allocation was deleted -- as it does
    against Xero (XeroAPI/xero-python#159, "Invalid value for `invoice` after deleting credit note allocation").
    The simulator keeps that trap where a client meets it in production.
    """
    return {"AllocationId": allocation["AllocationID"], "Date": f"/Date({int(now.timestamp() * 1000)})/",
            "Invoice": [{"InvoiceID": allocation["InvoiceID"]}], "IsDeleted": True}
