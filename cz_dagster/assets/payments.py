"""``connectwise/invoice_payments``: what Xero says is paid on each invoice this product posted -> the one
ConnectWise payment of that invoice, set to that amount (sync.payments says why set, not added); a fully paid
invoice takes the Paid status, a lowered one leaves it; non-cash settlements are reported.

Which invoices a run settles: those with a Xero payment modified since the cursor, and every invoice whose
payment row is still open (pending, sending or in error) -- so a row in error is retried on every run until it
succeeds or a person resolves it, whatever the cursor has moved past. The amounts come from Xero's live invoices
at the time of the run, so a reversal, a re-payment, a kill at any point or a lost answer converge on the next
run."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from dagster import AssetKey
from sqlalchemy import and_

from cz_dagster.assets.common import FlowOutcome, SyncScope, connectwise, md_table, writer_asset, xero
from cz_dagster.assets.credit_notes import CREDIT_NOTES_KEY
from cz_dagster.assets.invoices import INVOICES_KEY
from cz_dagster.resources import ConnectWiseResource, XeroResource
from cz_dagster.resources.connectwise import ConnectWiseClient, ConnectWiseError
from cz_dagster.resources.xero import reads
from cz_dagster.store import schema as s
from cz_dagster.store.cursors import Cursors
from cz_dagster.store.ledger import OPEN_STATES, Ledger
from cz_dagster.store.schema import utcnow
from cz_dagster.sync.enums import enum_name
from cz_dagster.sync.payments import (
    REPORT,
    CwInvoice,
    XeroPayment,
    cash_payments,
    payment_write,
    status_change,
    target_error,
    triage,
    version,
)
from cz_dagster.sync.vocabulary import LEGACY_PAYMENT_STATUS, Surface

PAYMENTS_KEY = AssetKey(["connectwise", "invoice_payments"])
CURSOR = "xero_payments_modified_since"
OVERLAP = timedelta(minutes=5)
LEGACY = "replaced: payments are now kept as one ConnectWise payment per invoice, set to what Xero says is paid"


def _payment(p: Any) -> XeroPayment:
    day = p.date.date() if isinstance(p.date, datetime) else p.date
    return XeroPayment(payment_id=str(p.payment_id), invoice_id=str(p.invoice.invoice_id) if p.invoice else None,
                       invoice_number=getattr(p.invoice, "invoice_number", None),
                       amount=Decimal(str(p.amount or 0)), date=day, status=enum_name(p.status),
                       payment_type=enum_name(p.payment_type), updated=p.updated_date_utc)


class PaymentSync:
    def __init__(self, scope: SyncScope, cw_res: ConnectWiseResource, xero_res: XeroResource, log: Any):
        self.scope, self.cw_res, self.xero_res, self.log = scope, cw_res, xero_res, log
        t, loc = scope.tenant.slug, scope.location.slug
        self.ledger = Ledger(scope.store, t, loc, Surface.PAYMENTS, scope.run_id)
        self.invoices = Ledger(scope.store, t, loc, Surface.INVOICES, scope.run_id)
        self.counts = {"applied": 0, "reversed": 0, "closed": 0, "reopened": 0, "failed": 0, "not_ours": 0,
                       "unchanged": 0}
        self.moved: list[dict[str, Any]] = []
        self.errors: dict[tuple[str, str], str] = {}
        self._statuses: list[dict[str, Any]] | None = None
        self.changed: list[Any] = []

    @property
    def cw(self) -> ConnectWiseClient:
        return connectwise(self.scope, self.cw_res)

    def fetch(self) -> list[XeroPayment]:
        store, t, loc = self.scope.store, self.scope.tenant.slug, self.scope.location.slug
        raw_cursor = Cursors(store, t, loc).get(CURSOR)
        since = datetime.fromisoformat(raw_cursor) - OVERLAP if raw_cursor else None
        self.changed = reads.invoices_changed_since(xero(self.scope, self.xero_res), Surface.PAYMENTS, since)
        return [_payment(p) for p in reads.payments_since(xero(self.scope, self.xero_res), since)]

    def settlements(self, xero_ids: list[str]) -> dict[str, tuple[Decimal, Any]]:
        """Xero InvoiceID -> (what is settled on it now: cash paid plus credit allocated, the latest payment's
        date) of each invoice, read live."""
        out: dict[str, tuple[Decimal, Any]] = {}
        for inv in reads.invoices_by_id(xero(self.scope, self.xero_res), Surface.PAYMENTS, xero_ids):
            dates = [p.date.date() if isinstance(p.date, datetime) else p.date
                     for p in (inv.payments or []) if getattr(p, "date", None)]
            settled = Decimal(str(inv.amount_paid or 0)) + Decimal(str(inv.amount_credited or 0))
            out[str(inv.invoice_id)] = (settled, max(dates, default=None))
        return out

    def close_legacy_rows(self) -> None:
        """Rows of the earlier one-payment-per-Xero-payment model (and its separate status rows) stop counting."""
        t = s.ledger
        loc = self.scope.location.slug
        with self.scope.store.tenant_tx(self.scope.tenant.slug) as conn:
            conn.execute(t.update().where(and_(
                t.c.location == loc, t.c.state.in_(OPEN_STATES),
                ((t.c.surface == Surface.PAYMENTS) & t.c.source_version.in_(("applied", "reversed")))
                | (t.c.surface == LEGACY_PAYMENT_STATUS),
            )).values(state="skipped", last_error=LEGACY, updated_at=utcnow()))

    def run(self) -> dict[str, Any]:
        ours = {r.target_id: r.source_id for r in self.invoices.in_state("done") if r.target_id}
        self.close_legacy_rows()
        if not ours:  # nothing posted yet from this location: no call to make
            return self.result()
        payments = self.fetch()
        seen = triage(payments, ours)
        seen.touched.update(self.credit_changes(ours))
        self.counts["not_ours"] = seen.not_ours
        self.report(seen)
        open_rows = [r for r in self.ledger.in_state(*OPEN_STATES) if r.source_version != REPORT]
        cw_ids = sorted(seen.touched | {r.source_id for r in open_rows}, key=int)
        xero_of = {cw: x for x, cw in ours.items()}
        if cw_ids:
            live = self.settlements(sorted(xero_of[i] for i in cw_ids if i in xero_of))
            cw_invoices = {str(i["id"]): CwInvoice.of(i) for i in self.cw.get_by_ids(
                "finance/invoices", [int(i) for i in cw_ids], surface=Surface.PAYMENTS)}
            for cw_id in cw_ids:
                self.settle_one(cw_id, xero_of.get(cw_id), live, cw_invoices.get(cw_id))
        self.ledger.mark_error_many(self.errors)
        self.counts["failed"] = len(self.errors)
        latest = max([p.updated for p in payments if p.updated is not None]
                     + [i.updated_date_utc for i in self.changed if i.updated_date_utc is not None], default=None)
        if latest is not None:
            latest = latest if latest.tzinfo else latest.replace(tzinfo=UTC)
            Cursors(self.scope.store, self.scope.tenant.slug, self.scope.location.slug).put(CURSOR, latest.isoformat())
        return self.result()

    def credit_changes(self, ours: dict[str, str]) -> set[str]:
        """Our invoices whose credit may have moved: changed in Xero and carrying a credit now, or carrying a
        payment of ours that a removed allocation may have to lower (an unchanged invoice costs no call)."""
        changed = {ours[str(i.invoice_id)]: i for i in self.changed if str(i.invoice_id) in ours}
        with_payment = {r.source_id for r in self.ledger.rows(sorted(changed)) if r.source_version != version(
            Decimal(0)) and r.source_version != REPORT}
        return {cw for cw, inv in changed.items() if Decimal(str(inv.amount_credited or 0)) > 0 or cw in with_payment}

    def result(self) -> dict[str, Any]:
        return {**self.counts, "moved": self.moved, "errors": self.errors}

    def report(self, seen: Any) -> None:
        """Non-cash settlements: an error row each (a person records them); withdrawn ones close."""
        self.ledger.record([(r.payment.payment_id, REPORT, r.payment.invoice_number) for r in seen.reports])
        for r in seen.reports:
            self.errors[(r.payment.payment_id, REPORT)] = r.reason
        withdrawn = [(p.payment_id, REPORT) for p in seen.withdrawn]
        open_keys = {r.key for r in self.ledger.rows([k[0] for k in withdrawn]) if r.state in OPEN_STATES}
        self.ledger.mark_skipped([k for k in withdrawn if k in open_keys],
                                 "the settlement was deleted in Xero: nothing to record")

    def settle_one(self, cw_id: str, xero_id: str | None, live: dict[str, tuple[Decimal, Any]],
                   invoice: CwInvoice | None) -> None:
        if xero_id is None or xero_id not in live or invoice is None:
            open_keys = [r.key for r in self.ledger.rows([cw_id]) if r.state in OPEN_STATES]
            where = "Xero" if invoice is not None else "ConnectWise"
            self.ledger.mark_skipped(open_keys, f"the invoice is no longer in {where}: no payment to keep")
            return
        settled, paid_on = live[xero_id]
        # the one cash payment carries what Xero settled less the credit ConnectWise itself applies (its credit
        # memos, allocated in Xero by xero/credit_notes): then ConnectWise's balance is Xero's AmountDue
        target = settled - invoice.credits
        key = (cw_id, version(target))
        self.ledger.record([(cw_id, key[1], invoice.number)])
        problem = target_error(target, invoice)
        if problem:
            self.errors[key] = problem
            return
        change = status_change(target, invoice)
        if target == invoice.paid and change is None:
            self.ledger.mark_done_many({key: self._known_payment_id(cw_id)})
            self.counts["unchanged"] += 1
            return
        try:
            self.ledger.mark_sending([key], f"payment-invoice-{cw_id}")
            payment_id = self.set_payment(invoice, target, paid_on) if target != invoice.paid \
                else self._known_payment_id(cw_id)
            if change is not None:
                self.set_status(invoice, change)
        except (ConnectWiseError, ValueError) as exc:
            self.errors[key] = f"payment on invoice {invoice.number}: {exc}"
            return
        self.ledger.mark_done_many({key: payment_id})

    def _known_payment_id(self, cw_id: str) -> str:
        done = [r for r in self.ledger.rows([cw_id]) if r.state == "done" and r.target_id]
        return max(done, key=lambda r: r.updated_at).target_id if done else "none"

    def set_payment(self, invoice: CwInvoice, target: Decimal, paid_on: Any) -> str:
        """One write that makes the invoice's ConnectWise payment equal the target; the payment's id ('none' when
        there is none left)."""
        path = f"finance/invoices/{invoice.id}/payments"
        listed = cash_payments(self.cw.get_all(path, surface=Surface.PAYMENTS))
        write = payment_write(target, listed)
        day = (paid_on or datetime.now(UTC).date()).isoformat()
        row = {"invoice": invoice.number, "from": str(invoice.paid), "to": str(target)}
        if write.kind == "create":
            body = {"type": "Payment", "amount": float(target), "paymentDate": f"{day}T00:00:00Z"}
            try:
                made = self.cw.create(path, body, surface=Surface.PAYMENTS, find=lambda: self._only(path))
            except ConnectWiseError as exc:
                if exc.status != 400 or "ObjectExists" not in str(exc.body):
                    raise
                made = self._only(path)  # made meanwhile (by a lost answer's first attempt): set it instead
                if made is None:
                    raise
            payment_id = str(made["id"])
            if Decimal(str(made.get("amount") or 0)) != target:
                self._update(path, payment_id, target, day)
        elif write.kind == "update":
            payment_id = str(write.payment_id)
            self._update(path, payment_id, target, day)
        elif write.kind == "delete":
            try:
                self.cw.request("DELETE", f"{path}/{write.payment_id}", surface=Surface.PAYMENTS)
            except ConnectWiseError as exc:
                if exc.status != 404:  # already gone: what we wanted
                    raise
            payment_id = "none"
        else:
            payment_id = str(write.payment_id or "none")
        self.counts["applied" if target > invoice.paid else "reversed"] += 1
        self.moved.append({**row, "how": {"create": "payment made", "update": "payment set",
                                          "delete": "payment removed", "none": "already set"}[write.kind],
                           "connectwise_payment": payment_id})
        return payment_id

    def _only(self, path: str) -> dict[str, Any] | None:
        listed = cash_payments(self.cw.get_all(path, surface=Surface.PAYMENTS))
        return listed[0] if len(listed) == 1 else None

    def _update(self, path: str, payment_id: str, target: Decimal, day: str) -> None:
        self.cw.patch(f"{path}/{payment_id}", [
            {"op": "replace", "path": "amount", "value": float(target)},
            {"op": "replace", "path": "paymentDate", "value": f"{day}T00:00:00Z"}], surface=Surface.PAYMENTS)

    def statuses(self) -> list[dict[str, Any]]:
        if self._statuses is None:
            self._statuses = self.cw.get_all("finance/billingStatuses", surface=Surface.PAYMENTS)
        return self._statuses

    def set_status(self, invoice: CwInvoice, change: str) -> None:
        """Paid in full: the closed 'Paid' billing status; lowered below the total: out of 'Paid' again."""
        by_name = {str(st.get("name", "")).casefold(): st for st in self.statuses()}
        if change == "closed":
            target = by_name.get("paid") or next((st for st in self.statuses() if st.get("closedFlag")), None)
        else:
            target = by_name.get("partially paid") or by_name.get("sent")
        if target is None or target.get("name") == invoice.status:
            return
        self.cw.patch(f"finance/invoices/{invoice.id}", [{"op": "replace", "path": "status",
                                                          "value": {"id": target["id"]}}], surface=Surface.PAYMENTS)
        self.counts[change] += 1


@writer_asset(
    PAYMENTS_KEY,
    flow=Surface.PAYMENTS,
    deps=[INVOICES_KEY, CREDIT_NOTES_KEY],
    check="No payment of this tenant-location sits in error",
    description="What Xero says is paid on each invoice this product posted -> the invoice's one ConnectWise "
                "payment, set to that amount; fully paid invoices take the Paid status; non-cash settlements "
                "are reported.",
)
def invoice_payments(scope: SyncScope, connectwise_api: ConnectWiseResource, xero_api: XeroResource,
                     log: Any) -> FlowOutcome:
    out = PaymentSync(scope, connectwise_api, xero_api, log).run()
    return FlowOutcome(out["errors"], {
        **{k: out[k] for k in ("applied", "reversed", "closed", "reopened", "unchanged", "failed", "not_ours")},
        "moved": md_table(out["moved"], ["invoice", "from", "to", "how", "connectwise_payment"]),
    })
