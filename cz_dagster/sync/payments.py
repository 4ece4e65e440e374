"""Xero payments -> ConnectWise invoice payments: what to do with each payment. Pure logic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

APPLIED, REVERSED = "applied", "reversed"


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

    @property
    def version(self) -> str:
        return REVERSED if self.status == "DELETED" else APPLIED


@dataclass(frozen=True)
class Action:
    kind: str  # apply | reverse | report | ignore
    payment: XeroPayment
    cw_invoice_id: str | None = None
    reason: str = ""


def plan(payments: list[XeroPayment], ours: dict[str, str], applied: dict[str, str]) -> list[Action]:
    """``ours`` maps Xero InvoiceID -> ConnectWise invoice id (invoices this product posted); ``applied`` maps
    PaymentID -> ConnectWise payment id for payments already applied in ConnectWise."""
    out: list[Action] = []
    for p in payments:
        cw_invoice = ours.get(p.invoice_id or "")
        if cw_invoice is None:
            out.append(Action("ignore", p, reason="not on an invoice this product posted"))
        elif p.payment_type not in ("ACCRECPAYMENT", ""):
            out.append(Action("report", p, cw_invoice,
                              f"Xero applied a {p.payment_type.lower()} of {p.amount} to invoice {p.invoice_number}: "
                              "credit notes, prepayments and overpayments are not applied automatically; record it "
                              "in ConnectWise by hand"))
        elif p.status == "DELETED":
            if p.payment_id in applied:
                out.append(Action("reverse", p, cw_invoice))
            else:
                out.append(Action("ignore", p, cw_invoice, "deleted in Xero before it reached ConnectWise"))
        elif p.amount <= 0:
            out.append(Action("report", p, cw_invoice, f"Xero payment of {p.amount} is not positive"))
        elif p.payment_id not in applied:
            out.append(Action("apply", p, cw_invoice))
    return out
