"""Credit memos -> Xero credit notes, credit applied in ConnectWise -> the same allocation in Xero, and non-cash
settlements in Xero -> the invoice's one ConnectWise payment (issue 13, points 1 and 4). Both backends, the
simulators over real HTTP, the real SDK; kills at the allocation's write points."""

from __future__ import annotations

from decimal import Decimal

from cz_dagster.store.ledger import Ledger
from cz_sandbox import demo
from tests.dagster_helpers import metadata, run_assets
from tests.test_crash_safety import Point, kill_at
from tests.test_invoices_e2e import ADL

TID = demo.LOCATIONS["adelaide"]["xero_tenant_id"]
LOC = demo.LOCATIONS["adelaide"]["cw_location_id"]
MONEY = ["xero/contacts", "xero/invoices", "xero/credit_notes", "connectwise/invoice_payments"]
LINE = {"description": "Service credit", "quantity": 1, "accountNumber": "200", "taxCodeXref": "OUTPUT"}
ALLOCATE = dict(system="xero", path="/api.xro/2.0/CreditNotes/*/Allocations", method="PUT")


def posted_invoice(demo_env, n: int = 0) -> dict:  # noqa: ANN001
    """The n-th demo invoice of Adelaide, posted to Xero, as ConnectWise holds it (with its Xero twin)."""
    run_assets(demo_env.store_env, MONEY, ADL)
    sandbox = demo_env.sandbox
    xero = {i["InvoiceNumber"]: i for i in sandbox.org("adelaide")["invoices"] if i["Type"] == "ACCREC"}
    cw = sorted((i for i in sandbox.cw_state()["invoices"] if i["invoiceNumber"] in xero),
                key=lambda i: i["invoiceNumber"])[n]
    return {**cw, "xero": xero[cw["invoiceNumber"]]}


def credit_memo(sandbox, invoice: dict, number: str, net: Decimal) -> dict:  # noqa: ANN001
    return sandbox.post("connectwise", "/_sandbox/unpostedinvoices", {
        "locationId": LOC, "companyId": invoice["company"]["id"], "invoiceNumber": number, "type": "CreditMemo",
        "lines": [{**LINE, "unitPrice": float(net)}]})


def apply_credit(sandbox, invoice: dict, memo: dict, amount: Decimal) -> dict:  # noqa: ANN001
    return sandbox.post("connectwise", "/_sandbox/credit-applications", {
        "invoice_id": invoice["id"], "credit_memo_id": memo["id"], "amount": float(amount)})


def xero_invoice(sandbox, number: str) -> dict:  # noqa: ANN001
    return next(i for i in sandbox.org("adelaide")["invoices"] if i["InvoiceNumber"] == number)


def cw_invoice(sandbox, number: str) -> dict:  # noqa: ANN001
    return next(i for i in sandbox.cw_state()["invoices"] if i["invoiceNumber"] == number)


def credit_notes(sandbox) -> dict[str, dict]:  # noqa: ANN001
    return {c["CreditNoteNumber"]: c for c in sandbox.org("adelaide")["credit_notes"]}


def assert_books_agree(demo_env, number: str) -> None:  # noqa: ANN001
    """ConnectWise's balance is Xero's AmountDue; at most one cash payment; Paid exactly when nothing is due."""
    sandbox = demo_env.sandbox
    xero, cw = xero_invoice(sandbox, number), cw_invoice(sandbox, number)
    assert Decimal(str(cw["balance"])) == Decimal(str(xero["AmountDue"])), (cw, xero["AmountDue"])
    cash = [p for p in sandbox.cw_get(f"finance/invoices/{cw['id']}/payments") if not p.get("credit")]
    assert len(cash) <= 1, cash
    assert (cw["status"]["name"] == "Paid") == (Decimal(str(xero["AmountDue"])) == 0), cw["status"]


