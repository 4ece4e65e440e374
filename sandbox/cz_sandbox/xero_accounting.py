"""Organisations and their accounting documents (invoices, bills, contacts) with Xero's validation rules.

Documents are stored with native values (date, datetime, Decimal) and rendered to Xero's JSON shape on the way
out, so the where-filter compares real dates and amounts and every output goes through one renderer. Batches are
applied element by element and each valid element is committed at once: that is how Xero behaves, and why a
summarized 400 still leaves the valid invoices of the batch created.

Credit notes are invoices with the sign turned (Xero's own Invoice.Type enum lists ACCRECCREDIT and ACCPAYCREDIT),
so the lifecycle (``apply_status``), the dates, lock dates, line items, tax, totals and contact resolution
(``apply_document_body``, ``commit_contact``) are written once here and xero_credit_notes.py calls them.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from cz_sandbox import demo
from cz_sandbox.xero_formats import (
    ZERO_ID,
    Clock,
    iso_string,
    money,
    ms_date,
    num,
    parse_date_in,
    to_decimal,
)
from cz_sandbox.xero_numbering import DEAD_STATUSES, NumberIndex

INVOICE_TYPES = ("ACCREC", "ACCPAY")
CREATE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
LINE_AMOUNT_TYPES = {"exclusive": "Exclusive", "inclusive": "Inclusive", "notax": "NoTax"}
SYSTEM_ACCOUNTS = {"610": "DEBTORS", "800": "CREDITORS"}
EXPENSE_TAX_TYPES = {"INPUT", "EXEMPTEXPENSES", "BASEXCLUDED"}
ACCOUNT_CLASS = {
    "REVENUE": "REVENUE", "SALES": "REVENUE", "OTHERINCOME": "REVENUE", "DIRECTCOSTS": "EXPENSE",
    "EXPENSE": "EXPENSE", "OVERHEADS": "EXPENSE", "BANK": "ASSET", "CURRENT": "ASSET", "CURRLIAB": "LIABILITY",
}
CURRENCIES = [{"Code": "AUD", "Description": "Australian Dollar"}, {"Code": "NZD", "Description": "New Zealand Dollar"}]
SEED_TIME = datetime(2025, 7, 1, tzinfo=UTC)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NS = uuid.UUID("6f1c2a4e-9d0b-4c55-8e1a-5a0d1ce5a000")


def stable_id(*parts: str) -> str:
    """Seeded ids stay the same across resets and restarts, so demo scripts can hard-code them."""
    return str(uuid.uuid5(_NS, "/".join(parts)))


class ElementError(Exception):
    """A validation failure of one batch element (collects several messages, as Xero lists them all)."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass
class Org:
    """One Xero organisation (tenant): reference data plus the documents the sync writes."""

    tenant_id: str
    name: str
    tax_rates: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Every invoice by InvoiceNumber, and the INV- sequence (receive prepayments take their numbers from it too).
    invoice_numbers: NumberIndex = field(default_factory=lambda: NumberIndex("INV-"))
    credit_notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    credit_note_numbers: NumberIndex = field(default_factory=lambda: NumberIndex("CN-"))
    currencies: list[dict[str, Any]] = field(default_factory=lambda: [dict(c) for c in CURRENCIES])
    tracking: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    overpayments: dict[str, dict[str, Any]] = field(default_factory=dict)
    prepayments: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Credit note, overpayment and prepayment allocations to invoices, by AllocationID (see xero_allocations.py).
    allocations: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Lock dates (Settings > Advanced > Lock dates): documents dated on or before them are refused.
    period_lock_date: date | None = None
    end_of_year_lock_date: date | None = None
    # Payroll AU state (a xero_payroll.Payroll); kept opaque here so this module does not import payroll.
    payroll: Any = None


def seed_org(tenant_id: str, name: str, slug: str | None) -> Org:
    """Reference data from demo.py and the location's pre-existing contacts; no invoices."""
    org = Org(tenant_id=tenant_id, name=name)
    for rate in demo.XERO_TAX_RATES:
        org.tax_rates[rate["TaxType"]] = {**rate, "Status": "ACTIVE"}
    for acct in [*demo.XERO_ACCOUNTS, *demo.XERO_PAYMENT_ACCOUNTS]:
        org.accounts[acct["Code"]] = {**acct, "AccountID": stable_id(tenant_id, "account", acct["Code"]),
                                      "Status": "ACTIVE"}
    companies = {c[0]: c for c in demo.COMPANIES}
    for contact_name in demo.PREEXISTING_XERO_CONTACTS.get(slug or "", []):
        _, ident, email = companies.get(contact_name, (contact_name, None, None))
        cid = stable_id(tenant_id, "contact", contact_name)
        org.contacts[cid] = new_contact_doc(cid, {"Name": contact_name, "ContactNumber": ident,
                                                   "EmailAddress": email}, SEED_TIME)
    for category in demo.XERO_TRACKING_CATEGORIES:
        tc_id = stable_id(tenant_id, "tracking", category["Name"])
        org.tracking[tc_id] = {
            "TrackingCategoryID": tc_id, "Name": category["Name"], "Status": category.get("Status", "ACTIVE"),
            "Options": [{"TrackingOptionID": stable_id(tenant_id, "tracking", category["Name"], o["Name"]),
                         "Name": o["Name"], "Status": o.get("Status", "ACTIVE")} for o in category["Options"]],
        }
    return org


