"""Credit notes (ACCRECCREDIT for customers, ACCPAYCREDIT from suppliers), the documents ConnectWise credit memos
become in Xero.

Everything a credit note shares with an invoice -- the DRAFT/SUBMITTED/AUTHORISED lifecycle, dates and lock dates,
line items with their tax, rounding and totals, contact resolution -- is xero_accounting.py's code, called here, so
the two cannot drift apart. What is a credit note's own:

- ``CreditNoteNumber``: for ACCRECCREDIT unique among live sales credit notes and issued as CN-0001... when absent
  ("ACCRECCREDIT – Unique alpha numeric code identifying credit note (when missing will auto-generate from your
  Organisation Invoice Settings)", the CreditNote schema); an ACCPAYCREDIT keeps whatever the supplier's number is,
  duplicates included, as ACCPAY bills do. The number space is the credit notes' own (not published; chosen: CN-
  numbers and INV- numbers do not clash with each other).
- ``RemainingCredit``: the Total until allocations (xero_allocations.py) or cash refunds (a Payment against the
  credit note, PaymentType ARCREDITPAYMENT / APCREDITPAYMENT, xero_payments.py) use it up; at 0 the credit note is
  PAID. Once any of it is used the credit note can no longer be changed or voided, with the message Xero gives for
  that (waynerobinson/xeroizer#211, on a credit note with an allocation).
- ``Allocations`` in a credit note body are ignored: "The allocation cannot be applied at the same time the Credit
  Note is created by the API" (Xero support, quoted in waynerobinson/xeroizer#196); PUT .../Allocations does it.
- Look-ups by CreditNoteID or CreditNoteNumber (``GET /CreditNotes/CN-0001``: "Xero accepts both",
  freakboy3742/pyxero#131; the spec types the path parameter as a uuid, as it does InvoiceID, which also takes a
  number).

Not published; chosen, in the words of the invoice messages the simulator already uses: "Credit Note not of valid
status for creation|modification", "Credit Note # must be unique.", "Credit Note Type must be specified.",
"The Type of an existing credit note cannot be changed."; "An existing Credit Note with the specified CreditNoteID
could not be found" is the spec's own example message.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from cz_sandbox.xero_accounting import (
    ElementError,
    Org,
    apply_document_body,
    apply_status,
    commit_contact,
    contact_summary,
    payment_summary,
    render_line,
)
from cz_sandbox.xero_allocations import live_allocations, render_allocation
from cz_sandbox.xero_formats import ZERO_ID, Clock, iso_string, ms_date, num
from cz_sandbox.xero_numbering import DEAD_STATUSES

# Credit note type -> the invoice type whose tax and account rules its lines follow (and which it settles).
CREDIT_TYPES = {"ACCRECCREDIT": "ACCREC", "ACCPAYCREDIT": "ACCPAY"}
NOT_FOUND = "An existing Credit Note with the specified CreditNoteID could not be found"
SORTABLE = {"creditnotenumber", "updateddateutc", "date", "duedate", "creditnoteid", "total", "remainingcredit",
            "reference", "status", "type", "contact.name"}


def find_credit_note(org: Org, key: str) -> dict[str, Any] | None:
    """By CreditNoteID, or by CreditNoteNumber (a live credit note first)."""
    doc = org.credit_notes.get(key.lower())
    if doc is not None:
        return doc
    found = org.credit_note_numbers.docs(key, org.credit_notes)
    return found[0] if found else None


def is_settled(doc: dict[str, Any]) -> bool:
    """Some of its credit is used (allocated or refunded): from then on it is frozen."""
    return doc["RemainingCredit"] < doc["Total"]


def save_credit_note(org: Org, element: Any, create_only: bool, unitdp: int, clock: Clock) -> dict[str, Any]:
    """Validate and commit one credit note element; raises ElementError (with a candidate for the echo)."""
    if not isinstance(element, dict):
        raise ElementError(["A credit note must be a JSON object."])
    errors: list[str] = []
    existing = None
    cn_id = element.get("CreditNoteID")
    if cn_id and cn_id != ZERO_ID:
        existing = org.credit_notes.get(str(cn_id).lower())
        if existing is None:
            raise ElementError([NOT_FOUND])
        if create_only:
            raise ElementError([f"A credit note with CreditNoteID {cn_id} already exists; use POST to update it."])
    elif not create_only and element.get("CreditNoteNumber") and element.get("Type") == "ACCRECCREDIT":
        existing = next(iter(org.credit_note_numbers.live(str(element["CreditNoteNumber"]), org.credit_notes,
                                                          "ACCRECCREDIT")), None)
    doc: dict[str, Any] = dict(existing) if existing else {
        "CreditNoteID": str(uuid.uuid4()), "Type": None, "CreditNoteNumber": None, "Reference": None,
        "ContactID": None, "Date": None, "DueDate": None, "Status": "DRAFT", "LineAmountTypes": "Exclusive",
        "LineItems": [], "CurrencyCode": "AUD", "CurrencyRate": Decimal(1), "SentToContact": False,
        "AllocationIDs": [], "PaymentIDs": [], "FullyPaidOnDate": None,
    }
    for key in ("Type", "CreditNoteNumber", "Reference", "BrandingThemeID"):
        if key in element and element[key] is not None:
            doc[key] = element[key]
    if existing and element.get("Type") and element["Type"] != existing["Type"]:
        errors.append("The Type of an existing credit note cannot be changed.")
    if doc["Type"] not in CREDIT_TYPES:
        errors.append("Credit Note Type must be specified." if not doc["Type"]
                      else f"Credit Note Type '{doc['Type']}' is not valid.")
    line_type = CREDIT_TYPES.get(doc["Type"] or "", "ACCREC")
    apply_status(doc, element, existing, "Credit Note", existing is not None and is_settled(existing), errors)
    new_contact_name = apply_document_body(org, doc, element, existing, line_type, unitdp, errors)
    doc["RemainingCredit"] = doc["Total"]  # nothing is used yet: a used credit note cannot get here
    number = doc.get("CreditNoteNumber")
    if number is not None and len(str(number)) > 255:
        errors.append("Credit Note number must be 255 characters or less.")
    if doc["Type"] == "ACCRECCREDIT" and number and doc["Status"] not in DEAD_STATUSES and any(
            c["CreditNoteID"] != doc["CreditNoteID"] for c in org.credit_note_numbers.live(
                str(number), org.credit_notes, "ACCRECCREDIT")):
        errors.append("Credit Note # must be unique.")
    if doc.get("Reference") is not None and len(str(doc["Reference"])) > 255:
        errors.append("Reference must be 255 characters or less.")
    if errors:
        err = ElementError(errors)
        err.candidate = doc  # type: ignore[attr-defined]
        raise err
    now = clock.now()
    commit_contact(org, doc, new_contact_name, line_type, now)
    if doc["Type"] == "ACCRECCREDIT" and not doc.get("CreditNoteNumber"):
        doc["CreditNoteNumber"] = org.credit_note_numbers.issue()
    doc["UpdatedDateUTC"] = now
    org.credit_notes[doc["CreditNoteID"]] = doc
    org.credit_note_numbers.move(doc["CreditNoteID"], existing.get("CreditNoteNumber") if existing else None,
                                 doc.get("CreditNoteNumber"))
    return doc


def render_credit_note(org: Org, doc: dict[str, Any]) -> dict[str, Any]:
    """A credit note as GET /CreditNotes returns it, in the order and with the companions (ID, DateString) of the
    spec's examples: its live allocations with their AllocationIDs, its refund payments, RemainingCredit."""
    out: dict[str, Any] = {
        "CreditNoteID": doc["CreditNoteID"], "CreditNoteNumber": doc.get("CreditNoteNumber") or "",
        "Payments": [payment_summary(org.payments[p]) for p in doc.get("PaymentIDs", [])
                     if p in org.payments and org.payments[p]["Status"] == "AUTHORISED"],
        "ID": doc["CreditNoteID"], "CurrencyRate": num(doc.get("CurrencyRate")), "Type": doc["Type"],
        "Reference": doc.get("Reference") or "", "RemainingCredit": num(doc.get("RemainingCredit")),
        "Allocations": [render_allocation(org, a) for a in live_allocations(org, doc)],
        "HasAttachments": False, "HasErrors": False, "Contact": contact_summary(org, doc),
    }
    if doc.get("Date") is not None:
        out["DateString"] = iso_string(doc["Date"])
        out["Date"] = ms_date(doc["Date"])
    if doc.get("DueDate") is not None:
        out["DueDateString"] = iso_string(doc["DueDate"])
        out["DueDate"] = ms_date(doc["DueDate"])
    out.update({
        "Status": doc["Status"], "LineAmountTypes": doc["LineAmountTypes"],
        "LineItems": [render_line(ln) for ln in doc.get("LineItems", [])],
        "SubTotal": num(doc.get("SubTotal")), "TotalTax": num(doc.get("TotalTax")), "Total": num(doc.get("Total")),
    })
    if doc.get("FullyPaidOnDate") is not None:
        out["FullyPaidOnDate"] = ms_date(doc["FullyPaidOnDate"])
    if doc.get("UpdatedDateUTC") is not None:
        out["UpdatedDateUTC"] = ms_date(doc["UpdatedDateUTC"])
    out["CurrencyCode"] = doc.get("CurrencyCode") or "AUD"
    out["SentToContact"] = bool(doc.get("SentToContact"))
    return out


def failed_credit_note(org: Org, element: Any, messages: list[str], candidate: dict[str, Any] | None
                       ) -> dict[str, Any]:
    """The echo of a refused element: all-zero id unless it named one, HasErrors and its ValidationErrors."""
    if candidate is not None and candidate.get("Type") is not None:
        out = render_credit_note(org, candidate)
        out.pop("UpdatedDateUTC", None)
        if not (isinstance(element, dict) and element.get("CreditNoteNumber")):
            out["CreditNoteNumber"] = ""
    else:
        out = {k: v for k, v in element.items() if k in ("Type", "CreditNoteNumber", "Reference", "Status")} \
            if isinstance(element, dict) else {}
    if not (isinstance(element, dict) and element.get("CreditNoteID")):
        out["CreditNoteID"] = ZERO_ID
        out.pop("ID", None)
    out["HasErrors"] = True
    out["ValidationErrors"] = [{"Message": m} for m in messages]
    return out
