"""``xero/credit_notes``: a location's ConnectWise credit memos -> ACCRECCREDIT credit notes in its Xero
organisation, exactly once (the posting protocol of ``posting``, found again after a crash by CreditNoteNumber),
marked posted in ConnectWise like invoices; then every credit ConnectWise applied to one of our invoices (an
invoice payment whose ``credit`` names the memo) becomes the same allocation of the credit note in Xero, once.

An unapplied credit stays an open credit in Xero. Allocations keep a ledger of their own (surface
``allocations``, one row per ConnectWise credit application, its version the amount): 'sending' is written with
the Idempotency-Key before the PUT, and a row left 'sending' by a crash is settled by reading the credit note's
allocations in Xero before anything is sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from dagster import AssetKey

from cz_dagster.assets.common import FlowOutcome, SyncScope, connectwise, md_table, writer_asset, xero
from cz_dagster.assets.invoices import INVOICES_KEY
from cz_dagster.assets.posting import PREFLIGHT_MIRRORS, DocKind, PostingSync, posting_metadata
from cz_dagster.resources import ConnectWiseResource, XeroResource
from cz_dagster.resources.xero import XeroApiError, XeroDailyLimitReached, reads, writes
from cz_dagster.resources.xero.reads import Collection
from cz_dagster.store.ledger import Ledger
from cz_dagster.sync.hashing import idempotency_key
from cz_dagster.sync.invoices import CENT, source_invoices, to_xero_credit_note
from cz_dagster.sync.vocabulary import Surface

CREDIT_NOTES_KEY = AssetKey(["xero", "credit_notes"])

CREDIT_NOTE_KIND = DocKind(
    surface=Surface.CREDIT_NOTES, label="credit note", xero_type="ACCRECCREDIT",
    export=lambda cw, location_id: cw.export_invoices(location_id, surface=Surface.CREDIT_NOTES),
    sources=source_invoices, keep=lambda doc: doc.credit, to_xero=to_xero_credit_note,
    batch_flags={"invoices": True}, unique_numbers=True, collection=Collection.CREDIT_NOTES,
)


@dataclass(frozen=True)
class CreditApplication:
    """A ConnectWise credit applied to an invoice, as the Xero allocation it must become."""

    payment_id: str  # the ConnectWise invoice payment that carries the credit
    invoice_number: str
    memo_number: str
    amount: Decimal
    day: str
    xero_invoice_id: str
    xero_credit_note_id: str

    @property
    def key(self) -> tuple[str, str]:
        return self.payment_id, f"{self.amount.quantize(CENT)}"

    @property
    def label(self) -> str:
        return f"credit {self.memo_number} -> invoice {self.invoice_number}"


class Allocations:
    """One run of the allocation step for one tenant-location."""

    def __init__(self, scope: SyncScope, cw_res: ConnectWiseResource, xero_res: XeroResource):
        self.scope, self.cw_res, self.xero_res = scope, cw_res, xero_res
        t, loc = scope.tenant.slug, scope.location.slug
        self.ledger = Ledger(scope.store, t, loc, Surface.ALLOCATIONS, scope.run_id)
        self.invoices = Ledger(scope.store, t, loc, Surface.INVOICES)
        self.notes = Ledger(scope.store, t, loc, Surface.CREDIT_NOTES)
        self.errors: dict[tuple[str, str], str] = {}
        self.moved: list[dict[str, Any]] = []
        self.counts = {"allocated": 0, "allocations_recovered": 0, "allocations_unchanged": 0}

    def wanted(self) -> list[CreditApplication]:
        """The credit applications ConnectWise holds on invoices we posted, from credit memos we posted."""
        notes = {r.source_id: (r.target_id, r.label) for r in self.notes.in_state("done") if r.target_id}
        ours = {r.source_id: (r.target_id, r.label) for r in self.invoices.in_state("done") if r.target_id}
        if not notes or not ours:
            return []
        cw = connectwise(self.scope, self.cw_res)
        credited = cw.get_all("finance/invoices", surface=Surface.ALLOCATIONS, fields="id,invoiceNumber,credits",
                              conditions=f"credits > 0 AND locationId={self.scope.location.cw_location_id}")
        out: list[CreditApplication] = []
        for inv in credited:
            if str(inv["id"]) not in ours:
                continue
            for p in cw.get_all(f"finance/invoices/{inv['id']}/payments", surface=Surface.ALLOCATIONS):
                memo = str((p.get("credit") or {}).get("id") or "")
                if memo not in notes:
                    continue  # a cash payment, or a credit memo not (yet) in Xero: its row waits for it
                out.append(CreditApplication(
                    payment_id=str(p["id"]), invoice_number=str(inv.get("invoiceNumber") or inv["id"]),
                    memo_number=str(notes[memo][1] or memo), amount=Decimal(str(p.get("amount") or 0)),
                    day=str(p.get("paymentDate") or date.today().isoformat())[:10],
                    xero_invoice_id=str(ours[str(inv["id"])][0]), xero_credit_note_id=str(notes[memo][0])))
        return out

    def run(self) -> dict[str, Any]:
        apps = self.wanted()
        if not apps:
            return self.result()
        self.ledger.record([(a.key[0], a.key[1], a.label) for a in apps])
        rows = {r.key: r for r in self.ledger.rows([a.payment_id for a in apps])}
        done_before = {r.source_id: r for r in rows.values() if r.state == "done"}
        try:
            for app in apps:
                row = rows[app.key]
                if row.state == "done":
                    self.counts["allocations_unchanged"] += 1
                elif app.payment_id in done_before:  # the credit application changed after it was allocated
                    old = done_before[app.payment_id]
                    self.errors[app.key] = (
                        f"{app.label}: ConnectWise now applies {app.amount}, but {old.source_version} of the credit "
                        "note is allocated to the invoice in Xero already: change the allocation in Xero to "
                        f"{app.amount} (Xero: the credit note's Allocations), and the next run records it")
                elif row.state == "sending" and self.recover(app):
                    continue
                else:
                    self.allocate(app, row.attempts)
        except XeroDailyLimitReached:
            pass  # the rest stays pending: the next run allocates them
        self.ledger.mark_error_many(self.errors)
        return self.result()

    def result(self) -> dict[str, Any]:
        return {**self.counts, "moved": self.moved, "errors": self.errors}

    def recover(self, app: CreditApplication) -> bool:
        """A crashed run's allocation: in Xero already (same invoice, same amount) -> done; else it is sent."""
        note = reads.credit_note(xero(self.scope, self.xero_res), Surface.ALLOCATIONS, app.xero_credit_note_id)
        claimed = {r.target_id for r in self.ledger.in_state("done")}
        for alloc in (note.allocations or []) if note is not None else []:
            invoice_id = str(getattr(alloc.invoice, "invoice_id", "") or "")
            alloc_id = str(getattr(alloc, "allocation_id", "") or "")
            if invoice_id == app.xero_invoice_id and Decimal(str(alloc.amount)).quantize(CENT) == app.amount \
                    and alloc_id not in claimed:
                self.ledger.mark_done_many({app.key: alloc_id})
                self.counts["allocations_recovered"] += 1
                self.moved.append({"allocation": app.label, "amount": str(app.amount), "how": "recovered"})
                return True
        return False

    def allocate(self, app: CreditApplication, attempts: int) -> None:
        idem = idempotency_key(Surface.ALLOCATIONS, self.scope.location.slug, [app.key], attempts + 1)
        self.ledger.mark_sending([app.key], idem)
        try:
            made = writes.allocate_credit_note(xero(self.scope, self.xero_res), Surface.ALLOCATIONS,
                                               app.xero_credit_note_id, app.xero_invoice_id, float(app.amount),
                                               app.day, idem)
        except XeroApiError as exc:
            self.errors[app.key] = f"{app.label}: Xero refused the allocation: {exc}"
            return
        first = (made or [None])[0]
        problems = [v.message for v in (getattr(first, "validation_errors", None) or []) if v.message]
        if first is None or problems:
            self.errors[app.key] = (f"{app.label}: Xero refused the allocation: {'; '.join(problems) or 'no answer'}; "
                                    "check the credit note and the invoice in Xero (same customer, both approved, "
                                    "enough left on each)")
            return
        self.ledger.mark_done_many({app.key: str(getattr(first, "allocation_id", "") or "")})
        self.counts["allocated"] += 1
        self.moved.append({"allocation": app.label, "amount": str(app.amount), "how": "allocated"})


