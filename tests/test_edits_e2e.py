"""Invoices edited in ConnectWise after they were posted (issue 13, point 2): un-batched, edited and closed again,
an invoice comes back in the export with new content and new GL entries. Where Xero still allows it, the same
Xero invoice is updated in place (same InvoiceID, the ledger keeping both versions); where it does not (money is
applied to it), the record is in error naming both documents, and nothing is posted a second time."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from cz_dagster.store.ledger import Ledger
from cz_sandbox import demo
from tests.dagster_helpers import metadata, run_assets
from tests.test_invoices_e2e import ADL

TID = demo.LOCATIONS["adelaide"]["xero_tenant_id"]
MONEY = ["xero/contacts", "xero/invoices", "xero/credit_notes", "connectwise/invoice_payments"]


def unbatch_and_edit(demo_env, cw_id: int, edit: dict) -> dict:  # noqa: ANN001
    """What a ConnectWise user does: delete the accounting batch holding the invoice, edit it, close it again."""
    sandbox = demo_env.sandbox
    [row] = [r for r in Ledger(demo_env.store, "demo", "adelaide", "invoices").rows([str(cw_id)]) if r.ack_ref]
    [batch] = sandbox.cw_get("finance/accounting/batches", conditions=f'batchIdentifier="{row.ack_ref}"')
    sandbox.cw_delete(f"finance/accounting/batches/{batch['id']}")
    return sandbox.post("connectwise", f"/_sandbox/invoices/{cw_id}/edit", edit)


def xero_by_number(sandbox) -> dict[str, dict]:  # noqa: ANN001
    invoices = [i for i in sandbox.org("adelaide")["invoices"] if i["Type"] == "ACCREC"]
    counts = Counter(i["InvoiceNumber"] for i in invoices)
    assert not [n for n, c in counts.items() if c > 1], counts  # never posted a second time
    return {i["InvoiceNumber"]: i for i in invoices}


def test_edited_invoice_updates_the_same_xero_invoice(demo_env):
    sandbox = demo_env.sandbox
    run_assets(demo_env.store_env, MONEY, ADL)
    before = xero_by_number(sandbox)
    cw = sorted((i for i in sandbox.cw_state()["invoices"] if i["invoiceNumber"] in before),
                key=lambda i: i["invoiceNumber"])[0]
    edited = unbatch_and_edit(demo_env, cw["id"], {"changeLines": [{"line": 1, "quantity": 3}]})
    assert Decimal(str(edited["total"])) != Decimal(str(before[cw["invoiceNumber"]]["Total"]))
    meta = metadata(run_assets(demo_env.store_env, MONEY, ADL), "xero/invoices")
    assert meta["updated"] == 1 and meta["posted"] == 0, meta
    after = xero_by_number(sandbox)[cw["invoiceNumber"]]
    assert after["InvoiceID"] == before[cw["invoiceNumber"]]["InvoiceID"]
    assert Decimal(str(after["Total"])) == Decimal(str(edited["total"])).quantize(Decimal("0.01"))
    rows = Ledger(demo_env.store, "demo", "adelaide", "invoices").rows([str(cw["id"])])
    assert len(rows) == 2 and {r.state for r in rows} == {"done"}  # both versions kept
    assert {r.target_id for r in rows} == {after["InvoiceID"]}
    # ConnectWise: the edited invoice and the ones the un-batching returned are all marked posted again
    unposted = {u["id"] for u in sandbox.cw_state()["unposted_invoices"]}
    assert not unposted & {i["id"] for i in sandbox.cw_state()["invoices"] if i["invoiceNumber"] in before}
    again = metadata(run_assets(demo_env.store_env, MONEY, ADL), "xero/invoices")
    assert again["updated"] == 0 and again["posted"] == 0


def test_edit_of_a_paid_invoice_is_refused_naming_both_documents(demo_env):
    sandbox = demo_env.sandbox
    run_assets(demo_env.store_env, MONEY, ADL)
    before = xero_by_number(sandbox)
    cw = sorted((i for i in sandbox.cw_state()["invoices"] if i["invoiceNumber"] in before),
                key=lambda i: i["invoiceNumber"])[1]
    xero_inv = before[cw["invoiceNumber"]]
    sandbox.post("xero", "/_sandbox/payments", {"tenant_id": TID, "InvoiceNumber": cw["invoiceNumber"],
                                                "Amount": 10.0})
    run_assets(demo_env.store_env, MONEY, ADL)  # the payment reaches ConnectWise
    unbatch_and_edit(demo_env, cw["id"], {"changeLines": [{"line": 1, "quantity": 4}]})
    result = run_assets(demo_env.store_env, MONEY, ADL)
    meta = metadata(result, "xero/invoices")
    assert meta["updated"] == 0 and meta["posted"] == 0 and meta["failed"] == 1, meta
    errors = {r.source_id: r.last_error for r in
              Ledger(demo_env.store, "demo", "adelaide", "invoices").in_state("error")}
    message = errors[str(cw["id"])]
    assert xero_inv["InvoiceID"] in message and cw["invoiceNumber"] in message
    assert "10.00 is paid on it" in message and "Credit the old document in Xero and re-bill" in message
    after = xero_by_number(sandbox)[cw["invoiceNumber"]]
    assert after["Total"] == xero_inv["Total"] and after["InvoiceID"] == xero_inv["InvoiceID"]
