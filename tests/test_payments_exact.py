"""One ConnectWise payment per invoice, set to what Xero says is paid: partial payments, reversals, re-payments,
kills at every write point, and overlapping runs (issue 9). Both backends, the simulators over HTTP."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cz_dagster.resources.recorder import NO_ANSWER
from cz_dagster.store.cursors import Cursors
from cz_dagster.store.ledger import Ledger
from cz_dagster.store.synclog import SyncLog
from cz_sandbox import demo
from tests.dagster_helpers import metadata, run_assets
from tests.test_crash_safety import Point, _alive, kill_at
from tests.test_invoices_e2e import ADL, MONEY

PAYMENTS = ["connectwise/invoice_payments"]
TID = demo.LOCATIONS["adelaide"]["xero_tenant_id"]
CW_POST = dict(system="connectwise", path="*/finance/invoices/*/payments", method="POST")
CW_PATCH_PAYMENT = dict(system="connectwise", path="*/finance/invoices/*/payments/*", method="PATCH")
CW_PATCH_ANY = dict(system="connectwise", path="*/finance/invoices/*", method="PATCH")


def pay(sandbox, number: str, amount: Decimal) -> dict:  # noqa: ANN001
    return sandbox.post("xero", "/_sandbox/payments", {"tenant_id": TID, "InvoiceNumber": number,
                                                       "Amount": float(amount)})


def sync(demo_env) -> dict:  # noqa: ANN001
    return metadata(run_assets(demo_env.store_env, PAYMENTS, ADL), PAYMENTS[0])


def assert_agrees(demo_env, number: str) -> list[dict]:  # noqa: ANN001
    """ConnectWise holds at most one payment on the invoice, of Xero's AmountPaid; balances and Paid agree."""
    sandbox = demo_env.sandbox
    xero_inv = next(i for i in sandbox.org("adelaide")["invoices"] if i["InvoiceNumber"] == number)
    cw_inv = next(i for i in sandbox.cw_state()["invoices"] if i["invoiceNumber"] == number)
    payments = sandbox.cw_get(f"finance/invoices/{cw_inv['id']}/payments")
    assert len(payments) <= 1, payments
    assert sum((Decimal(str(p["amount"])) for p in payments), Decimal(0)) == Decimal(str(xero_inv["AmountPaid"]))
    assert Decimal(str(cw_inv["balance"])) == Decimal(str(xero_inv["AmountDue"]))
    assert (cw_inv["status"]["name"] == "Paid") == (Decimal(str(xero_inv["AmountDue"])) == 0), cw_inv["status"]
    rows = Ledger(demo_env.store, "demo", "adelaide", "payments").rows([str(cw_inv["id"])])
    assert not [r for r in rows if r.state in ("pending", "sending", "error")], rows
    return payments


def first_invoice(demo_env, n: int = 0) -> tuple[str, Decimal]:  # noqa: ANN001
    run_assets(demo_env.store_env, MONEY, ADL)
    invoices = sorted(demo_env.sandbox.org("adelaide")["invoices"], key=lambda i: i["InvoiceNumber"])
    inv = [i for i in invoices if i["Type"] == "ACCREC"][n]
    return inv["InvoiceNumber"], Decimal(str(inv["Total"]))


def test_three_partials_one_reversed_through_kills_at_every_write(demo_env, zygote):
    """Paid in three parts (the third settles it), the second then reversed in Xero, the rest reversed, paid
    again; each step's write is killed -- before ConnectWise saw the call or after it acted, on the payment's
    create, update and delete and on the invoice's status -- and a re-run converges on one right payment."""
    sandbox = demo_env.sandbox
    number, total = first_invoice(demo_env)
    p1 = (total / 4).quantize(Decimal("0.01"))
    p2 = (total / 3).quantize(Decimal("0.01"))
    p3 = total - p1 - p2
    made: dict[str, dict] = {}

    def pay_as(name: str, amount: Decimal):  # noqa: ANN202
        return lambda: made.update({name: pay(sandbox, number, amount)})

    def delete(*names: str):  # noqa: ANN202
        return lambda: [sandbox.post("xero", f"/_sandbox/payments/{made[n]['PaymentID']}/delete") for n in names]

    cw_delete = dict(system="connectwise", path="*/finance/invoices/*/payments/*", method="DELETE")
    steps = [
        ("first part: the payment is made", pay_as("p1", p1), Point("POST before", when="before", **CW_POST),
         p1),
        ("second part: it is raised", pay_as("p2", p2), Point("PATCH after", when="after", **CW_PATCH_PAYMENT),
         p1 + p2),
        ("third part: paid in full", pay_as("p3", p3),
         Point("status before", when="before", skip=1, **CW_PATCH_ANY), total),
        ("second reversed: lowered, reopened", delete("p2"),
         Point("PATCH before", when="before", **CW_PATCH_PAYMENT), p1 + p3),
        ("the rest reversed: removed", delete("p1", "p3"), Point("DELETE after", when="after", **cw_delete),
         Decimal(0)),
        ("paid again in part: made again", pay_as("p4", p2), Point("POST after", when="after", **CW_POST), p2),
        ("and the rest: paid in full", pay_as("p5", total - p2),
         Point("status after", when="after", skip=1, **CW_PATCH_ANY), total),
    ]
    for name, act, point, expected in steps:
        act()
        kill_at(demo_env, zygote, point, ADL, PAYMENTS)
        meta = sync(demo_env)
        assert meta["failed"] == 0, (name, meta.get("errors"))
        payments = assert_agrees(demo_env, number)
        assert sum((Decimal(str(p["amount"])) for p in payments), Decimal(0)) == expected, name