def test_credit_memo_applied_in_connectwise_ends_allocated_with_zero_balances(demo_env):
    """A credit memo for the whole invoice, applied to it in ConnectWise: an ACCRECCREDIT credit note of the same
    number in Xero, allocated to the invoice once, the memo marked posted, and nothing due in either system."""
    sandbox = demo_env.sandbox
    invoice = posted_invoice(demo_env)
    total = Decimal(str(invoice["xero"]["Total"]))
    net = Decimal(str(invoice["xero"]["SubTotal"]))
    memo = credit_memo(sandbox, invoice, "CM-1001", net)
    assert Decimal(str(cw_invoice(sandbox, "CM-1001")["total"])) == -total  # the same tax on the same net
    apply_credit(sandbox, invoice, memo, total)
    result = run_assets(demo_env.store_env, MONEY, ADL)
    meta = metadata(result, "xero/credit_notes")
    assert meta["posted"] == 1 and meta["allocated"] == 1, meta
    note = credit_notes(sandbox)["CM-1001"]
    assert note["Type"] == "ACCRECCREDIT" and Decimal(str(note["Total"])) == total
    assert note["Reference"] == f"CW-INV-{memo['id']}" and note["Status"] == "PAID"
    assert [a["Invoice"]["InvoiceID"] for a in note["Allocations"]] == [invoice["xero"]["InvoiceID"]]
    assert Decimal(str(xero_invoice(sandbox, invoice["invoiceNumber"])["AmountDue"])) == 0
    assert memo["id"] not in {u["id"] for u in sandbox.cw_state()["unposted_invoices"]}  # marked posted
    assert_books_agree(demo_env, invoice["invoiceNumber"])
    # the demo's invoices are not taken for credit notes, nor the memo for an invoice
    assert "CM-1001" not in {i["InvoiceNumber"] for i in sandbox.org("adelaide")["invoices"]}
    again = metadata(run_assets(demo_env.store_env, MONEY, ADL), "xero/credit_notes")
    assert again["posted"] == 0 and again["allocated"] == 0 and again["allocations_unchanged"] == 1
    assert len(credit_notes(sandbox)["CM-1001"]["Allocations"]) == 1
    assert not Ledger(demo_env.store, "demo", "adelaide", "allocations").in_state("pending", "sending", "error")


def test_unapplied_credit_stays_open_in_xero(demo_env):
    sandbox = demo_env.sandbox
    invoice = posted_invoice(demo_env)
    credit_memo(sandbox, invoice, "CM-2001", Decimal("10.00"))
    meta = metadata(run_assets(demo_env.store_env, MONEY, ADL), "xero/credit_notes")
    assert meta["posted"] == 1 and meta["allocated"] == 0
    note = credit_notes(sandbox)["CM-2001"]
    assert note["Status"] == "AUTHORISED" and Decimal(str(note["RemainingCredit"])) == Decimal(str(note["Total"]))
    assert_books_agree(demo_env, invoice["invoiceNumber"])


def test_half_credit_note_half_cash_closes_with_one_payment(demo_env):
    """Half the invoice credited in ConnectWise, the other half paid in Xero: ConnectWise holds one cash payment
    of the cash half, the credit as its own application, and the invoice Paid with nothing due in either."""
    sandbox = demo_env.sandbox
    invoice = posted_invoice(demo_env, 1)
    total = Decimal(str(invoice["xero"]["Total"]))
    half_net = (Decimal(str(invoice["xero"]["SubTotal"])) / 2).quantize(Decimal("0.01"))
    memo = credit_memo(sandbox, invoice, "CM-3001", half_net)
    credit = -Decimal(str(cw_invoice(sandbox, "CM-3001")["total"]))
    apply_credit(sandbox, invoice, memo, credit)
    run_assets(demo_env.store_env, MONEY, ADL)
    sandbox.post("xero", "/_sandbox/payments", {"tenant_id": TID, "InvoiceNumber": invoice["invoiceNumber"],
                                                "Amount": float(total - credit)})
    meta = metadata(run_assets(demo_env.store_env, MONEY, ADL), "connectwise/invoice_payments")
    assert meta["closed"] == 1, meta
    cw = cw_invoice(sandbox, invoice["invoiceNumber"])
    cash = [p for p in sandbox.cw_get(f"finance/invoices/{cw['id']}/payments") if not p.get("credit")]
    assert [Decimal(str(p["amount"])) for p in cash] == [total - credit]
    assert Decimal(str(cw["balance"])) == 0
    assert Decimal(str(xero_invoice(sandbox, cw["invoiceNumber"])["AmountDue"])) == 0
    assert_books_agree(demo_env, invoice["invoiceNumber"])