# ---------------------------------------------------------------- tracking categories

def render_tracking_category(category: dict[str, Any], include_archived: bool = True) -> dict[str, Any]:
    """A category as GET /TrackingCategories returns it; archived options only with includeArchived."""
    options = [{**o, "HasValidationErrors": False, "IsDeleted": False, "IsArchived": o["Status"] == "ARCHIVED",
                "IsActive": o["Status"] == "ACTIVE"}
               for o in category["Options"] if include_archived or o["Status"] == "ACTIVE"]
    return {"Name": category["Name"], "Status": category["Status"],
            "TrackingCategoryID": category["TrackingCategoryID"], "Options": options}


def find_tracking_option(org: Org, option_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(category, option) of a TrackingOptionID, which Payroll timesheets also use as TrackingItemID."""
    lowered = str(option_id).lower()
    for category in org.tracking.values():
        for option in category["Options"]:
            if option["TrackingOptionID"] == lowered:
                return category, option
    return None


def resolve_tracking(org: Org, raw: Any, errors: list[str]) -> list[dict[str, Any]]:
    """Validate a line's Tracking: by Name/Option or by ids; at most two categories, options must be ACTIVE."""
    if raw in (None, []):
        return []
    if not isinstance(raw, list):
        errors.append("Tracking must be a list.")
        return []
    out: list[dict[str, Any]] = []
    for entry in raw:
        if not isinstance(entry, dict):
            errors.append("A tracking entry must be a JSON object.")
            continue
        cat_id, cat_name = entry.get("TrackingCategoryID"), entry.get("Name")
        category = org.tracking.get(str(cat_id).lower()) if cat_id else next(
            (c for c in org.tracking.values() if cat_name and c["Name"].lower() == str(cat_name).strip().lower()),
            None)
        if category is None or category["Status"] != "ACTIVE":
            errors.append(f"The TrackingCategory '{cat_name or cat_id}' does not exist or has been archived.")
            continue
        opt_id, opt_name = entry.get("TrackingOptionID"), entry.get("Option")
        option = next((o for o in category["Options"]
                       if (opt_id and o["TrackingOptionID"] == str(opt_id).lower())
                       or (not opt_id and opt_name and o["Name"].lower() == str(opt_name).strip().lower())), None)
        if option is None:
            errors.append(f"The TrackingOption '{opt_name or opt_id}' does not exist for TrackingCategory "
                          f"'{category['Name']}'.")
            continue
        if option["Status"] != "ACTIVE":
            errors.append(f"The TrackingOption '{option['Name']}' for TrackingCategory '{category['Name']}' "
                          "has been archived and cannot be used.")
            continue
        out.append({"Name": category["Name"], "Option": option["Name"],
                    "TrackingCategoryID": category["TrackingCategoryID"],
                    "TrackingOptionID": option["TrackingOptionID"]})
    if len(out) > 2:
        errors.append("A line item can have at most two tracking categories.")
    return out


# ---------------------------------------------------------------- contacts

def new_contact_doc(cid: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    doc = {
        "ContactID": cid, "ContactNumber": None, "AccountNumber": None, "ContactStatus": "ACTIVE", "Name": None,
        "FirstName": None, "LastName": None, "EmailAddress": None, "TaxNumber": None, "DefaultCurrency": None,
        "Addresses": [{"AddressType": "POBOX"}, {"AddressType": "STREET"}],
        "Phones": [{"PhoneType": "DEFAULT"}, {"PhoneType": "DDI"}, {"PhoneType": "FAX"}, {"PhoneType": "MOBILE"}],
        "ContactPersons": [], "IsSupplier": False, "IsCustomer": False, "UpdatedDateUTC": now,
    }
    _apply_contact_fields(doc, data)
    return doc


_CONTACT_FIELDS = ("ContactNumber", "AccountNumber", "ContactStatus", "Name", "FirstName", "LastName",
                   "EmailAddress", "TaxNumber", "DefaultCurrency", "Addresses", "Phones", "ContactPersons")


def _apply_contact_fields(doc: dict[str, Any], data: dict[str, Any]) -> None:
    for key in _CONTACT_FIELDS:
        if key in data and data[key] is not None:
            doc[key] = data[key]
    if isinstance(doc.get("Name"), str):
        doc["Name"] = doc["Name"].strip()


def render_contact(doc: dict[str, Any], summary: bool = False) -> dict[str, Any]:
    """A contact as GET /Contacts returns it (None fields left out, as Xero omits empty fields)."""
    out: dict[str, Any] = {"ContactID": doc["ContactID"]}
    for key in ("ContactNumber", "AccountNumber", "ContactStatus", "Name", "FirstName", "LastName",
                "EmailAddress", "TaxNumber", "DefaultCurrency"):
        if doc.get(key) not in (None, ""):
            out[key] = doc[key]
    if not summary:
        out["Addresses"] = doc.get("Addresses") or []
        out["Phones"] = doc.get("Phones") or []
        out["ContactPersons"] = doc.get("ContactPersons") or []
        out["ContactGroups"] = []
    out["UpdatedDateUTC"] = ms_date(doc["UpdatedDateUTC"])
    out["IsSupplier"] = bool(doc.get("IsSupplier"))
    out["IsCustomer"] = bool(doc.get("IsCustomer"))
    out["HasAttachments"] = False
    out["HasValidationErrors"] = False
    return out


def contact_view(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(doc)


def find_contact_by_name(org: Org, name: str, active_only: bool) -> dict[str, Any] | None:
    lowered = name.strip().lower()
    matches = [c for c in org.contacts.values() if (c.get("Name") or "").lower() == lowered]
    if active_only:
        matches = [c for c in matches if c["ContactStatus"] == "ACTIVE"]
    matches.sort(key=lambda c: c["ContactStatus"] != "ACTIVE")
    return matches[0] if matches else None


def validate_contact(org: Org, doc: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    name = doc.get("Name")
    if not isinstance(name, str) or not name.strip():
        errors.append("The contact name must be specified.")
    elif len(name) > 255:
        errors.append("The contact name must be 255 characters or less.")
    elif doc["ContactStatus"] == "ACTIVE":
        clash = find_contact_by_name(org, name, active_only=True)
        if clash is not None and clash["ContactID"] != doc["ContactID"]:
            errors.append(f"The contact name {name} is already assigned to another contact. "
                          "The contact name must be unique across all active contacts.")
    if doc["ContactStatus"] not in ("ACTIVE", "ARCHIVED", "GDPRREQUEST"):
        errors.append(f"ContactStatus '{doc['ContactStatus']}' is not valid.")
    email = doc.get("EmailAddress")
    if email not in (None, "") and (not isinstance(email, str) or not _EMAIL_RE.match(email)):
        errors.append("Email address must be valid.")
    if doc.get("ContactNumber") and len(str(doc["ContactNumber"])) > 50:
        errors.append("The Contact Number must be 50 characters or less.")
    return errors


def save_contact(org: Org, element: dict[str, Any], create_only: bool, clock: Clock) -> dict[str, Any]:
    """Create or update one contact; raises ElementError with the element's candidate attached."""
    if not isinstance(element, dict):
        raise ElementError(["A contact must be a JSON object."])
    existing = None
    cid = element.get("ContactID")
    if cid and cid != ZERO_ID:
        existing = org.contacts.get(str(cid).lower())
        if existing is None:
            raise ElementError([f"The contact with ContactID {cid} could not be found."])
        if create_only:
            raise ElementError([f"A contact with ContactID {cid} already exists."])
    elif not create_only and element.get("ContactNumber"):
        existing = next((c for c in org.contacts.values()
                         if c.get("ContactNumber") == element["ContactNumber"]), None)
    now = clock.now()
    if existing is None:
        candidate = new_contact_doc(str(uuid.uuid4()), element, now)
    else:
        candidate = {**existing, "UpdatedDateUTC": now}
        _apply_contact_fields(candidate, element)
    errors = validate_contact(org, candidate)
    if errors:
        err = ElementError(errors)
        err.candidate = candidate  # type: ignore[attr-defined]
        raise err
    org.contacts[candidate["ContactID"]] = candidate
    return candidate


def failed_contact(element: Any, messages: list[str], candidate: dict[str, Any] | None) -> dict[str, Any]:
    out = render_contact(candidate) if candidate else {"Name": element.get("Name") if isinstance(element, dict)
                                                       else None}
    out.pop("UpdatedDateUTC", None) if not candidate else None
    out["ContactID"] = ZERO_ID
    out["HasValidationErrors"] = True
    out["ValidationErrors"] = [{"Message": m} for m in messages]
    return out


# ---------------------------------------------------------------- invoices

def _tax_allowed(org: Org, tax_type: str, inv_type: str) -> dict[str, Any] | None:
    rate = org.tax_rates.get(tax_type)
    if rate is None or rate.get("Status", "ACTIVE") != "ACTIVE":
        return None
    if inv_type == "ACCREC" and not rate.get("CanApplyToRevenue", True):
        return None
    if inv_type == "ACCPAY" and not can_apply_to_expenses(rate):
        return None
    return rate


def can_apply_to_expenses(rate: dict[str, Any]) -> bool:
    return rate["TaxType"] in EXPENSE_TAX_TYPES or not rate.get("CanApplyToRevenue", True)


def default_tax_type(account: dict[str, Any] | None, inv_type: str) -> str:
    if account is not None and ACCOUNT_CLASS.get(account["Type"]) == "EXPENSE":
        return "INPUT"
    if account is not None and ACCOUNT_CLASS.get(account["Type"]) == "REVENUE":
        return "OUTPUT"
    return "OUTPUT" if inv_type == "ACCREC" else "INPUT"


def build_lines(org: Org, raw_lines: Any, inv_type: str, lat: str, unitdp: int,
                errors: list[str]) -> list[dict[str, Any]]:
    """Validate and price line items: quantity x unit (rounded to ``unitdp``) less discount, rounded to cents; the
    account and tax type as a sale (``inv_type`` ACCREC) or a purchase (ACCPAY) allows; tax per line, included in
    or added to the line as LineAmountTypes says."""
    lines: list[dict[str, Any]] = []
    if raw_lines is None:
        return lines
    if not isinstance(raw_lines, list):
        errors.append("LineItems must be a list.")
        return lines
    unit_q = Decimal(1).scaleb(-unitdp)
    for raw in raw_lines:
        if not isinstance(raw, dict):
            errors.append("A line item must be a JSON object.")
            continue
        line: dict[str, Any] = {
            "LineItemID": raw.get("LineItemID") or str(uuid.uuid4()),
            "Description": raw.get("Description"), "ItemCode": raw.get("ItemCode"),
            "AccountCode": raw.get("AccountCode"), "TaxType": raw.get("TaxType"),
            "Tracking": resolve_tracking(org, raw.get("Tracking"), errors),
        }
        try:
            qty = to_decimal(raw["Quantity"], "Quantity") if raw.get("Quantity") is not None else Decimal(1)
            if raw.get("UnitAmount") is not None:
                unit = to_decimal(raw["UnitAmount"], "UnitAmount").quantize(unit_q)
            elif raw.get("LineAmount") is not None:
                unit = to_decimal(raw["LineAmount"], "LineAmount") / (qty or Decimal(1))
            else:
                unit = Decimal(0)
            gross = qty * unit
            rate_disc = raw.get("DiscountRate")
            amt_disc = raw.get("DiscountAmount")
            if rate_disc is not None:
                line["DiscountRate"] = to_decimal(rate_disc, "DiscountRate")
                gross = gross * (Decimal(100) - line["DiscountRate"]) / Decimal(100)
            elif amt_disc is not None:
                line["DiscountAmount"] = to_decimal(amt_disc, "DiscountAmount")
                gross = gross - line["DiscountAmount"]
            line["Quantity"] = qty.quantize(Decimal("0.0001"))
            line["UnitAmount"] = unit
            line["LineAmount"] = money(gross)
        except ValueError as exc:
            errors.append(str(exc))
            continue
        account = None
        if line["AccountCode"] not in (None, ""):
            account = org.accounts.get(str(line["AccountCode"]))
            if (account is None or account["Status"] != "ACTIVE" or account["Type"] == "BANK"
                    or str(line["AccountCode"]) in SYSTEM_ACCOUNTS):
                errors.append(f"Account code '{line['AccountCode']}' is not a valid code for this document.")
                account = None
        if lat == "NoTax":
            line["TaxType"] = line["TaxType"] or "NONE"
            rate_pct = Decimal(0)
        else:
            if line["TaxType"] in (None, ""):
                line["TaxType"] = default_tax_type(account, inv_type)
            rate = _tax_allowed(org, str(line["TaxType"]), inv_type)
            if rate is None:
                errors.append(f"The TaxType code '{line['TaxType']}' does not exist or cannot be used for this "
                              "type of transaction.")
                rate_pct = Decimal(0)
            else:
                rate_pct = Decimal(str(rate["Rate"]))
        if lat == "Inclusive":
            line["TaxAmount"] = money(line["LineAmount"] * rate_pct / (Decimal(100) + rate_pct))
        else:
            line["TaxAmount"] = money(line["LineAmount"] * rate_pct / Decimal(100))
        if raw.get("TaxAmount") is not None:
            # the spec: TaxAmount "can be overriden if the calculated <TaxAmount> is not correct". How far Xero
            # lets it stray is not published; chosen: a cent either way of its own figure (rounding), else refused
            try:
                given = money(to_decimal(raw["TaxAmount"], "TaxAmount"))
            except ValueError as exc:
                errors.append(str(exc))
                continue
            if abs(given - line["TaxAmount"]) > Decimal("0.01"):
                errors.append(f"The TaxAmount {given} of a line is not the tax of its LineAmount at the rate of "
                              f"TaxType '{line['TaxType']}' ({line['TaxAmount']}).")
                continue
            line["TaxAmount"] = given
        lines.append(line)
    return lines


def recalc_totals(doc: dict[str, Any]) -> None:
    """Recompute an invoice's SubTotal/TotalTax/Total/AmountDue (also after a payment or an allocation moved its
    AmountPaid or AmountCredited)."""
    line_totals(doc)
    doc["AmountDue"] = doc["Total"] - doc.get("AmountPaid", Decimal("0.00")) - doc.get("AmountCredited",
                                                                                        Decimal("0.00"))


def line_totals(doc: dict[str, Any]) -> None:
    """SubTotal/TotalTax/Total from the lines, the same for every document with line items."""
    lines = doc["LineItems"]
    total_tax = sum((ln["TaxAmount"] for ln in lines), Decimal("0.00"))
    line_sum = sum((ln["LineAmount"] for ln in lines), Decimal("0.00"))
    if doc["LineAmountTypes"] == "Inclusive":
        doc["SubTotal"], doc["Total"] = line_sum - total_tax, line_sum
    else:
        doc["SubTotal"], doc["Total"] = line_sum, line_sum + total_tax
    doc["TotalTax"] = total_tax


def settle_invoice(invoice: dict[str, Any], on_date: date, now: datetime) -> None:
    """After a payment or an allocation moved AmountPaid or AmountCredited: AmountDue again, PAID (fully paid on
    ``on_date``) once nothing is due, back to AUTHORISED when a reversal makes something due again. The bumped
    UpdatedDateUTC is how a poller using If-Modified-Since on /Invoices sees the change."""
    recalc_totals(invoice)
    if invoice["AmountDue"] <= 0:
        invoice["Status"] = "PAID"
        invoice["FullyPaidOnDate"] = on_date
    elif invoice["Status"] == "PAID":
        invoice["Status"] = "AUTHORISED"
        invoice["FullyPaidOnDate"] = None
    invoice["UpdatedDateUTC"] = now


def find_invoice(org: Org, key: str) -> dict[str, Any] | None:
    """By InvoiceID, or by InvoiceNumber as Xero's GET /Invoices/{InvoiceID} also accepts (a live invoice first)."""
    doc = org.invoices.get(key.lower())
    if doc is not None:
        return doc
    found = org.invoice_numbers.docs(key, org.invoices)
    return found[0] if found else None


_ALLOWED_TRANSITIONS = {
    "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "AUTHORISED": {"AUTHORISED", "VOIDED"},
}
# Xero's refusal of any change to a document money has been applied to (a payment, or a credit note, overpayment or
# prepayment allocated), voiding included: seen from the real API on an invoice whose Reference alone was changed
# (XeroAPI/Xero-NetStandard#84) and on a credit note with an allocation (waynerobinson/xeroizer#211).
SETTLED_EDIT = "This document cannot be edited as it has a payment or credit note allocated to it."


def locked_period_error(org: Org, day: Any, status: str) -> str | None:
    """Xero's refusal of a document dated in a locked period (drafts have no accounting effect, so pass)."""
    if not isinstance(day, date) or status == "DRAFT":
        return None
    for lock, what in ((org.end_of_year_lock_date, "end of year lock date"),
                       (org.period_lock_date, "period lock date")):
        if lock is not None and day <= lock:
            return f"The document date cannot be before the {what}, currently set at {lock.strftime('%d-%b-%Y')}"
    return None


def apply_status(doc: dict[str, Any], element: dict[str, Any], existing: dict[str, Any] | None, label: str,
                 settled: bool, errors: list[str]) -> None:
    """The lifecycle invoices and credit notes share: created DRAFT, SUBMITTED or AUTHORISED; DRAFT/SUBMITTED may
    move freely or be DELETED; AUTHORISED may only be VOIDED; PAID, VOIDED and DELETED are final. A document with
    money applied to it (``settled``) cannot be changed at all, which is also why it cannot be voided."""
    if existing is not None and settled:
        errors.append(SETTLED_EDIT)
    if element.get("Status") is not None:
        status = str(element["Status"]).upper()
        if existing is None and status not in CREATE_STATUSES:
            errors.append(f"{label} not of valid status for creation")
        elif existing is not None and not settled and status not in _ALLOWED_TRANSITIONS.get(existing["Status"], ()):
            errors.append(f"{label} not of valid status for modification")
        doc["Status"] = status
    elif existing is not None and not settled and existing["Status"] not in _ALLOWED_TRANSITIONS:
        errors.append(f"{label} not of valid status for modification")


def apply_document_body(org: Org, doc: dict[str, Any], element: dict[str, Any], existing: dict[str, Any] | None,
                        line_type: str, unitdp: int, errors: list[str]) -> str | None:
    """What invoices and credit notes share after their status is known: Date (defaulting to today) and DueDate, the
    lock dates, LineAmountTypes, CurrencyCode, the line items with their tax and the totals, and the Contact (by
    ContactID, or by Name). ``line_type`` (ACCREC/ACCPAY) picks the tax and account rules of a sale or a purchase.
    Returns the name of a contact to create once the element is otherwise valid (see ``commit_contact``)."""
    for key in ("Date", "DueDate"):
        if key in element:
            try:
                doc[key] = parse_date_in(element[key])
            except ValueError as exc:
                errors.append(str(exc))
    if doc["Date"] is None:
        doc["Date"] = datetime.now(UTC).date()
    lock_error = locked_period_error(org, doc["Date"], doc["Status"])
    if lock_error:
        errors.append(lock_error)
    if element.get("LineAmountTypes") is not None:
        lat = LINE_AMOUNT_TYPES.get(str(element["LineAmountTypes"]).lower())
        if lat is None:
            errors.append(f"LineAmountTypes '{element['LineAmountTypes']}' is not valid.")
        else:
            doc["LineAmountTypes"] = lat
    if element.get("CurrencyCode") is not None:
        if element["CurrencyCode"] not in {c["Code"] for c in org.currencies}:
            errors.append(f"The currency code '{element['CurrencyCode']}' is not valid.")
        doc["CurrencyCode"] = element["CurrencyCode"]
    if "LineItems" in element or existing is None:
        doc["LineItems"] = build_lines(org, element.get("LineItems"), line_type, doc["LineAmountTypes"], unitdp,
                                       errors)
    line_totals(doc)
    new_contact_name = None
    contact_in = element.get("Contact")
    doc["_contact_echo"] = contact_in if isinstance(contact_in, dict) else None
    if isinstance(contact_in, dict) and (contact_in.get("ContactID") or contact_in.get("Name")):
        contact = None
        if contact_in.get("ContactID"):
            contact = org.contacts.get(str(contact_in["ContactID"]).lower())
            if contact is None:
                errors.append(f"The contact with ContactID {contact_in['ContactID']} could not be found.")
        else:
            contact = find_contact_by_name(org, str(contact_in["Name"]), active_only=False)
            if contact is None:
                new_contact_name = str(contact_in["Name"]).strip()
        if contact is not None:
            if contact["ContactStatus"] == "ARCHIVED":
                errors.append(f"The contact '{contact['Name']}' has been archived and cannot be used on a "
                              "transaction.")
            doc["ContactID"] = contact["ContactID"]
    elif existing is None or contact_in is not None:
        errors.append("A Contact must be specified for this type of transaction")
    return new_contact_name


def commit_contact(org: Org, doc: dict[str, Any], new_contact_name: str | None, line_type: str,
                   now: datetime) -> None:
    """Create the contact named on a valid document when it is new, and mark it a customer (sales) or a supplier
    (purchases), as Xero does the first time a contact is used on such a document."""
    if new_contact_name is not None:
        cid = str(uuid.uuid4())
        echo = doc.get("_contact_echo") or {}
        org.contacts[cid] = new_contact_doc(cid, {"Name": new_contact_name,
                                                  "EmailAddress": echo.get("EmailAddress")}, now)
        doc["ContactID"] = cid
    contact = org.contacts[doc["ContactID"]]
    flag = "IsCustomer" if line_type == "ACCREC" else "IsSupplier"
    if not contact.get(flag):
        contact[flag] = True
        contact["UpdatedDateUTC"] = now
    doc.pop("_contact_echo", None)


def save_invoice(org: Org, element: Any, create_only: bool, unitdp: int, clock: Clock) -> dict[str, Any]:
    """Validate and commit one invoice element; raises ElementError (with a candidate for the echo)."""
    if not isinstance(element, dict):
        raise ElementError(["An invoice must be a JSON object."])
    errors: list[str] = []
    existing = None
    inv_id = element.get("InvoiceID")
    if inv_id and inv_id != ZERO_ID:
        existing = org.invoices.get(str(inv_id).lower())
        if existing is None:
            raise ElementError([f"Invoice with InvoiceID {inv_id} could not be found."])
        if create_only:
            raise ElementError([f"An invoice with InvoiceID {inv_id} already exists; use POST to update it."])
    elif not create_only and element.get("InvoiceNumber") and element.get("Type", "ACCREC") == "ACCREC":
        existing = next(iter(org.invoice_numbers.live(str(element["InvoiceNumber"]), org.invoices, "ACCREC")),
                        None)
    base: dict[str, Any] = dict(existing) if existing else {
        "InvoiceID": str(uuid.uuid4()), "Type": None, "InvoiceNumber": None, "Reference": None,
        "ContactID": None, "Date": None, "DueDate": None, "Status": "DRAFT", "LineAmountTypes": "Exclusive",
        "LineItems": [], "AmountPaid": Decimal("0.00"), "AmountCredited": Decimal("0.00"),
        "CurrencyCode": "AUD", "CurrencyRate": Decimal(1), "SentToContact": False,
    }
    doc = dict(base)
    for key in ("Type", "InvoiceNumber", "Reference", "Url", "BrandingThemeID"):
        if key in element and element[key] is not None:
            doc[key] = element[key]
    if existing and element.get("Type") and element["Type"] != existing["Type"]:
        errors.append("The Type of an existing invoice cannot be changed.")
    if doc["Type"] not in INVOICE_TYPES:
        errors.append("Invoice Type must be specified." if not doc["Type"]
                      else f"Invoice Type '{doc['Type']}' is not valid.")
    inv_type = doc["Type"] or "ACCREC"
    settled = existing is not None and bool(existing.get("AmountPaid") or existing.get("AmountCredited"))
    apply_status(doc, element, existing, "Invoice", settled, errors)
    new_contact_name = apply_document_body(org, doc, element, existing, inv_type, unitdp, errors)
    recalc_totals(doc)
    number = doc.get("InvoiceNumber")
    if number is not None and len(str(number)) > 255:
        errors.append("Invoice number must be 255 characters or less.")
    if inv_type == "ACCREC" and number and doc["Status"] not in DEAD_STATUSES and any(
            i["InvoiceID"] != doc["InvoiceID"] for i in org.invoice_numbers.live(str(number), org.invoices,
                                                                                  "ACCREC")):
        errors.append("Invoice # must be unique.")
    if doc.get("Reference") is not None and len(str(doc["Reference"])) > 255:
        errors.append("Reference must be 255 characters or less.")
    if errors:
        err = ElementError(errors)
        err.candidate = doc  # type: ignore[attr-defined]
        raise err
    now = clock.now()
    commit_contact(org, doc, new_contact_name, inv_type, now)
    if inv_type == "ACCREC" and not doc.get("InvoiceNumber"):
        doc["InvoiceNumber"] = org.invoice_numbers.issue()
    doc["UpdatedDateUTC"] = now
    org.invoices[doc["InvoiceID"]] = doc
    org.invoice_numbers.move(doc["InvoiceID"], existing.get("InvoiceNumber") if existing else None,
                             doc.get("InvoiceNumber"))
    return doc


def contact_summary(org: Org, doc: dict[str, Any]) -> dict[str, Any]:
    """The contact as a document nests it (a refused element echoes the Contact it was sent)."""
    contact = org.contacts.get(doc.get("ContactID") or "")
    if contact is None:
        echo = doc.get("_contact_echo") or {}
        out = {"ContactID": echo.get("ContactID") or ZERO_ID}
        if echo.get("Name"):
            out["Name"] = echo["Name"]
        return out
    out = render_contact(contact)
    out.pop("ContactPersons", None)
    return out


def render_line(line: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"LineItemID": line["LineItemID"]}
    if line.get("Description") is not None:
        out["Description"] = line["Description"]
    out["Quantity"] = num(line["Quantity"])
    out["UnitAmount"] = num(line["UnitAmount"])
    if line.get("ItemCode"):
        out["ItemCode"] = line["ItemCode"]
    if line.get("AccountCode") not in (None, ""):
        out["AccountCode"] = str(line["AccountCode"])
    out["TaxType"] = line["TaxType"]
    out["TaxAmount"] = num(line["TaxAmount"])
    out["LineAmount"] = num(line["LineAmount"])
    if line.get("DiscountRate") is not None:
        out["DiscountRate"] = num(line["DiscountRate"])
    if line.get("DiscountAmount") is not None:
        out["DiscountAmount"] = num(line["DiscountAmount"])
    out["Tracking"] = line.get("Tracking") or []
    return out


def render_invoice(org: Org, doc: dict[str, Any]) -> dict[str, Any]:
    """An invoice as GET /Invoices returns it: MS dates with ISO DateString companions, numbers as numbers."""
    out: dict[str, Any] = {"Type": doc["Type"], "InvoiceID": doc["InvoiceID"]}
    if doc.get("InvoiceNumber"):
        out["InvoiceNumber"] = doc["InvoiceNumber"]
    if doc.get("Reference") is not None:
        out["Reference"] = doc["Reference"]
    out.update({
        "Payments": [payment_summary(org.payments[p]) for p in doc.get("PaymentIDs", [])
                     if p in org.payments and org.payments[p]["Status"] == "AUTHORISED"],
        **applied_credits(org, doc),
        "AmountDue": num(doc.get("AmountDue")), "AmountPaid": num(doc.get("AmountPaid")),
        "AmountCredited": num(doc.get("AmountCredited")), "CurrencyRate": num(doc.get("CurrencyRate")),
        "IsDiscounted": False, "HasAttachments": False, "HasErrors": False,
        "Contact": contact_summary(org, doc),
    })
    if isinstance(doc.get("Date"), date):
        out["DateString"] = iso_string(doc["Date"])
        out["Date"] = ms_date(doc["Date"])
    if isinstance(doc.get("DueDate"), date):
        out["DueDateString"] = iso_string(doc["DueDate"])
        out["DueDate"] = ms_date(doc["DueDate"])
    out.update({
        "Status": doc["Status"], "LineAmountTypes": doc["LineAmountTypes"],
        "LineItems": [render_line(ln) for ln in doc.get("LineItems", [])],
        "SubTotal": num(doc.get("SubTotal")), "TotalTax": num(doc.get("TotalTax")), "Total": num(doc.get("Total")),
        "CurrencyCode": doc.get("CurrencyCode") or "AUD",
    })
    if doc.get("FullyPaidOnDate") is not None:
        out["FullyPaidOnDate"] = ms_date(doc["FullyPaidOnDate"])
    if doc.get("UpdatedDateUTC") is not None:
        out["UpdatedDateUTC"] = ms_date(doc["UpdatedDateUTC"])
    if doc.get("Url"):
        out["Url"] = doc["Url"]
    return out


def payment_summary(payment: dict[str, Any]) -> dict[str, Any]:
    """The short payment Xero nests in an invoice's Payments[]."""
    return {"PaymentID": payment["PaymentID"], "Date": ms_date(payment["Date"]), "Amount": num(payment["Amount"]),
            "Reference": payment.get("Reference") or "", "CurrencyRate": num(payment["CurrencyRate"]),
            "HasAccount": False, "HasValidationErrors": False}


# Allocation source -> (the Org store of its documents, the invoice's list of them, the id field, the number field).
ALLOCATION_SOURCES: dict[str, tuple[str, str, str, str | None]] = {
    "CreditNote": ("credit_notes", "CreditNotes", "CreditNoteID", "CreditNoteNumber"),
    "Overpayment": ("overpayments", "Overpayments", "OverpaymentID", None),
    "Prepayment": ("prepayments", "Prepayments", "PrepaymentID", None),
}


def applied_credits(org: Org, doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """An invoice's CreditNotes, Prepayments and Overpayments: one short entry per live allocation to it, with
    AppliedAmount (the spec's "amount of applied to an invoice") next to the source document's own Date and Total.

    Not published; chosen: one entry per allocation (a credit note allocated twice to one invoice is listed twice,
    so the AppliedAmounts always add up to AmountCredited), the source's Date (the field is the document's date in
    every schema), and no Allocations inside the entries (xero-python#183: Xero leaves them out there).
    """
    out: dict[str, list[dict[str, Any]]] = {"CreditNotes": [], "Prepayments": [], "Overpayments": []}
    for allocation_id in doc.get("AllocationIDs", []):
        allocation = org.allocations.get(allocation_id)
        if allocation is None or allocation["IsDeleted"]:
            continue
        store, listing, id_key, number_key = ALLOCATION_SOURCES[allocation["Source"]]
        source = getattr(org, store).get(allocation["SourceID"])
        if source is None:
            continue
        entry: dict[str, Any] = {id_key: source[id_key], "ID": source[id_key]}
        if number_key and source.get(number_key):
            entry[number_key] = source[number_key]
        if allocation["Source"] == "CreditNote":
            entry["HasErrors"] = False
        entry.update({"AppliedAmount": num(allocation["Amount"]), "DateString": iso_string(source["Date"]),
                      "Date": ms_date(source["Date"]), "LineItems": [], "Total": num(source["Total"])})
        out[listing].append(entry)
    return out


def failed_invoice(org: Org, element: Any, messages: list[str], candidate: dict[str, Any] | None) -> dict[str, Any]:
    """The echo of a rejected element: Xero returns it with an all-zero id and its ValidationErrors."""
    if candidate is not None and candidate.get("Type") is not None:
        out = render_invoice(org, candidate)
        out.pop("UpdatedDateUTC", None)
        if not (isinstance(element, dict) and element.get("InvoiceNumber")):
            out.pop("InvoiceNumber", None)
    else:
        out = {k: v for k, v in element.items() if k in ("Type", "InvoiceNumber", "Reference", "Status")} \
            if isinstance(element, dict) else {}
    if not (isinstance(element, dict) and element.get("InvoiceID")):
        out["InvoiceID"] = ZERO_ID
    out["HasErrors"] = True
    out["ValidationErrors"] = [{"Message": m} for m in messages]
    return out


def document_view(org: Org, doc: dict[str, Any]) -> dict[str, Any]:
    """What ``where`` sees of an invoice or credit note: native values plus the contact's fields under ``Contact``."""
    contact = org.contacts.get(doc.get("ContactID") or "", {})
    return {**doc, "Contact": {"ContactID": contact.get("ContactID"), "Name": contact.get("Name"),
                               "ContactNumber": contact.get("ContactNumber")}}


# ---------------------------------------------------------------- reference data

def render_tax_rate(rate: dict[str, Any]) -> dict[str, Any]:
    pct = float(rate["Rate"])
    revenue = bool(rate.get("CanApplyToRevenue", True))
    return {
        "Name": rate["Name"], "TaxType": rate["TaxType"], "ReportTaxType": rate["TaxType"],
        "CanApplyToAssets": True, "CanApplyToEquity": True, "CanApplyToExpenses": can_apply_to_expenses(rate),
        "CanApplyToLiabilities": True, "CanApplyToRevenue": revenue, "DisplayTaxRate": pct,
        "EffectiveRate": pct, "Status": rate.get("Status", "ACTIVE"),
        "TaxComponents": [{"Name": "GST", "Rate": pct, "IsCompound": False, "IsNonRecoverable": False}],
    }


def render_account(acct: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "AccountID": acct["AccountID"], "Code": acct["Code"], "Name": acct["Name"], "Status": acct["Status"],
        "Type": acct["Type"], "TaxType": default_tax_type(acct, "ACCREC") if acct["Type"] != "BANK" else "BASEXCLUDED",
        "Class": ACCOUNT_CLASS.get(acct["Type"], "ASSET"),
        "EnablePaymentsToAccount": bool(acct.get("EnablePaymentsToAccount")),
        "ShowInExpenseClaims": False, "ReportingCode": "", "HasAttachments": False,
        "UpdatedDateUTC": ms_date(SEED_TIME), "AddToWatchlist": False,
    }
    if acct["Type"] == "BANK":
        out.update({"BankAccountNumber": acct.get("BankAccountNumber") or "062000123456789",
                    "BankAccountType": "BANK", "CurrencyCode": "AUD"})
    if acct["Code"] in SYSTEM_ACCOUNTS:
        out["SystemAccount"] = SYSTEM_ACCOUNTS[acct["Code"]]
    return out


def render_organisation(org: Org) -> dict[str, Any]:
    return {
        "OrganisationID": org.tenant_id, "APIKey": "", "Name": org.name, "LegalName": f"{org.name} Pty Ltd",
        "PaysTax": True, "Version": "AU", "OrganisationType": "COMPANY", "BaseCurrency": "AUD",
        "CountryCode": "AU", "IsDemoCompany": False, "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": 30, "FinancialYearEndMonth": 6, "SalesTaxBasis": "ACCRUALS",
        "SalesTaxPeriod": "QUARTERLY1", "DefaultSalesTax": "Tax Exclusive", "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": ms_date(SEED_TIME), "OrganisationEntityType": "COMPANY", "Timezone": "AUSEASTERNSTANDARDTIME",
        "ShortCode": "!" + org.tenant_id[:5], "Edition": "BUSINESS", "Class": "STANDARD",
        **({"PeriodLockDate": ms_date(org.period_lock_date)} if org.period_lock_date else {}),
        **({"EndOfYearLockDate": ms_date(org.end_of_year_lock_date)} if org.end_of_year_lock_date else {}),
    }