@writer_asset(
    CREDIT_NOTES_KEY,
    flow=Surface.CREDIT_NOTES,
    surfaces=[Surface.CREDIT_NOTES, Surface.ALLOCATIONS],
    deps=[INVOICES_KEY, *(AssetKey(["xero", m]) for m in PREFLIGHT_MIRRORS)],
    check="No credit note or credit allocation of this tenant-location sits in error",
    description="ConnectWise credit memos of the location -> ACCRECCREDIT credit notes in its Xero organisation "
                "(batches, Idempotency-Key, found again by CreditNoteNumber), marked posted in ConnectWise; credit "
                "ConnectWise applied to an invoice -> the same credit note allocation in Xero, once.",
)
def credit_notes(scope: SyncScope, connectwise_api: ConnectWiseResource, xero_api: XeroResource,
                 log: Any) -> FlowOutcome:
    out = PostingSync(scope, CREDIT_NOTE_KIND, connectwise_api, xero_api, log).run()
    allocations = Allocations(scope, connectwise_api, xero_api).run()
    metadata = posting_metadata(out, "credit note")
    metadata.update({k: allocations[k] for k in ("allocated", "allocations_recovered", "allocations_unchanged")})
    metadata["allocations"] = md_table(allocations["moved"], ["allocation", "amount", "how"])
    return FlowOutcome({**out["errors"], **allocations["errors"]}, metadata)
