"""A corpus of malformed and hostile ConnectWise invoices through the real flow: each gets a clear record-level
error or is posted correctly; the run never crashes, the rest of the batch posts, nothing is injected."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from cz_dagster.store.ledger import Ledger
from cz_sandbox import demo
from tests.dagster_helpers import metadata, run_assets
from tests.test_invoices_e2e import ADL, MONEY, assert_exactly_once

LINE = {"description": "Remote support", "quantity": 1, "unitPrice": 100, "accountNumber": "200",
        "taxCodeXref": "OUTPUT"}
LONG = "Managed services " * 300  # 5,100 characters
SQL = "'; DROP TABLE ledger; --"
HTML = "<script>alert('x')</script><b>bold</b>"

EXACT_4000 = ("Onsite 東京 " * 500)[:4000]
TODAY = date.today()
LOCKED_DAY = TODAY - timedelta(days=400)  # in a period the adviser has locked (the lock date is set below)

# (invoice number, lines, what else the ConnectWise invoice has, expected: "posted", "posted, rounded" (posted;
# Xero's total is the lines' own, a cent from ConnectWise's) or a fragment of the record's error)
CORPUS = [
    ("BAD-UNKNOWN-CO", [LINE], {"companyId": 987654}, "has no usable Xero contact: unknown company"),
    ("BAD-NO-COMPANY", [LINE], {"companyId": None}, "names no company"),
    ("BAD-TAX", [{**LINE, "taxCodeXref": "GSTX"}], {}, "tax rate GSTX does not exist"),
    ("BAD-ACCOUNT", [{**LINE, "accountNumber": "9999"}], {}, "account code 9999 does not exist"),
    ("BAD-BANK-ACCOUNT", [{**LINE, "accountNumber": "090"}], {}, "account 090 is a bank account"),
    ("BAD-ZERO-QTY", [{**LINE, "quantity": 0}], {}, "quantity is zero"),
    ("BAD-NO-LINES", [], {}, "no GL entries"),
    ("OK-NEGATIVE-LINE", [LINE, {**LINE, "description": "Discount", "quantity": -1, "unitPrice": 20}], {},
     "posted"),
    ("OK-DECIMALS", [{**LINE, "quantity": 3, "unitPrice": 33.3333}], {}, "posted"),
    ("OK-TINY-PRICE", [{**LINE, "quantity": 1000, "unitPrice": 0.123456}], {}, "posted"),
    ("OK-MANY-DECIMALS", [{**LINE, "quantity": 1.123456789, "unitPrice": 99.987654321}], {}, "posted"),
    ("OK-UNICODE", [{**LINE, "description": "Café – 東京 onsite 🚀 naïve"}], {}, "posted"),
    ("OK-CONTROL", [{**LINE, "description": "tab\there bell\x07 nul\x00 zero-width\u200b"}], {}, "posted"),
    ("OK-BIDI", [{**LINE, "description": "invoice \u202egnp.exe\u202c \u2066isolate\u2069"}], {}, "posted"),
    ("OK-LONG", [{**LINE, "description": LONG}], {}, "posted"),
    ("OK-4000", [{**LINE, "description": EXACT_4000}], {}, "posted"),
    ("OK-HTML", [{**LINE, "description": HTML}], {}, "posted"),
    (SQL, [{**LINE, "description": SQL}], {}, "posted"),
    ("OK-MANY-LINES", [{**LINE, "description": f"line {i}"} for i in range(60)], {}, "posted"),
    ("BAD-CURRENCY-XYZ", [LINE], {"currencyCode": "XYZ"}, "currency XYZ is not enabled"),
    ("BAD-CURRENCY-USD", [LINE], {"currencyCode": "USD"}, "currency USD is not enabled"),
    ("BAD-YEAR-1899", [LINE], {"invoiceDate": "1899-12-31T00:00:00Z"}, "invoice date 1899-12-31 is out of range"),
    ("BAD-YEAR-9999", [LINE], {"invoiceDate": "9999-01-01T00:00:00Z"}, "invoice date 9999-01-01 is out of range"),
    ("BAD-DUE-BEFORE", [LINE], {"dueDays": -10}, "is before the invoice date"),
    ("BAD-LOCKED", [LINE], {"invoiceDate": f"{LOCKED_DAY.isoformat()}T00:00:00Z"},
     "cannot be before the period lock date"),
    ("BAD-TOTAL-MISMATCH", [LINE], {"total": 999.99}, "ConnectWise says the invoice totals 999.99"),
    ("BAD-TOTAL-LOW", [LINE, LINE], {"total": 0.5}, "ConnectWise says the invoice totals 0.50"),
    ("OK-ROUNDING-CENT", [{**LINE, "unitPrice": 10.05}, {**LINE, "unitPrice": 10.05}], {"total": 22.11},
     "posted"),  # ConnectWise rounds tax on the total: the lines carry it, so Xero totals the same
    ("DUP-1", [LINE], {}, "posted"),
]
# a second ConnectWise invoice with a number another one already has (and the same customer and amount)
DUPLICATE = ("DUP-1", [LINE], {"allowDuplicateNumber": True}, "already used by another ConnectWise invoice")


def add_invoice(sandbox, loc: int, company_id: int, number: str, lines: list, extra: dict) -> dict:  # noqa: ANN001
    return sandbox.post("connectwise", "/_sandbox/unpostedinvoices", {
        "locationId": loc, "companyId": company_id, "invoiceNumber": number, "description": HTML, "lines": lines,
        **extra})


def test_bad_input_corpus(demo_env):
    sandbox = demo_env.sandbox
    loc = demo.LOCATIONS["adelaide"]["cw_location_id"]
    good_company = next(c for c in sandbox.cw_state()["companies"] if not c.get("isVendorFlag"))
    run_assets(demo_env.store_env, MONEY + ["xero/tax_rates", "xero/accounts", "xero/currencies",
                                             "xero/tracking_categories"], ADL)  # the demo's own invoices first
    sandbox.post("xero", "/_sandbox/lock_dates", {"tenant_id": demo.LOCATIONS["adelaide"]["xero_tenant_id"],
                                                  "PeriodLockDate": (LOCKED_DAY + timedelta(days=30)).isoformat()})
    ids = {}
    for number, lines, extra, _ in CORPUS:
        ids[number] = add_invoice(sandbox, loc, good_company["id"], number, lines, extra)["id"]
    twin = add_invoice(sandbox, loc, good_company["id"], *DUPLICATE[:3])["id"]
    exported = {t["id"]: t for t in sandbox.cw_export("adelaide")}
    result = run_assets(demo_env.store_env, MONEY, ADL)
    assert result.success
    meta = metadata(result, "xero/invoices")
    ledger = Ledger(demo_env.store, "demo", "adelaide", "invoices")
    errors = {r.source_id: r.last_error for r in ledger.in_state("error")}
    in_xero = {i["InvoiceNumber"]: i for i in sandbox.org("adelaide")["invoices"]}
    for number, _lines, _extra, expected in CORPUS:
        sid = str(ids[number])
        if expected.startswith("posted"):
            assert number in in_xero, (number, errors.get(sid))
            assert in_xero[number]["Reference"] == f"CW-INV-{sid}"
            total = Decimal(str(in_xero[number]["Total"]))
            want = Decimal(str(exported[ids[number]]["total"])).quantize(Decimal("0.01"))
            assert abs(total - want) <= (Decimal("0.01") if expected == "posted, rounded" else 0), number
        else:
            assert number not in in_xero
            assert expected in (errors.get(sid) or ""), (number, errors.get(sid))
            assert f"invoice {number}:" in meta["errors"] or number == "BAD-NO-LINES"  # that one: in ConnectWise
    # the twin: not adopted as if it were the first (that would mark it posted with no Xero invoice of its own)
    assert DUPLICATE[3] in errors[str(twin)] and f"CW-INV-{ids['DUP-1']}" in errors[str(twin)]
    posted_ok = [n for n, *_rest, e in CORPUS if e.startswith("posted")]
    assert meta["posted"] == len(posted_ok) and meta["failed_in_connectwise"] == 1  # BAD-NO-LINES
    assert meta["failed"] == len(CORPUS) - len(posted_ok) - 1 + 1  # the rest of the bad ones, and the twin
    assert_exactly_once(sandbox, "adelaide", [exported[ids[n]] for n in posted_ok if n != "DUP-1"])
    unposted_ids = {u["id"] for u in sandbox.cw_state()["unposted_invoices"]}
    assert ids["DUP-1"] not in unposted_ids and twin in unposted_ids  # the first marked posted, its twin not
    long_line = in_xero["OK-LONG"]["LineItems"][0]["Description"]
    assert len(long_line) <= 4000 and long_line.startswith("Managed services")
    assert in_xero["OK-4000"]["LineItems"][0]["Description"] == EXACT_4000.strip()
    control = in_xero["OK-CONTROL"]["LineItems"][0]["Description"]
    assert not any(c in control for c in "\x07\x00\u200b\t")
    bidi = in_xero["OK-BIDI"]["LineItems"][0]["Description"]
    assert not any(c in bidi for c in "\u202e\u202c\u2066\u2069") and "gnp.exe" in bidi
    assert in_xero[SQL]["LineItems"][0]["Description"] == SQL  # stored and sent as text, never executed
    assert in_xero["OK-HTML"]["LineItems"][0]["Description"] == HTML  # text for Xero to escape, not markup
    assert ledger.counts()["done"] >= len(posted_ok)
    # a re-run changes nothing: the errors stay (once each), nothing is sent twice
    again = metadata(run_assets(demo_env.store_env, MONEY, ADL), "xero/invoices")
    assert again["posted"] == 0 and again["failed"] == meta["failed"]
    assert_exactly_once(sandbox, "adelaide", [exported[ids[n]] for n in posted_ok if n != "DUP-1"])
