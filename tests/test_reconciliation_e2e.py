"""``reports/reconciliation`` (issue 13, point 6): after a month of invoices, credit notes, bills and payments the
books agree (0 differences, ``books_agree`` passes); a Xero document tampered with shows exactly that difference,
a voided Xero invoice shows as voided, a document with our reference that the product did not post shows as a
stray; the last count reaches the daily summary's data. Both backends, the simulators over real HTTP."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx

from cz_dagster.assets.reconciliation import CURSOR
from cz_dagster.resources.recorder import CallRecorder
from cz_dagster.resources.xero import XeroResource
from cz_dagster.store.cursors import Cursors
from cz_sandbox import demo
from tests.dagster_helpers import metadata, run_assets
from tests.test_credit_notes_e2e import apply_credit, credit_memo, posted_invoice
from tests.test_invoices_e2e import ADL

TID = demo.LOCATIONS["adelaide"]["xero_tenant_id"]
MONEY = ["xero/tax_rates", "xero/accounts", "xero/currencies", "xero/tracking_categories", "xero/contacts",
         "xero/invoices", "xero/credit_notes", "xero/bills", "connectwise/invoice_payments"]
RECON = ["reports/reconciliation"]


def reconcile(demo_env) -> tuple[dict, bool]:  # noqa: ANN001
    result = run_assets(demo_env.store_env, RECON, ADL)
    checks = [e for e in result.get_asset_check_evaluations() if e.check_name == "books_agree"]
    assert len(checks) == 1
    return metadata(result, RECON[0]), checks[0].passed


def stray(demo_env, contact_id: str) -> None:  # noqa: ANN001
    """An invoice entered in Xero through its API by someone else, with a Reference in our format."""
    store = demo_env.store
    xc = XeroResource().client(store, "demo", TID, "adelaide", CallRecorder(store, "demo", "adelaide", "test"))
    xc.call("invoices", xc.accounting.create_invoices, invoices={"Invoices": [{
        "Type": "ACCREC", "Contact": {"ContactID": contact_id}, "Reference": "CW-INV-999999", "Status": "AUTHORISED",
        "InvoiceNumber": "HAND-1", "Date": "2026-11-30", "DueDate": "2026-12-30", "LineAmountTypes": "Exclusive",
        "LineItems": [{"Description": "Typed in Xero", "Quantity": 1, "UnitAmount": 10, "AccountCode": "200",
                       "TaxType": "OUTPUT"}]}]})


def test_books_agree_then_each_tampering_shows_exactly_its_difference(demo_env):
    sandbox = demo_env.sandbox
    invoice = posted_invoice(demo_env)
    memo = credit_memo(sandbox, invoice, "CM-R1", Decimal("50.00"))
    apply_credit(sandbox, invoice, memo, -Decimal(str(next(
        i for i in sandbox.cw_state()["invoices"] if i["invoiceNumber"] == "CM-R1")["total"])))
    second = posted_invoice(demo_env, 1)
    sandbox.post("xero", "/_sandbox/payments", {"tenant_id": TID, "InvoiceNumber": second["invoiceNumber"],
                                                "Amount": 100.0})
    run_assets(demo_env.store_env, MONEY, ADL)
    meta, agree = reconcile(demo_env)
    assert meta["differences"] == 0 and agree, meta["table"]
    assert meta["checked"] >= 10  # the demo's invoices and bills, the credit note
    kept = json.loads(Cursors(demo_env.store, "demo", "adelaide").get(CURSOR))
    assert kept["differences"] == 0 and kept["checked"] == meta["checked"]

    # a person changes a line of one invoice in Xero (a cent more): exactly that invoice's total and balance
    third = posted_invoice(demo_env, 2)["xero"]
    lines = [{k: line.get(k) for k in ("LineItemID", "Description", "Quantity", "UnitAmount", "AccountCode",
                                        "TaxType")} for line in third["LineItems"]]
    lines[0]["UnitAmount"] = float(Decimal(str(lines[0]["UnitAmount"])) + Decimal("0.01"))
    edit = httpx.post(f"{sandbox.xero_url}/_sandbox/invoices/{third['InvoiceID']}/edit",
                      json={"tenant_id": TID, "LineItems": lines}, timeout=30)
    assert edit.status_code == 200, edit.text
    meta, agree = reconcile(demo_env)
    assert not agree and meta["differences"] == 2, meta["table"]  # its total, and so its amount due
    table = str(meta["table"])
    assert f"invoice {third['InvoiceNumber']}" in table and "edited in one system only" in table

    # a voided Xero invoice (one with nothing paid on it) shows as voided
    fourth = posted_invoice(demo_env, 3)["xero"]
    sandbox.post("xero", f"/_sandbox/invoices/{fourth['InvoiceID']}/edit", {"tenant_id": TID, "Status": "VOIDED"})
    meta, _ = reconcile(demo_env)
    assert meta["differences"] == 3 and "voided in Xero" in str(meta["table"]), meta["table"]

    # an invoice with our reference that the product never posted
    stray(demo_env, fourth["Contact"]["ContactID"])
    meta, _ = reconcile(demo_env)
    assert meta["differences"] == 4 and "CW-INV-999999" in str(meta["table"]), meta["table"]
