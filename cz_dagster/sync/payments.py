"""Xero settlements -> the one ConnectWise payment of each invoice. Pure logic.

ConnectWise allows a single payment per invoice (reference: "The export as ConnectWise sends it"), so the product
does not post one ConnectWise payment per Xero payment. For each invoice it posted, it keeps one ConnectWise
payment whose amount is what Xero says is paid on that invoice *now* (the invoice's AmountPaid: partial payments
add up, a deleted payment lowers it, zero removes it). Writing sets the amount to that target -- create when
absent, update when present -- so a retried, recovered, overlapping or repeated write cannot add money: the worst
it can do is set the same amount again. Non-cash settlements (credit notes, prepayments, overpayments allocated
in Xero) are in Xero's AmountCredited: they go into the same one payment, less the credit ConnectWise applies
itself (its credit memos), so that ConnectWise's balance equals Xero's AmountDue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")
REPORT = "report"  # the ledger version of a reported (non-cash) Xero payment row


@dataclass(frozen=True)
class XeroPayment:
    payment_id: str
    invoice_id: str | None
    invoice_number: str | None
    amount: Decimal
    date: date | None
    status: str  # AUTHORISED | DELETED
    payment_type: str  # ACCRECPAYMENT | ARCREDITPAYMENT | ...
    updated: Any = None


@dataclass(frozen=True)
class Report:
    """A Xero settlement on one of our invoices that is not applied automatically, with what to tell a person."""

    payment: XeroPayment
    cw_invoice_id: str
    reason: str


@dataclass(frozen=True)
class Triage:
    """What the payments modified since the cursor mean for this run."""

    touched: set[str]  # ConnectWise invoice ids whose settlement may have changed
    reports: list[Report]
    withdrawn: list[XeroPayment]  # reported settlements since deleted in Xero: their rows close
    not_ours: int


def triage(payments: list[XeroPayment], ours: dict[str, str]) -> Triage:
    """``ours`` maps Xero InvoiceID -> ConnectWise invoice id (invoices this product posted)."""
    touched: set[str] = set()
    reports: list[Report] = []
    withdrawn: list[XeroPayment] = []
    not_ours = 0
    for p in payments:
        cw_invoice = ours.get(p.invoice_id or "")
        if cw_invoice is None:
            not_ours += 1
        elif p.payment_type not in ("ACCRECPAYMENT", ""):
            if p.status == "DELETED":
                withdrawn.append(p)
            else:
                reports.append(Report(p, cw_invoice, (
                    f"Xero applied a {p.payment_type.lower()} of {p.amount} to invoice {p.invoice_number}: credit "
                    "notes, prepayments and overpayments are not applied automatically; record it in ConnectWise "
                    "by hand")))
        else:
            touched.add(cw_invoice)
    return Triage(touched, reports, withdrawn, not_ours)


@dataclass(frozen=True)
class CwInvoice:
    """The fields of a ConnectWise invoice that settling it needs."""

    id: str
    number: str
    balance: Decimal
    paid: Decimal  # the invoice's ``payments`` total (cash)
    status: str
    credits: Decimal = Decimal(0)  # credit memos ConnectWise applies to it (``credits``)

    @property
    def payable(self) -> Decimal:
        """What can be paid on it in all: the total less credits (balance plus what is paid already)."""
        return self.balance + self.paid

    @classmethod
    def of(cls, raw: dict[str, Any]) -> CwInvoice:
        return cls(id=str(raw["id"]), number=str(raw.get("invoiceNumber") or raw["id"]),
                   balance=Decimal(str(raw.get("balance") or 0)), paid=Decimal(str(raw.get("payments") or 0)),
                   status=str((raw.get("status") or {}).get("name") or ""),
                   credits=Decimal(str(raw.get("credits") or 0)))


def target_error(target: Decimal, invoice: CwInvoice) -> str | None:
    """A target ConnectWise cannot hold, in words a finance lead can act on."""
    if target < 0:
        return f"Xero shows {target} paid on invoice {invoice.number}, below zero: check the invoice in Xero"
    if target > invoice.payable:
        return (f"Xero shows {target} paid on invoice {invoice.number}, more than ConnectWise's total less credits "
                f"({invoice.payable}): the invoice differs between the two systems; correct it in ConnectWise (or "
                "the payment in Xero) and the next run sets the payment")
    return None


@dataclass(frozen=True)
class PaymentWrite:
    kind: str  # none | create | update | delete
    payment_id: str | None = None


def cash_payments(listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An invoice's ConnectWise payments less its credit applications (a payment whose ``credit`` names a credit
    memo): the one-payment rule is about the cash payment; credits are ConnectWise's own, never written here."""
    return [p for p in listed if not p.get("credit")]


def payment_write(target: Decimal, existing: list[dict[str, Any]]) -> PaymentWrite:
    """The one write that makes the invoice's ConnectWise payment equal the target. ``existing`` is the
    invoice's payments as ConnectWise lists them (at most one on a real tenant)."""
    if len(existing) > 1:
        raise ValueError(f"ConnectWise lists {len(existing)} payments on this invoice where it allows one: remove "
                         "the extra payments in ConnectWise and the next run sets the one that is left")
    if not existing:
        return PaymentWrite("create") if target > 0 else PaymentWrite("none")
    current = existing[0]
    amount = Decimal(str(current.get("amount") or 0))
    if target == 0:
        return PaymentWrite("delete", str(current["id"]))
    if amount == target:
        return PaymentWrite("none", str(current["id"]))
    return PaymentWrite("update", str(current["id"]))


def status_change(target: Decimal, invoice: CwInvoice) -> str | None:
    """Paid in full -> 'closed' (the Paid status); a lowered payment that leaves a balance on a Paid invoice ->
    'reopened'; otherwise nothing. ConnectWise does not move the status itself."""
    balance_after = invoice.payable - target
    if balance_after <= 0 and invoice.status.casefold() != "paid":
        return "closed"
    if balance_after > 0 and invoice.status.casefold() == "paid":
        return "reopened"
    return None


def version(target: Decimal) -> str:
    """The ledger version of an invoice's payment row: the amount it is set to."""
    return f"{target.quantize(CENT)}"
