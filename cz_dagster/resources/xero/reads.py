"""The Xero reads the flows make, each written once: one paged reader, one enum decoder, the reference mirrors,
and the lookups of our own documents that posting and payments need.

Why here and not in each flow: the SDK's paging differs by API (Accounting takes a page size of up to 1,000,
Payroll AU always pages at 100, and a short page is the last in both), and it hands enumerations back as enum
objects whose ``str()`` is ``Status.AUTHORISED``; written once, a flow cannot get either wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import Any

from xero_python.api_client.serializer import serialize

from cz_dagster.resources.xero.client import XeroClient
from cz_dagster.sync.enums import enum_name
from cz_dagster.sync.hashing import chunked
from cz_dagster.sync.vocabulary import Surface


class Collection:
    """The Xero collections documents are posted to: invoices (bills too) and credit notes. Each is also the SDK
    answer's attribute holding the list."""

    INVOICES = "invoices"
    CREDIT_NOTES = "credit_notes"


PAYROLL_PAGE = 100  # Payroll AU's fixed page size
ACCOUNTING_PAGE = 1000  # the largest page size Accounting accepts
IDS_PER_CALL = 40  # InvoiceIDs / InvoiceNumbers per GET, well under Xero's URL length limit
REFERENCES_PER_CALL = 20  # Reference=="..." terms per where clause
DEAD = ("DELETED", "VOIDED")


def records(items: Iterable[Any]) -> list[dict[str, Any]]:
    """SDK models as Xero's own JSON field names (``ContactID``, not ``contact_id``)."""
    return [serialize(x) for x in items]


def paged(xc: XeroClient, surface: str, fn: Callable[..., Any], attr: str, *, page_size: int | None = None,
          **kwargs: Any) -> Iterator[Any]:
    """Every element of a paged list: Accounting pages of ``page_size``, else Payroll AU's pages of 100."""
    size = page_size or PAYROLL_PAGE
    if page_size:
        kwargs["page_size"] = page_size
    page = 1
    while True:
        batch = list(getattr(xc.call(surface, fn, page=page, **kwargs), attr, None) or [])
        yield from batch
        if len(batch) < size:
            return
        page += 1


# -- reference data ---------------------------------------------------------------------------------------------
def pay_items(xc: XeroClient) -> Any:
    """Payroll AU's pay items (earnings rates, leave types, ...) of the organisation, one call."""
    return xc.call(Surface.PAYROLL, xc.payroll.get_pay_items).pay_items


def payroll_calendars(xc: XeroClient) -> list[Any]:
    return list(xc.call(Surface.PAYROLL, xc.payroll.get_payroll_calendars).payroll_calendars or [])


def tracking_categories(xc: XeroClient, surface: str, include_archived: bool = False) -> list[Any]:
    kwargs = {"include_archived": True} if include_archived else {}
    return list(xc.call(surface, xc.accounting.get_tracking_categories, **kwargs).tracking_categories or [])


def _accounting(method: str, attr: str, **kwargs: Any) -> Callable[[XeroClient], list[dict[str, Any]]]:
    return lambda xc: records(getattr(xc.call(Surface.REFERENCE, getattr(xc.accounting, method), **kwargs), attr) or [])


MIRRORS: dict[str, Callable[[XeroClient], list[dict[str, Any]]]] = {
    "accounts": _accounting("get_accounts", "accounts"),
    "currencies": _accounting("get_currencies", "currencies"),
    "tax_rates": _accounting("get_tax_rates", "tax_rates"),
    "tracking_categories": lambda xc: records(tracking_categories(xc, Surface.REFERENCE, include_archived=True)),
    "items": _accounting("get_items", "items", unitdp=4),
    "earnings_rates": lambda xc: records(pay_items(xc).earnings_rates or []),
    "leave_types": lambda xc: records(pay_items(xc).leave_types or []),
    "leave_applications": lambda xc: records(paged(xc, Surface.PAYROLL, xc.payroll.get_leave_applications,
                                                   "leave_applications")),
    "payroll_calendars": lambda xc: records(payroll_calendars(xc)),
}
"""Each mirrored Xero list by the name its reference asset has."""


# -- people -----------------------------------------------------------------------------------------------------
def contacts(xc: XeroClient, surface: str = Surface.CONTACTS) -> list[dict[str, Any]]:
    """Every contact of the organisation, archived too (a match to an archived contact is reported, not made
    again), with the fields matching needs."""
    return [{"ContactID": str(c.contact_id), "Name": c.name, "ContactNumber": c.contact_number,
             "AccountNumber": c.account_number, "ContactStatus": enum_name(c.contact_status) or "ACTIVE"}
            for c in paged(xc, surface, xc.accounting.get_contacts, "contacts", page_size=ACCOUNTING_PAGE,
                           include_archived=True)]


def employees(xc: XeroClient) -> list[dict[str, Any]]:
    """Every Payroll AU employee of the organisation."""
    return records(paged(xc, Surface.PAYROLL, xc.payroll.get_employees, "employees"))


