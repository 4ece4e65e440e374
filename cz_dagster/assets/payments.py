"""``connectwise/invoice_payments``: Xero payments on invoices this product posted -> ConnectWise invoice
payments; partial payments add up, a fully paid invoice is closed, a deleted (reversed) payment is reversed,
and what cannot be applied safely (credit notes, overpayments, more than the balance) is reported."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from dagster import AssetExecutionContext, AssetKey, MaterializeResult

from cz_dagster.assets.common import (
    SyncScope,
    connectwise,
    md_table,
    skipped_result,
    sync_scope,
    writer_asset,
    writer_result,
    xero,
)
from cz_dagster.assets.invoices import INVOICES_KEY
from cz_dagster.assets.posting import status_name
from cz_dagster.resources import ConnectWiseResource, StoreResource, XeroResource
from cz_dagster.resources.connectwise import ConnectWiseClient, ConnectWiseError
from cz_dagster.store.ledger import Ledger
from cz_dagster.sync.payments import APPLIED, REVERSED, Action, XeroPayment, plan

PAYMENTS_KEY = AssetKey(["connectwise", "invoice_payments"])
CURSOR = "xero_payments_modified_since"
OVERLAP = timedelta(minutes=5)


def _payment(p: Any) -> XeroPayment:
    day = p.date.date() if isinstance(p.date, datetime) else p.date
    return XeroPayment(payment_id=str(p.payment_id), invoice_id=str(p.invoice.invoice_id) if p.invoice else None,
                       invoice_number=getattr(p.invoice, "invoice_number", None),
                       amount=Decimal(str(p.amount or 0)), date=day, status=status_name(p.status),
                       payment_type=status_name(p.payment_type), updated=p.updated_date_utc)


class PaymentSync:
    def __init__(self, scope: SyncScope, cw_res: ConnectWiseResource, xero_res: XeroResource, log: Any):
        self.scope, self.cw_res, self.xero_res, self.log = scope, cw_res, xero_res, log
        t, loc = scope.tenant.slug, scope.location.slug
        self.ledger = Ledger(scope.store, t, loc, "payments", scope.run_id)
        # invoices whose ConnectWise status must follow a payment; kept until settled, so a run killed between
        # applying a payment and closing the invoice closes it on the next run
        self.to_settle = Ledger(scope.store, t, loc, "payment_status", scope.run_id)
        self.invoices = Ledger(scope.store, t, loc, "invoices", scope.run_id)
        self.counts = {"applied": 0, "reversed": 0, "closed": 0, "reopened": 0, "failed": 0, "not_ours": 0}
        self.moved: list[dict[str, Any]] = []
        self.errors: dict[tuple[str, str], str] = {}
        self._statuses: list[dict[str, Any]] | None = None
        self.balances: dict[str, Decimal] = {}

    @property
    def cw(self) -> ConnectWiseClient:
        return connectwise(self.scope, self.cw_res)

    def fetch(self) -> list[XeroPayment]:
        store, t, loc = self.scope.store, self.scope.tenant.slug, self.scope.location.slug
        raw_cursor = store.get_cursor(t, loc, CURSOR)
        since = datetime.fromisoformat(raw_cursor) - OVERLAP if raw_cursor else None
        xc = xero(self.scope, self.xero_res)
        out: list[XeroPayment] = []
        page = 1
        while True:
            kwargs: dict[str, Any] = {"page": page, "page_size": 1000}
            if since is not None:
                kwargs["if_modified_since"] = since
            result = xc.call("payments", xc.accounting.get_payments, **kwargs)
            batch = list(result.payments or [])
            out.extend(_payment(p) for p in batch)
            if len(batch) < 1000:
                return out
            page += 1

    def run(self) -> dict[str, Any]:
        ours = {r.target_id: r.source_id for r in self.invoices.in_state("done") if r.target_id}
        if not ours:  # nothing posted yet from this location: no call to make
            return {**self.counts, "moved": self.moved, "errors": self.errors}
        payments = self.fetch()
        applied = {r.source_id: r.target_id for r in self.ledger.in_state("done")
                   if r.source_version == APPLIED and r.target_id}
        reversed_done = {r.source_id for r in self.ledger.in_state("done") if r.source_version == REVERSED}
        actions = [a for a in plan(payments, ours, applied)
                   if not (a.kind == "reverse" and a.payment.payment_id in reversed_done)]
        self.ledger.record([(a.payment.payment_id, a.payment.version, a.payment.invoice_number)
                            for a in actions if a.kind != "ignore"])
        self.to_settle.record([(str(a.cw_invoice_id), f"{a.payment.payment_id}:{a.payment.version}",
                                 a.payment.invoice_number) for a in actions if a.kind in ("apply", "reverse")])
        touched: set[str] = {r.source_id for r in self.to_settle.in_state("pending")}
        need = sorted({int(a.cw_invoice_id) for a in actions if a.kind == "apply" and a.cw_invoice_id})
        self.balances = {str(i["id"]): Decimal(str(i.get("balance", 0)))
                         for i in self.cw.get_by_ids("finance/invoices", need, surface="payments")} if need else {}
        for action in actions:
            key = (action.payment.payment_id, action.payment.version)
            if action.kind == "ignore":
                self.counts["not_ours"] += action.cw_invoice_id is None
                continue
            if action.kind == "report":
                self.errors[key] = action.reason
                continue
            try:
                if action.kind == "apply":
                    self.apply(action, key)
                else:
                    self.reverse(action, key, applied[action.payment.payment_id])
            except ConnectWiseError as exc:
                self.errors[key] = f"payment {action.payment.amount} on invoice {action.payment.invoice_number}: {exc}"
        if touched:
            settled: dict[tuple[str, str], str] = {}
            pending = self.to_settle.in_state("pending")
            for invoice in self.cw.get_by_ids("finance/invoices", sorted(int(i) for i in touched), surface="payments"):
                try:
                    self.settle_status(invoice)
                except ConnectWiseError as exc:  # stays pending: the next run tries again
                    self.log.warning(f"invoice {invoice.get('invoiceNumber')}: status not updated: {exc}")
                    continue
                settled.update({r.key: str(invoice["id"]) for r in pending if r.source_id == str(invoice["id"])})
            self.to_settle.mark_done_many(settled)
        self.ledger.mark_error_many(self.errors)
        self.counts["failed"] = len(self.errors)
        latest = max((p.updated for p in payments if p.updated is not None), default=None)
        if latest is not None:
            latest = latest if latest.tzinfo else latest.replace(tzinfo=UTC)
            self.scope.store.set_cursor(self.scope.tenant.slug, self.scope.location.slug, CURSOR, latest.isoformat())
        return {**self.counts, "moved": self.moved, "errors": self.errors}

    def apply(self, action: Action, key: tuple[str, str]) -> None:
        p, invoice_id = action.payment, action.cw_invoice_id
        rows = {r.key: r for r in self.ledger.rows([p.payment_id])}
        existing = self._find_existing(invoice_id, p) if rows.get(key) and rows[key].state == "sending" else None
        if existing is None:
            balance = self.balances.get(str(invoice_id), Decimal(0))
            if p.amount > balance:
                raise ConnectWiseError(400, "POST", f"finance/invoices/{invoice_id}/payments", {
                    "code": "NotApplied", "message": f"the Xero payment ({p.amount}) exceeds the ConnectWise "
                    f"balance ({balance}); check for payments entered in ConnectWise by hand"})
            self.ledger.mark_sending([key], f"payment-{p.payment_id}")
            body = {"type": "Payment", "amount": float(p.amount),
                    "paymentDate": f"{(p.date or datetime.now(UTC).date()).isoformat()}T00:00:00Z"}
            existing = self.cw.create(f"finance/invoices/{invoice_id}/payments", body, surface="payments",
                                      find=lambda: self._find_existing(invoice_id, p))
        self.ledger.mark_done_many({key: str(existing["id"])})
        self.balances[str(invoice_id)] = self.balances.get(str(invoice_id), Decimal(0)) - p.amount
        self.counts["applied"] += 1
        self.moved.append({"invoice": p.invoice_number, "amount": str(p.amount), "date": p.date, "how": "applied",
                           "xero_payment": p.payment_id, "connectwise_payment": existing["id"]})

    def _find_existing(self, invoice_id: str | None, p: XeroPayment) -> dict[str, Any] | None:
        """After a crash between POST and ledger: a ConnectWise payment of that amount and date that no other
        ledger row claims is the one we made."""
        claimed = {r.target_id for r in self.ledger.in_state("done")}
        for cp in self.cw.get_all(f"finance/invoices/{invoice_id}/payments", surface="payments"):
            same_day = str(cp.get("paymentDate", ""))[:10] == (p.date.isoformat() if p.date else "")
            if str(cp["id"]) not in claimed and Decimal(str(cp.get("amount"))) == p.amount and same_day:
                return cp
        return None

    def reverse(self, action: Action, key: tuple[str, str], cw_payment_id: str) -> None:
        p = action.payment
        self.ledger.mark_sending([key], f"reverse-{p.payment_id}")
        try:
            self.cw.request("DELETE", f"finance/invoices/{action.cw_invoice_id}/payments/{cw_payment_id}",
                            surface="payments")
        except ConnectWiseError as exc:
            if exc.status != 404:  # already gone: the reversal is done
                raise
        self.ledger.mark_done_many({key: cw_payment_id})
        self.counts["reversed"] += 1
        self.moved.append({"invoice": p.invoice_number, "amount": str(p.amount), "date": p.date, "how": "reversed",
                           "xero_payment": p.payment_id, "connectwise_payment": cw_payment_id})

    def statuses(self) -> list[dict[str, Any]]:
        if self._statuses is None:
            self._statuses = self.cw.get_all("finance/billingStatuses", surface="payments")
        return self._statuses

    def settle_status(self, invoice: dict[str, Any]) -> None:
        """Paid in full: the invoice takes the closed 'Paid' billing status; a reversal that leaves a balance
        takes it back out of 'Paid'."""
        invoice_id = invoice["id"]
        balance = Decimal(str(invoice.get("balance", 0)))
        current = (invoice.get("status") or {}).get("name", "")
        by_name = {str(s.get("name", "")).casefold(): s for s in self.statuses()}
        if balance <= 0:
            target = by_name.get("paid") or next((s for s in self.statuses() if s.get("closedFlag")), None)
            key = "closed"
        elif current.casefold() == "paid":
            target = by_name.get("partially paid") or by_name.get("sent")
            key = "reopened"
        else:
            return
        if target is None or target.get("name") == current:
            return
        self.cw.patch(f"finance/invoices/{invoice_id}", [{"op": "replace", "path": "status",
                                                          "value": {"id": target["id"]}}], surface="payments")
        self.counts[key] += 1


@writer_asset(
    PAYMENTS_KEY,
    group="money",
    deps=[INVOICES_KEY],
    check="No payment of this tenant-location sits in error",
    description="Xero payments (since the last cursor) on invoices this product posted -> ConnectWise invoice "
                "payments; fully paid invoices closed, deleted payments reversed, the unappliable reported.",
)
def invoice_payments(context: AssetExecutionContext, store: StoreResource, connectwise_api: ConnectWiseResource,
                     xero_api: XeroResource) -> MaterializeResult:
    st = store.get()
    with sync_scope(context, st) as scope:
        if scope.disabled:
            return skipped_result(context, scope, ["payments"])
        out = PaymentSync(scope, connectwise_api, xero_api, context.log).run()
        metadata = {
            "xero_organisation": scope.org_label,
            **{k: out[k] for k in ("applied", "reversed", "closed", "reopened", "failed", "not_ours")},
            **scope.recorder.summary(),
            "moved": md_table(out["moved"], ["invoice", "amount", "date", "how", "xero_payment",
                                             "connectwise_payment"]),
        }
        return writer_result(context, scope, out["errors"], metadata, ["payments"])
