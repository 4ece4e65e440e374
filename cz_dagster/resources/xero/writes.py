"""The Xero writes the flows make. Each sends what the flow built, with the Idempotency-Key the flow chose
(stored in its ledger before the call, so a retry or a recovering run sends the same one), and hands back the
elements of Xero's answer in the order sent; what they mean is the flow's business."""

from __future__ import annotations

from typing import Any

from cz_dagster.resources.xero.client import XeroClient
from cz_dagster.resources.xero.reads import Collection
from cz_dagster.sync.vocabulary import Surface


def create_invoices(xc: XeroClient, surface: str, docs: list[dict[str, Any]], idempotency_key: str) -> Any:
    """Invoices or bills, many per call; ``summarize_errors=False`` so each element says whether it was saved."""
    return xc.call(surface, xc.accounting.create_invoices, invoices={"Invoices": docs}, summarize_errors=False,
                   unitdp=4, idempotency_key=idempotency_key).invoices


def create_credit_notes(xc: XeroClient, surface: str, docs: list[dict[str, Any]], idempotency_key: str) -> Any:
    """Credit notes, many per call, each element saying whether it was saved (as invoices)."""
    return xc.call(surface, xc.accounting.create_credit_notes, credit_notes={"CreditNotes": docs},
                   summarize_errors=False, unitdp=4, idempotency_key=idempotency_key).credit_notes


def allocate_credit_note(xc: XeroClient, surface: str, credit_note_id: str, invoice_id: str, amount: float,
                         day: str, idempotency_key: str) -> Any:
    """Apply part (or all) of a credit note to an invoice; Xero answers the allocation it made."""
    body = {"Allocations": [{"Amount": amount, "Date": day, "Invoice": {"InvoiceID": invoice_id}}]}
    return xc.call(surface, xc.accounting.create_credit_note_allocation, credit_note_id, body,
                   summarize_errors=False, idempotency_key=idempotency_key).allocations


def update_document(xc: XeroClient, surface: str, collection: str, xero_id: str, doc: dict[str, Any],
                    idempotency_key: str) -> Any:
    """An invoice, bill or credit note changed in place (same id): POST to the document itself. Setting the same
    content twice leaves it the same, so a retried or recovering update is harmless."""
    if collection == Collection.CREDIT_NOTES:
        return xc.call(surface, xc.accounting.update_credit_note, xero_id, {"CreditNotes": [doc]}, unitdp=4,
                       idempotency_key=idempotency_key).credit_notes
    return xc.call(surface, xc.accounting.update_invoice, xero_id, {"Invoices": [doc]}, unitdp=4,
                   idempotency_key=idempotency_key).invoices


def create_contacts(xc: XeroClient, surface: str, docs: list[dict[str, Any]], idempotency_key: str) -> Any:
    return xc.call(surface, xc.accounting.create_contacts, contacts={"Contacts": docs}, summarize_errors=False,
                   idempotency_key=idempotency_key).contacts


def create_timesheets(xc: XeroClient, docs: list[dict[str, Any]]) -> list[Any]:
    """Payroll AU refuses the whole request when one element is invalid (the flow then splits the batch)."""
    return list(xc.call(Surface.PAYROLL, xc.payroll.create_timesheet, timesheet=docs).timesheets or [])


def update_timesheet(xc: XeroClient, timesheet_id: str, doc: dict[str, Any]) -> list[Any]:
    return list(xc.call(Surface.PAYROLL, xc.payroll.update_timesheet, timesheet_id, timesheet=[doc]).timesheets or [])