# -- documents --------------------------------------------------------------------------------------------------
def payments_since(xc: XeroClient, since: datetime | None) -> list[Any]:
    """Xero payments changed since ``since`` (every one when None)."""
    kwargs = {"if_modified_since": since} if since is not None else {}
    return list(paged(xc, Surface.PAYMENTS, xc.accounting.get_payments, "payments", page_size=ACCOUNTING_PAGE,
                      **kwargs))


def invoices_changed_since(xc: XeroClient, surface: str, since: datetime | None) -> list[Any]:
    """Sales invoices changed since ``since``: a credit note, overpayment or prepayment allocated to one (or
    removed) is no Payment, so the payments read alone would never see it."""
    kwargs = {"if_modified_since": since} if since is not None else {}
    return list(paged(xc, surface, xc.accounting.get_invoices, Collection.INVOICES, page_size=ACCOUNTING_PAGE,
                      where='Type=="ACCREC"', **kwargs))


def invoices_by_id(xc: XeroClient, surface: str, invoice_ids: list[str]) -> Iterator[Any]:
    """The invoices (any type, any status) with these InvoiceIDs, read live."""
    for chunk in chunked(invoice_ids, IDS_PER_CALL):
        yield from xc.call(surface, xc.accounting.get_invoices, i_ds=chunk, page=1,
                           page_size=ACCOUNTING_PAGE).invoices or []


def document(xc: XeroClient, surface: str, collection: str, xero_id: str) -> Any | None:
    """One invoice, bill or credit note by its Xero id, read live (status, what is paid or allocated on it)."""
    if collection == Collection.CREDIT_NOTES:
        return credit_note(xc, surface, xero_id)
    return next(iter(invoices_by_id(xc, surface, [xero_id])), None)


def live_by_number(xc: XeroClient, surface: str, xero_type: str, numbers: Iterable[str]) -> dict[str, Any]:
    """Our live (not deleted or voided) documents of ``xero_type`` by InvoiceNumber: the way to find a sales
    invoice Xero made from a request whose answer was lost (InvoiceNumber is unique in an organisation)."""
    wanted = set(numbers)
    found: dict[str, Any] = {}
    for chunk in chunked(sorted(wanted), IDS_PER_CALL):
        result = xc.call(surface, xc.accounting.get_invoices, invoice_numbers=chunk, page=1,
                         page_size=ACCOUNTING_PAGE)
        for inv in result.invoices or []:
            if (enum_name(inv.status) not in DEAD and enum_name(inv.type) == xero_type
                    and inv.invoice_number in wanted):
                found[inv.invoice_number] = inv
    return found


FIELD_ATTR = {"Reference": "reference", "CreditNoteNumber": "credit_note_number"}


def live_where(xc: XeroClient, surface: str, collection: str, xero_type: str, field: str,
               values: Iterable[str]) -> dict[str, Any]:
    """Our live documents of ``xero_type`` by ``field`` (the Reference we set, or a CreditNoteNumber), through a
    where clause of ORs: bills and supplier credits, whose numbers (the supplier's) repeat, and credit notes,
    whose list has no number parameter."""
    fn = xc.accounting.get_credit_notes if collection == Collection.CREDIT_NOTES else xc.accounting.get_invoices
    attr, key = collection, FIELD_ATTR[field]
    wanted = set(values)
    found: dict[str, Any] = {}
    for chunk in chunked(sorted(wanted), REFERENCES_PER_CALL):
        terms = " OR ".join(f'{field}=="{v}"' for v in chunk)
        result = xc.call(surface, fn, where=f'Type=="{xero_type}" AND ({terms})', page=1, page_size=ACCOUNTING_PAGE)
        for doc in getattr(result, attr, None) or []:
            if enum_name(doc.status) not in DEAD and getattr(doc, key) in wanted:
                found[getattr(doc, key)] = doc
    return found


def credit_note(xc: XeroClient, surface: str, credit_note_id: str) -> Any | None:
    """One credit note, read live (its Allocations say what it is applied to)."""
    notes = xc.call(surface, xc.accounting.get_credit_note, credit_note_id).credit_notes or []
    return notes[0] if notes else None


def ours(xc: XeroClient, surface: str, collection: str, xero_type: str, prefix: str) -> list[Any]:
    """Every document of ``xero_type`` whose Reference starts with ours (the reconciliation's one sweep: paged,
    so a thousand documents cost one call); voided ones included, deleted ones are gone from Xero's lists."""
    fn = xc.accounting.get_credit_notes if collection == Collection.CREDIT_NOTES else xc.accounting.get_invoices
    return list(paged(xc, surface, fn, collection, page_size=ACCOUNTING_PAGE,
                      where=f'Type=="{xero_type}" AND Reference.StartsWith("{prefix}")'))


def timesheets_from(xc: XeroClient, first: date) -> list[Any]:
    """Payroll AU timesheets starting on or after ``first``."""
    where = f"StartDate>=DateTime({first.year},{first.month:02d},{first.day:02d})"
    return list(paged(xc, Surface.PAYROLL, xc.payroll.get_timesheets, "timesheets", where=where))
