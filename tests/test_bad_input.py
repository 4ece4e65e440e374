"""A corpus of malformed and hostile ConnectWise invoices through the real flow: each gets a clear record-level
error or is posted correctly; the run never crashes, the rest of the batch posts, nothing is injected."""

from __future__ import annotations

from decimal import Decimal

from cz_dagster.sandbox import demo
from cz_dagster.store.ledger import Ledger
from tests.dagster_helpers import metadata, run_assets
from tests.test_invoices_e2e import ADL, MONEY, assert_exactly_once, cw_export

LINE = {"description": "Remote support", "quantity": 1, "unitPrice": 100, "accountNumber": "200",
        "taxCodeXref": "OUTPUT"}
LONG = "Managed services " * 300  # 5,100 characters
SQL = "'; DROP TABLE ledger; --"
HTML = "<script>alert('x')</script><b>bold</b>"

# (invoice number, lines, company override, expected: "posted" or a fragment of the error)
CORPUS = [
    ("BAD-UNKNOWN-CO", [LINE], 987654, "has no usable Xero contact: unknown company"),
    ("BAD-TAX", [{**LINE, "taxCodeXref": "GSTX"}], None, "tax rate GSTX does not exist"),
    ("BAD-ACCOUNT", [{**LINE, "accountNumber": "9999"}], None, "account code 9999 does not exist"),
    ("BAD-BANK-ACCOUNT", [{**LINE, "accountNumber": "090"}], None, "account 090 is a bank account"),
    ("BAD-ZERO-QTY", [{**LINE, "quantity": 0}], None, "quantity is zero"),
    ("BAD-NO-LINES", [], None, "no GL entries"),
    ("OK-NEGATIVE-LINE", [LINE, {**LINE, "description": "Discount", "quantity": -1, "unitPrice": 20}], None,
     "posted"),
    ("OK-DECIMALS", [{**LINE, "quantity": 3, "unitPrice": 33.3333}], None, "posted"),
    ("OK-TINY-PRICE", [{**LINE, "quantity": 1000, "unitPrice": 0.123456}], None, "posted"),
    ("BAD-NEGATIVE", [{**LINE, "quantity": -2}], None, "a negative document is a credit"),
    ("OK-UNICODE", [{**LINE, "description": "Café – 東京 onsite 🚀 naïve"}], None, "posted"),
    ("OK-CONTROL", [{**LINE, "description": "tab\there bell\x07 nul-free\u200b"}], None, "posted"),
    ("OK-LONG", [{**LINE, "description": LONG}], None, "posted"),
    ("OK-HTML", [{**LINE, "description": HTML}], None, "posted"),
    (SQL, [{**LINE, "description": SQL}], None, "posted"),
    ("OK-MANY-LINES", [{**LINE, "description": f"line {i}"} for i in range(60)], None, "posted"),
]


def test_bad_input_corpus(demo_env):
    sandbox = demo_env.sandbox
    loc = demo.LOCATIONS["adelaide"]["cw_location_id"]
    good_company = next(c for c in sandbox.cw_state()["companies"] if not c.get("isVendorFlag"))
    run_assets(demo_env.store_env, MONEY + ["xero/tax_rates", "xero/accounts", "xero/currencies",
                                             "xero/tracking_categories"], ADL)  # the demo's own invoices first
    for number, lines, company, _ in CORPUS:
        sandbox.post("connectwise", "/_sandbox/unpostedinvoices", {
            "locationId": loc, "companyId": company or good_company["id"], "invoiceNumber": number,
            "description": HTML, "lines": lines})
    exported = {t["documentNumber"]: t for t in cw_export(sandbox, "adelaide")}
    result = run_assets(demo_env.store_env, MONEY, ADL)
    assert result.success
    meta = metadata(result, "xero/invoices")
    errors = {r.label: r.last_error for r in Ledger(demo_env.store, "demo", "adelaide", "invoices").in_state("error")}
    in_xero = {i["InvoiceNumber"]: i for i in sandbox.org("adelaide")["invoices"]}
    for number, _lines, _company, expected in CORPUS:
        if expected == "posted":
            assert number in in_xero, (number, errors.get(number))
            total = Decimal(str(in_xero[number]["Total"]))
            assert total == Decimal(str(exported[number]["total"])).quantize(Decimal("0.01")), number
        else:
            assert number not in in_xero
            assert expected in (errors.get(number) or ""), (number, errors.get(number))
    posted_ok = [n for n, *_rest, e in CORPUS if e == "posted"]
    assert meta["posted"] == len(posted_ok)
    assert_exactly_once(sandbox, "adelaide", [t for n, t in exported.items() if n in posted_ok])
    long_line = in_xero["OK-LONG"]["LineItems"][0]["Description"]
    assert len(long_line) <= 4000 and long_line.startswith("Managed services")
    assert "\x07" not in in_xero["OK-CONTROL"]["LineItems"][0]["Description"]
    assert in_xero[SQL]["LineItems"][0]["Description"] == SQL  # stored and sent as text, never executed
    assert Ledger(demo_env.store, "demo", "adelaide", "invoices").counts()["done"] >= len(posted_ok)
