"""Do the two books agree? Every document the ledger says we posted, compared with what Xero and ConnectWise
hold now, and every Xero document that carries our reference without being in the ledger. Pure logic: the
reconciliation asset reads both systems and hands the records here; each difference comes with its likely cause
and the one thing to do, in words for the finance lead.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Posted:
    """A document as the ledger knows it: what it came from in ConnectWise and the Xero document it made."""

    kind: str  # invoice | credit note | bill | supplier credit
    source_id: str
    number: str
    xero_id: str
    credit: bool = False  # a credit note: ConnectWise holds it negative, Xero positive


@dataclass(frozen=True)
class XeroSide:
    xero_id: str
    number: str | None
    status: str
    total: Decimal
    tax: Decimal
    due: Decimal  # AmountDue of an invoice, RemainingCredit of a credit note
    contact_id: str | None
    reference: str | None


@dataclass(frozen=True)
class CwSide:
    source_id: str
    number: str
    total: Decimal
    tax: Decimal
    balance: Decimal
    contact_id: str | None  # the Xero contact the document's company maps to


@dataclass(frozen=True)
class Difference:
    record: str
    what: str
    cause: str
    fix: str

    def row(self) -> dict[str, str]:
        return {"record": self.record, "difference": self.what, "likely cause": self.cause, "fix": self.fix}


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT):.2f}"


def compare(posted: list[Posted], xero: dict[str, XeroSide], cw: dict[str, CwSide] | None,
            strays: list[XeroSide]) -> list[Difference]:
    """``xero``: our documents in Xero by id; ``cw``: ConnectWise's documents by source id (None: this kind is
    not read back from ConnectWise); ``strays``: Xero documents with our reference that no ledger row made."""
    out: list[Difference] = []
    for p in posted:
        name = f"{p.kind} {p.number}"
        x = xero.get(p.xero_id)
        if x is None:
            out.append(Difference(name, f"posted as Xero {p.xero_id}, which Xero no longer has",
                                  "deleted in Xero after it was posted",
                                  f"re-enter it in Xero, or if it should not exist, credit {name} in ConnectWise"))
            continue
        if x.status in ("VOIDED", "DELETED"):
            out.append(Difference(name, f"{x.status.lower()} in Xero", f"{x.status.lower()} in Xero after it was "
                                  "posted, while ConnectWise still holds it",
                                  f"if it stands, re-enter it in Xero; if not, credit {name} in ConnectWise too"))
            continue
        if x.number and x.number != p.number:
            out.append(Difference(name, f"numbered {x.number} in Xero", "renumbered in Xero after it was posted",
                                  f"give the Xero document the number {p.number} again"))
        if cw is None:
            continue
        c = cw.get(p.source_id)
        if c is None:
            out.append(Difference(name, "no longer in ConnectWise", "deleted in ConnectWise after it was posted",
                                  f"void Xero {x.number or x.xero_id} too, or re-create it in ConnectWise"))
            continue
        sign = -1 if p.credit else 1
        if sign * c.total != x.total:
            out.append(Difference(name, f"totals {_money(sign * c.total)} in ConnectWise, {_money(x.total)} in Xero",
                                  "edited in one system only", "make the two documents the same (the next sync "
                                  "updates Xero when ConnectWise changed and Xero still allows it)"))
        elif sign * c.tax != x.tax:
            out.append(Difference(name, f"tax {_money(sign * c.tax)} in ConnectWise, {_money(x.tax)} in Xero",
                                  "a tax rate differs between the two", "check the tax code mapping of its lines"))
        if c.contact_id and x.contact_id and c.contact_id != x.contact_id:
            out.append(Difference(name, "a different customer in Xero", "the contact was changed in Xero, or the "
                                  "company's mapping changed after posting", "set the same customer in both"))
        if sign * c.balance != x.due:
            due = "remaining credit" if p.credit else "amount due"
            out.append(Difference(name, f"balance {_money(sign * c.balance)} in ConnectWise, {due} {_money(x.due)} "
                                  "in Xero", "a payment or credit recorded in one system only (or not yet synced)",
                                  "run the money sync; if it stays, record the payment or credit where it is missing"))
    for s in strays:
        out.append(Difference(f"Xero {s.number or s.xero_id}", f"carries our reference {s.reference} but was not "
                              "posted by this product", "entered or imported in Xero by hand, or posted by another "
                              "installation", "void it in Xero if ConnectWise's own posting is the one to keep"))
    return out
