"""Invoice payments, billing statuses, invoice status changes (PATCH / PUT) and currencies.

The simulated billing-status set (``GET finance/billingStatuses``; ids as a typical tenant has them):
1 New (default), 2 Sent (sentFlag), 13 Closed (closedFlag; what every closed, exported invoice starts as),
14 Paid (closedFlag), 15 Partially Paid, 16 Void (inactive). ConnectWise does not move an invoice's status
when a payment is applied or removed: the integration sets it (PATCH ``status``), so here too.

Status can be changed by ``PATCH|PUT finance/invoices/{id}`` or ``PATCH|PUT finance/closedInvoices/{id}``
(ClosedInvoice {id, status, internalNotes}); either way only status, customerPO and internalNotes change.

InvoicePayment amounts (the public record names the fields, not their meaning): ``invoiceTotal`` is the invoice's
total, ``invoiceBalance`` its balance now, ``balance`` the invoice's balance just after this payment was applied.

One payment per invoice: "ConnectWise only allow a single payment per invoice" (Zynk's payment import, which
updates the existing payment instead; Gozynta Mobius sums every accounting-side payment into one). A second POST
is refused with the 400 ValidationError shape and code ``ObjectExists`` (the code CW uses for a duplicate; the
exact message text is not published: ours is an assumption). The one payment is changed with ``PATCH`` (amount,
paymentDate) or ``PUT`` (a whole InvoicePayment), or removed with ``DELETE``.

Credit applications: in ConnectWise a credit memo is applied to an invoice as an InvoicePayment on that invoice
whose ``credit`` is an InvoiceReference naming the credit memo ({id, identifier: the memo's number, _info}). The
invoice's ``credits`` rises and its ``balance`` falls by the amount; the memo's ``balance`` (negative) moves toward
0 by it. Unpublished, chosen here (each says so where it is coded):
- the application's ``type`` is "Credit" (a cash payment's is "Payment"); its ``amount`` is positive, the amount
  applied;
- a credit application does not count as the invoice's one payment: an invoice holds one cash payment (credit
  unset) and any number of credit applications, and the one-payment rule above refuses only a second cash
  payment;
- the application is listed under the invoice it is applied to (``finance/invoices/{invoice}/payments``), not
  under the credit memo, whose ``payments`` list stays empty;
- the memo's ``credits`` field is what has been applied from it, in the memo's sign (negative), so that
  ``balance = total - payments - credits`` holds for a memo as for an invoice;
- a credit memo is applied only to an invoice (not to another credit memo) of the same company, for at most the
  invoice's balance and the memo's remaining credit; a credit memo takes no cash payment (a refund is not
  modelled);
- the API creates one too: ``POST finance/invoices/{invoice}/payments`` with ``credit: {id}`` and ``amount`` (the
  model's ``credit`` field suggests the API writes it; not confirmed). ``/_sandbox/credit-applications`` is the
  same thing as a ConnectWise user does it on the invoice screen. PATCH / PUT change only amount and
  paymentDate (a PUT naming another credit memo is refused); DELETE removes the application.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from cz_sandbox.cw_common import API_MEMBER, CwError, href, info, invalid, not_found, now, patch_ops
from cz_sandbox.cw_conditions import parse_datetime
from cz_sandbox.cw_seed import Invoice, World, fmt, money

BILLING_STATUSES = [
    {"id": 1, "name": "New", "sortOrder": 1, "defaultFlag": True, "closedFlag": False, "inactiveFlag": False,
     "sentFlag": False},
    {"id": 2, "name": "Sent", "sortOrder": 2, "defaultFlag": False, "closedFlag": False, "inactiveFlag": False,
     "sentFlag": True},
    {"id": 13, "name": "Closed", "sortOrder": 3, "defaultFlag": False, "closedFlag": True, "inactiveFlag": False,
     "sentFlag": True},
    {"id": 14, "name": "Paid", "sortOrder": 4, "defaultFlag": False, "closedFlag": True, "inactiveFlag": False,
     "sentFlag": True},
    {"id": 15, "name": "Partially Paid", "sortOrder": 5, "defaultFlag": False, "closedFlag": False,
     "inactiveFlag": False, "sentFlag": True},
    {"id": 16, "name": "Void", "sortOrder": 6, "defaultFlag": False, "closedFlag": True, "inactiveFlag": True,
     "sentFlag": False},
]
CURRENCIES = [
    {"id": 1, "currencyIdentifier": "AUD", "name": "Australian Dollar", "symbol": "$",
     "currencyCode": {"id": 1, "name": "AUD"}},
    {"id": 2, "currencyIdentifier": "NZD", "name": "New Zealand Dollar", "symbol": "$",
     "currencyCode": {"id": 2, "name": "NZD"}},
    {"id": 3, "currencyIdentifier": "USD", "name": "US Dollar", "symbol": "US$",
     "currencyCode": {"id": 3, "name": "USD"}},
]
FIRST_PAYMENT_ID = 70001
PAYMENT = "invoicePayment"
PATCHABLE = {"status", "customerPO", "internalNotes"}

KNOWN = {
    "billingstatuses": "id name sortOrder defaultFlag closedFlag inactiveFlag sentFlag",
    "payments": "id type source amount paymentDate invoice/* credit/* appliedBy balance invoiceBalance "
                "invoiceTotal paymentSyncStatus",
    "currencies": "id currencyIdentifier name symbol currencyCode/* displayIdFlag displaySymbolFlag "
                  "numberOfDecimals",
}


@dataclass
class Payment:
    id: int
    invoice_id: int
    amount: Decimal
    date: datetime
    balance_after: Decimal
    entered_at: datetime
    credit_id: int | None = None  # a credit application: the credit memo applied (module docstring)


@dataclass
class Finance:
    world: World
    payments: dict[int, Payment] = field(default_factory=dict)
    status: dict[int, int] = field(default_factory=dict)  # invoice id -> billing status id (else Closed, 13)
    extra: dict[int, dict[str, Any]] = field(default_factory=dict)  # invoice id -> customerPO / internalNotes
    next_payment_id: int = FIRST_PAYMENT_ID

    def paid(self, invoice_id: int) -> Decimal:
        """The invoice's cash payment (at most one)."""
        return sum((p.amount for p in self.payments.values() if p.invoice_id == invoice_id and p.credit_id is None),
                   Decimal(0))

    def credits(self, inv: Invoice) -> Decimal:
        """The Invoice ``credits`` field: credit applied to an invoice; on a credit memo, what has been applied
        from it, negative (module docstring)."""
        if inv.is_credit_memo:
            return -sum((p.amount for p in self.payments.values() if p.credit_id == inv.id), Decimal(0))
        return sum((p.amount for p in self.payments.values() if p.invoice_id == inv.id and p.credit_id is not None),
                   Decimal(0))

    def balance(self, inv: Invoice) -> Decimal:
        return Decimal(str(inv.total)) - self.paid(inv.id) - self.credits(inv)

    def decorate(self, inv: Invoice, base: dict[str, Any]) -> dict[str, Any]:
        """The accounting world's rendered invoice with this module's payments, credits, balance and status."""
        out = dict(base)
        out["payments"] = money(self.paid(inv.id))
        out["credits"] = money(self.credits(inv))
        out["balance"] = money(self.balance(inv))
        if inv.id in self.status:
            st = next(s for s in BILLING_STATUSES if s["id"] == self.status[inv.id])
            out["status"] = {"id": st["id"], "name": st["name"], "isClosed": st["closedFlag"]}
        out.update(self.extra.get(inv.id, {}))
        return out

    def _invoice(self, raw: str) -> Invoice:
        inv = self.world.invoices.get(int(raw)) if raw.isdigit() else None
        if inv is None:
            raise not_found("Invoice", raw)
        return inv

    def _touch(self, inv: Invoice, stamp: datetime) -> None:
        inv.updated_at, inv.updated_by = stamp, API_MEMBER

    # ------------------------------------------------------------ payments

    def render_payment(self, p: Payment) -> dict[str, Any]:
        inv = self.world.invoices.get(p.invoice_id)
        out = {"id": p.id, "type": "Payment" if p.credit_id is None else "Credit", "source": "Default",
               "amount": money(p.amount), "paymentDate": fmt(p.date),
               "invoice": {"id": p.invoice_id, "identifier": inv.number if inv else None},
               "appliedBy": API_MEMBER, "balance": money(p.balance_after),
               "invoiceBalance": money(self.balance(inv)) if inv else 0.0,
               "invoiceTotal": inv.total if inv else 0.0, "paymentSyncStatus": "Applied",
               "_info": info(p.entered_at, API_MEMBER)}
        if p.credit_id is not None:
            memo = self.world.invoices.get(p.credit_id)
            out["credit"] = {"id": p.credit_id, "identifier": memo.number if memo else None,
                             "_info": {"invoice_href": href(f"finance/invoices/{p.credit_id}")}}
        return out

    def payments_of(self, raw: str) -> list[dict[str, Any]]:
        inv = self._invoice(raw)
        return [self.render_payment(p) for p in self.payments.values() if p.invoice_id == inv.id]

    def payment(self, raw_invoice: str, raw_id: str) -> dict[str, Any]:
        inv = self._invoice(raw_invoice)
        p = self.payments.get(int(raw_id)) if raw_id.isdigit() else None
        if p is None or p.invoice_id != inv.id:
            raise not_found("InvoicePayment", raw_id)
        return self.render_payment(p)

    def _amount(self, raw_amount: Any) -> Decimal:
        if raw_amount is None:
            raise invalid(PAYMENT, "The amount field is required.", "MissingRequiredField", "amount")
        try:
            if isinstance(raw_amount, bool):
                raise InvalidOperation
            amount = Decimal(str(raw_amount))
        except InvalidOperation:
            raise invalid(PAYMENT, "amount must be a number.", fld="amount") from None
        if not amount.is_finite() or amount <= 0:
            raise invalid(PAYMENT, "Payment amount must be greater than zero.", fld="amount")
        if amount != amount.quantize(Decimal("0.01")):
            raise invalid(PAYMENT, "Payment amount may have at most two decimal places.", fld="amount")
        return amount

    def _date(self, raw: Any, default: datetime) -> datetime:
        if not raw:
            return default
        when = parse_datetime(str(raw))
        if when is None:
            raise invalid(PAYMENT, "paymentDate is not a valid date.", fld="paymentDate")
        return when  # type: ignore[return-value]

    def add_payment(self, raw: str, body: Any) -> dict[str, Any]:
        inv = self._invoice(raw)
        if not isinstance(body, dict):
            raise CwError(400, {"code": "InvalidObject", "message": "The request body must be an InvoicePayment "
                                "object.", "errors": []})
        if body.get("credit") is not None:
            return self.apply_credit(inv, self._credit_memo(body["credit"]), body.get("amount"),
                                     body.get("paymentDate"))
        if inv.is_credit_memo:
            raise invalid(PAYMENT, f"Invoice {inv.number} is a credit memo: it takes no payment; apply it to an "
                          "invoice instead (a payment on that invoice with credit set).", fld="invoice")
        existing = next((p for p in self.payments.values() if p.invoice_id == inv.id and p.credit_id is None), None)
        if existing is not None:
            raise invalid(PAYMENT, f"Invoice {inv.number} already has a payment (id {existing.id}); only one "
                          "payment is allowed per invoice.", "ObjectExists", "invoice")
        amount = self._amount(body.get("amount"))
        balance = self.balance(inv)
        if amount > balance:
            raise invalid(PAYMENT, f"Payment amount exceeds invoice balance ({money(balance):.2f}).",
                          fld="amount")
        stamp = now()
        p = Payment(id=self.next_payment_id, invoice_id=inv.id, amount=amount,
                    date=self._date(body.get("paymentDate"), stamp), balance_after=balance - amount,
                    entered_at=stamp)
        self.next_payment_id += 1
        self.payments[p.id] = p
        self._touch(inv, stamp)
        return self.render_payment(p)

    def _credit_memo(self, ref: Any) -> Invoice:
        """The credit memo a payment's ``credit`` names: an InvoiceReference by id (or identifier), or an id."""
        memo = None
        if isinstance(ref, dict) and ref.get("id") is not None:
            memo = self.world.invoices.get(ref["id"]) if isinstance(ref["id"], int) else None
        elif isinstance(ref, dict) and ref.get("identifier") is not None:
            memo = next((i for i in self.world.invoices.values() if i.number == str(ref["identifier"])
                         and i.is_credit_memo), None)
        elif isinstance(ref, int) and not isinstance(ref, bool):
            memo = self.world.invoices.get(ref)
        if memo is None:
            raise invalid(PAYMENT, f"credit {ref!r} does not name an invoice.", fld="credit")
        if not memo.is_credit_memo:
            raise invalid(PAYMENT, f"credit names invoice {memo.number}, which is not a credit memo.", fld="credit")
        return memo

    def apply_credit(self, inv: Invoice, memo: Invoice, raw_amount: Any, raw_date: Any) -> dict[str, Any]:
        """Apply ``memo`` to ``inv``: an InvoicePayment on ``inv`` with ``credit`` naming the memo (module
        docstring). Not counted as the invoice's one payment (a choice: the reference is silent)."""
        if inv.is_credit_memo:
            raise invalid(PAYMENT, f"Invoice {inv.number} is a credit memo: a credit memo is applied to an invoice, "
                          "not to another credit memo.", fld="invoice")
        if memo.company_id != inv.company_id:
            raise invalid(PAYMENT, f"Credit memo {memo.number} is for another company than invoice {inv.number}; "
                          "a credit memo is applied only to its own company's invoices.", fld="credit")
        amount = self._amount(raw_amount)
        balance = self.balance(inv)
        if amount > balance:
            raise invalid(PAYMENT, f"Payment amount exceeds invoice balance ({money(balance):.2f}).", fld="amount")
        remaining = -self.balance(memo)
        if amount > remaining:
            raise invalid(PAYMENT, f"Payment amount exceeds the credit remaining on credit memo {memo.number} "
                          f"({money(remaining):.2f}).", fld="amount")
        stamp = now()
        p = Payment(id=self.next_payment_id, invoice_id=inv.id, amount=amount, date=self._date(raw_date, stamp),
                    balance_after=balance - amount, entered_at=stamp, credit_id=memo.id)
        self.next_payment_id += 1
        self.payments[p.id] = p
        self._touch(inv, stamp)
        self._touch(memo, stamp)
        return self.render_payment(p)

    def admin_apply(self, body: dict[str, Any]) -> dict[str, Any]:
        """/_sandbox/credit-applications {invoice_id, credit_memo_id, amount, paymentDate?}: as a user applies a
        credit memo on the invoice screen; 201 InvoicePayment (ConnectWise's 400 shape when it is refused)."""
        inv = self._invoice(str(int(body["invoice_id"])))
        return self.apply_credit(inv, self._credit_memo(int(body["credit_memo_id"])), body.get("amount"),
                                 body.get("paymentDate"))

    def change_payment(self, raw_invoice: str, raw_id: str, body: Any, method: str) -> dict[str, Any]:
        """PATCH (amount, paymentDate) or PUT (a whole InvoicePayment) of the invoice's one payment."""
        self.payment(raw_invoice, raw_id)
        p = self.payments[int(raw_id)]
        inv = self.world.invoices[p.invoice_id]
        if method == "PATCH":
            fields = {}
            for op, path, value in patch_ops(body, PAYMENT):
                if path not in ("amount", "paymentDate"):
                    raise invalid(PAYMENT, f"{path} cannot be changed on a payment (the simulator patches amount "
                                  "and paymentDate).", fld=path)
                if op == "remove":
                    raise invalid(PAYMENT, f"{path} is required.", "MissingRequiredField", path)
                fields[path] = value
        elif isinstance(body, dict):
            fields = {"amount": body.get("amount"), "paymentDate": body.get("paymentDate")}
            if body.get("credit") is not None and (p.credit_id is None or self._credit_memo(body["credit"]).id
                                                   != p.credit_id):
                raise invalid(PAYMENT, "credit cannot be changed on a payment: delete it and apply the other "
                              "credit memo.", fld="credit")
        else:
            raise CwError(400, {"code": "InvalidObject", "message": "The request body must be an InvoicePayment "
                                "object.", "errors": []})
        amount = self._amount(fields["amount"]) if "amount" in fields else p.amount
        available = self.balance(inv) + p.amount
        if amount > available:
            raise invalid(PAYMENT, f"Payment amount exceeds invoice balance ({money(available):.2f}).",
                          fld="amount")
        memo = self.world.invoices.get(p.credit_id) if p.credit_id is not None else None
        if memo is not None and amount > -self.balance(memo) + p.amount:
            raise invalid(PAYMENT, f"Payment amount exceeds the credit remaining on credit memo {memo.number} "
                          f"({money(-self.balance(memo) + p.amount):.2f}).", fld="amount")
        stamp = now()
        p.amount, p.balance_after = amount, available - amount
        if "paymentDate" in fields:
            p.date = self._date(fields["paymentDate"], p.date)
        self._touch(inv, stamp)
        if memo is not None:
            self._touch(memo, stamp)
        return self.render_payment(p)

    def delete_payment(self, raw_invoice: str, raw_id: str) -> None:
        self.payment(raw_invoice, raw_id)
        p = self.payments.pop(int(raw_id))
        stamp = now()
        self._touch(self.world.invoices[p.invoice_id], stamp)
        if p.credit_id is not None and p.credit_id in self.world.invoices:
            self._touch(self.world.invoices[p.credit_id], stamp)

    # ------------------------------------------------------------ status

    def _status_id(self, value: Any) -> int:
        if isinstance(value, dict):
            if value.get("id") is not None:
                found = next((s for s in BILLING_STATUSES if s["id"] == value["id"]), None)
            else:
                found = next((s for s in BILLING_STATUSES
                              if s["name"].casefold() == str(value.get("name", "")).casefold()), None)
            if found is not None:
                return int(found["id"])
        raise invalid("invoice", f"status {value!r} is not a billing status (see finance/billingStatuses).",
                      fld="status")

    def patch_invoice(self, raw: str, body: Any) -> Invoice:
        inv = self._invoice(raw)
        ops = patch_ops(body, "invoice")
        changes: dict[str, Any] = {}
        for op, path, value in ops:
            if path not in PATCHABLE:
                raise invalid("invoice", f"{path} cannot be changed on a closed invoice (the simulator patches "
                              f"{', '.join(sorted(PATCHABLE))}).", fld=path)
            if path == "status":
                if op == "remove":
                    raise invalid("invoice", "status is required.", "MissingRequiredField", "status")
                changes["status"] = self._status_id(value)
            else:
                changes[path] = None if op == "remove" else str(value)
        self._apply(inv, changes)
        return inv

    def put_invoice(self, raw: str, body: Any) -> Invoice:
        """PUT: a whole Invoice; only status, customerPO and internalNotes take effect on a closed invoice."""
        inv = self._invoice(raw)
        if not isinstance(body, dict):
            raise CwError(400, {"code": "InvalidObject", "message": "The request body must be an Invoice object.",
                                "errors": []})
        for required in ("type", "company"):
            if not body.get(required):
                raise invalid("invoice", f"The {required} field is required.", "MissingRequiredField", required)
        changes: dict[str, Any] = {"customerPO": body.get("customerPO"), "internalNotes": body.get("internalNotes")}
        if body.get("status"):
            changes["status"] = self._status_id(body["status"])
        self._apply(inv, changes)
        return inv

    def closed_invoice(self, raw: str) -> dict[str, Any]:
        """GET finance/closedInvoices/{id}: the ClosedInvoice view {id, status, internalNotes, _info}."""
        inv = self._invoice(raw)
        full = self.world.render_invoice(inv)
        return {k: full[k] for k in ("id", "status", "internalNotes", "_info") if k in full}

    def put_closed_invoice(self, raw: str, body: Any) -> Invoice:
        inv = self._invoice(raw)
        if not isinstance(body, dict) or not body.get("status"):
            raise invalid("closedInvoice", "The status field is required.", "MissingRequiredField", "status")
        self._apply(inv, {"status": self._status_id(body["status"]), "internalNotes": body.get("internalNotes")})
        return inv

    def _apply(self, inv: Invoice, changes: dict[str, Any]) -> None:
        if "status" in changes:
            self.status[inv.id] = changes.pop("status")
        extra = self.extra.setdefault(inv.id, {})
        for key, value in changes.items():
            if value is None:
                extra.pop(key, None)
            else:
                extra[key] = value
        self._touch(inv, now())

    def state(self) -> dict[str, Any]:
        return {"payments": [self.render_payment(p) for p in sorted(self.payments.values(), key=lambda p: p.id)]}


__all__ = ["BILLING_STATUSES", "CURRENCIES", "KNOWN", "Finance"]