def test_reverse_then_pay_in_full_late(demo_env):
    """A partial payment reaches ConnectWise; in Xero it is deleted and the invoice paid in full. Before the fix
    the next run reversed the part, then refused the full payment against a balance read before the reversal,
    and a later run never fetched it again. Now: one payment of the total, Paid; and a row that fails is retried
    by every later run however far the cursor has moved."""
    sandbox = demo_env.sandbox
    number, total = first_invoice(demo_env)
    part = (total * Decimal("0.3")).quantize(Decimal("0.01"))
    partial = pay(sandbox, number, part)
    assert sync(demo_env)["applied"] == 1
    sandbox.post("xero", f"/_sandbox/payments/{partial['PaymentID']}/delete")
    pay(sandbox, number, total)
    meta = sync(demo_env)
    assert meta["failed"] == 0, meta.get("errors")
    [payment] = assert_agrees(demo_env, number)
    assert Decimal(str(payment["amount"])) == total

    # the same, with ConnectWise refusing the write once and the next sync long after (the cursor moved on)
    number2, total2 = first_invoice(demo_env, 1)
    partial = pay(sandbox, number2, (total2 / 2).quantize(Decimal("0.01")))
    sync(demo_env)
    sandbox.post("xero", f"/_sandbox/payments/{partial['PaymentID']}/delete")
    pay(sandbox, number2, total2)
    sandbox.fault("connectwise", path="*/finance/invoices/*/payments/*", method="PATCH", kind="status",
                  status=400, body={"code": "InvalidObject", "message": "invoicePayment object is invalid",
                                    "errors": [{"code": "InvalidField", "message": "Try later"}]}, count=1)
    meta = sync(demo_env)
    assert meta["failed"] == 1 and number2 in str(meta["errors"])
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    Cursors(demo_env.store, "demo", "adelaide").put("xero_payments_modified_since", later)
    meta = sync(demo_env)
    assert meta["failed"] == 0, meta.get("errors")
    [payment] = assert_agrees(demo_env, number2)
    assert Decimal(str(payment["amount"])) == total2


def test_kill_after_connectwise_applied_then_reversal(demo_env, zygote):
    """A run is SIGKILLed after ConnectWise applied a payment and before the ledger recorded it; the payment is
    then deleted in Xero. Before the fix every later run ignored it (the row stayed 'sending') and ConnectWise
    kept money Xero no longer had. The killed run's request is in the sync log, marked as never answered."""
    sandbox = demo_env.sandbox
    number, total = first_invoice(demo_env)
    made = pay(sandbox, number, (total / 5).quantize(Decimal("0.01")))
    kill_at(demo_env, zygote, Point("POST after", when="after", **CW_POST), ADL, PAYMENTS)
    cw_inv = next(i for i in sandbox.cw_state()["invoices"] if i["invoiceNumber"] == number)
    assert len(sandbox.cw_get(f"finance/invoices/{cw_inv['id']}/payments")) == 1  # ConnectWise did apply it
    orphan = [e for e in SyncLog(demo_env.store, "demo").read(surface="payments", limit=1000)
              if e.method == "POST" and e.url.endswith(f"/finance/invoices/{cw_inv['id']}/payments")]
    assert orphan and orphan[-1].status is None and orphan[-1].error == NO_ANSWER and orphan[-1].request
    sandbox.post("xero", f"/_sandbox/payments/{made['PaymentID']}/delete")
    meta = sync(demo_env)
    assert meta["failed"] == 0 and meta["reversed"] == 1, meta.get("errors")
    assert assert_agrees(demo_env, number) == []
    assert Ledger(demo_env.store, "demo", "adelaide", "payments").in_state("sending") == []


def test_overlapping_payment_runs_exactly_one_writes(demo_env, zygote, monkeypatch):
    """Two runs of the same payment flow at once (say the schedule's and one from a shell): the second finds
    the lease held, writes nothing and says why; the first applies every payment once."""
    sandbox = demo_env.sandbox
    run_assets(demo_env.store_env, MONEY, ADL)
    invoices = sorted((i for i in sandbox.org("adelaide")["invoices"] if i["Type"] == "ACCREC"),
                      key=lambda i: i["InvoiceNumber"])[:3]
    for inv in invoices:
        pay(sandbox, inv["InvoiceNumber"], (Decimal(str(inv["Total"])) / 2).quantize(Decimal("0.01")))
    rule = sandbox.fault("connectwise", path="*/finance/invoices/*/payments", method="POST", kind="delay",
                         delay=6.0, count=1)
    log = demo_env.store_env.settings.data_dir / "first-run.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    first = zygote.spawn(ADL, PAYMENTS, demo_env.store_env.env, str(log))
    deadline = time.monotonic() + 60
    while rule["id"] in {r["id"] for r in sandbox.faults("connectwise")}:  # the first run is mid-write
        assert _alive(first) and time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.05)
    monkeypatch.setenv("CZ_LEASE_WAIT_SECONDS", "0")
    second = sync(demo_env)
    assert second["skipped_reason"].startswith("another run is syncing payments for adelaide"), second
    assert "api_calls_connectwise" not in second  # it called nothing
    while _alive(first):
        time.sleep(0.05)
    assert "RUN_SUCCESS" in log.read_text() or "Finished execution of run" in log.read_text(), log.read_text()[-2000:]
    for inv in invoices:
        [payment] = assert_agrees(demo_env, inv["InvoiceNumber"])
        assert Decimal(str(payment["amount"])) == (Decimal(str(inv["Total"])) / 2).quantize(Decimal("0.01"))
    posts = [e for e in SyncLog(demo_env.store, "demo").read(surface="payments", limit=1000) if e.method == "POST"]
    assert len(posts) == len(invoices)  # one write per invoice, all from the first run
    assert {e.run_id for e in posts} != {None} and len({e.run_id for e in posts}) == 1