def test_prepayment_allocated_in_xero_is_the_one_connectwise_payment(demo_env):
    """A customer's prepayment allocated to our invoice in Xero (no Payment record: Xero's AmountCredited): the
    invoice's one ConnectWise payment carries it, so ConnectWise's balance is Xero's AmountDue; the allocation
    removed in Xero lowers it again."""
    sandbox = demo_env.sandbox
    invoice = posted_invoice(demo_env, 2)
    contact = invoice["xero"]["Contact"]["ContactID"]
    part = (Decimal(str(invoice["xero"]["Total"])) / 3).quantize(Decimal("0.01"))
    prepayment = sandbox.post("xero", "/_sandbox/prepayments", {"tenant_id": TID, "ContactID": contact,
                                                                "Amount": float(part)})
    made = sandbox.post("xero", "/_sandbox/allocations", {
        "tenant_id": TID, "PrepaymentID": prepayment["PrepaymentID"], "InvoiceID": invoice["xero"]["InvoiceID"],
        "Amount": float(part)})
    meta = metadata(run_assets(demo_env.store_env, MONEY, ADL), "connectwise/invoice_payments")
    assert meta["applied"] == 1, meta
    assert_books_agree(demo_env, invoice["invoiceNumber"])
    allocation_id = made.get("AllocationID") or made["Allocations"][0]["AllocationID"]
    sandbox.post("xero", f"/_sandbox/allocations/{allocation_id}/delete", {"tenant_id": TID})
    run_assets(demo_env.store_env, MONEY, ADL)
    assert_books_agree(demo_env, invoice["invoiceNumber"])
    cw = cw_invoice(sandbox, invoice["invoiceNumber"])
    assert not [p for p in sandbox.cw_get(f"finance/invoices/{cw['id']}/payments") if not p.get("credit")]


def test_allocation_killed_before_and_after_xero_saw_it_is_made_once(demo_env, zygote):
    """SIGKILL the run at the allocation's PUT, before Xero saw it and after Xero made it: the re-run makes it, or
    finds it, and the credit note is allocated exactly once."""
    sandbox = demo_env.sandbox
    for n, (when, number) in enumerate((("before", "CM-4001"), ("after", "CM-4002"))):
        invoice = posted_invoice(demo_env, 3 + n)
        memo = credit_memo(sandbox, invoice, number, Decimal("20.00"))
        run_assets(demo_env.store_env, ["xero/contacts", "xero/credit_notes"], ADL)  # posted, not applied yet
        amount = -Decimal(str(cw_invoice(sandbox, number)["total"]))
        apply_credit(sandbox, invoice, memo, amount)
        kill_at(demo_env, zygote, Point(f"allocate {when}", when=when, **ALLOCATE), ADL, ["xero/credit_notes"])
        assert len(credit_notes(sandbox)[number]["Allocations"]) == (1 if when == "after" else 0)
        run_assets(demo_env.store_env, MONEY, ADL)
        note = credit_notes(sandbox)[number]
        assert len(note["Allocations"]) == 1, note["Allocations"]
        assert Decimal(str(note["Allocations"][0]["Amount"])) == amount
        rows = Ledger(demo_env.store, "demo", "adelaide", "allocations").in_state("pending", "sending", "error")
        assert not rows, rows
        assert_books_agree(demo_env, invoice["invoiceNumber"])


def test_vendor_return_becomes_a_supplier_credit_note(demo_env):
    """Negative procurement: an ACCPAYCREDIT credit note against the supplier, found by our Reference, marked
    posted in ConnectWise, never posted twice; the bills of the same export are untouched by it."""
    sandbox = demo_env.sandbox
    vendor = next(c for c in sandbox.cw_state()["companies"] if c.get("isVendorFlag"))
    made = sandbox.post("connectwise", "/_sandbox/unpostedprocurement", {
        "locationId": LOC, "vendorId": vendor["id"], "vendorReturn": True,
        "lines": [{"description": "Laptop returned", "quantity": 2, "unitCost": 1200.0, "accountNumber": "310",
                   "taxCodeXref": "INPUT"}]})
    number = made["vendorInvoiceNumber"]
    [txn] = [t for t in sandbox.cw_procurement("adelaide") if t.get("vendorInvoiceNumber") == number]
    run_assets(demo_env.store_env, ["xero/tax_rates", "xero/accounts", "xero/currencies", "xero/tracking_categories"],
               ADL)
    for attempt in range(2):
        meta = metadata(run_assets(demo_env.store_env, ["xero/bills"], ADL), "xero/bills")
        assert meta["supplier_credits_posted"] == (1 - attempt) and meta["supplier_credits_failed"] == 0, meta
        notes = [c for c in sandbox.org("adelaide")["credit_notes"] if c["Type"] == "ACCPAYCREDIT"]
        assert len(notes) == 1, notes
        [note] = notes
        assert Decimal(str(note["Total"])) == -Decimal(str(txn["total"])) and note["Status"] == "AUTHORISED"
        assert note["CreditNoteNumber"] == made["vendorInvoiceNumber"] and note["Reference"].startswith("CW-PROC-")
    assert not [t for t in sandbox.cw_procurement("adelaide")
                if t.get("vendorInvoiceNumber") == made["vendorInvoiceNumber"]]  # marked posted
    assert made["vendorInvoiceNumber"] not in {b["InvoiceNumber"] for b in sandbox.org("adelaide")["bills"]}
