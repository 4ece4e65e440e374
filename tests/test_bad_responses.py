"""Malformed answers from either API through the real flow: invalid JSON, missing fields, wrong types, a huge
page. Each gets a clear error -- record-level where one record is bad, a failed step naming the answer where a
whole answer is -- never a raw traceback; nothing written is left unrecorded, and once the fault is gone a
re-run brings every invoice into Xero exactly once."""

from __future__ import annotations

import copy

import pytest

from cz_dagster.store.ledger import Ledger
from cz_sandbox import demo
from tests.dagster_helpers import metadata, run_assets
from tests.test_invoices_e2e import ADL, MONEY, assert_exactly_once

EXPORT = "*/finance/accounting/export"
PUT_INVOICES = {"path": "/api.xro/2.0/Invoices", "method": "PUT"}
RAW_TRACEBACKS = ("Traceback", "JSONDecodeError", "object has no attribute", "object is not subscriptable")


def failure_message(result) -> str:  # noqa: ANN001
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failures, "the step should have failed"
    error = failures[0].event_specific_data.error
    assert error.cls_name == "Failure", f"a raw {error.cls_name}: {error.message}"
    message = error.message
    assert not any(name in message for name in RAW_TRACEBACKS), message
    return message


def rerun_converges(demo_env, expected: list[dict]) -> dict:  # noqa: ANN001
    demo_env.sandbox.clear_faults()
    meta = metadata(run_assets(demo_env.store_env, MONEY, ADL), "xero/invoices")
    assert meta["failed"] == 0 and meta["failed_in_connectwise"] == 0, meta["errors"]
    assert_exactly_once(demo_env.sandbox, "adelaide", expected)
    assert Ledger(demo_env.store, "demo", "adelaide", "invoices").in_state("error", "sending", "pending") == []
    return meta


@pytest.mark.parametrize("answer", [
    {"body": {"not": "a list"}},  # an object without transactions
    {"body": {"transactions": {"id": 1}}},  # transactions of the wrong type
    {"raw": '{"transactions": [{"id": 1, "documentNumber": "10'},  # cut off mid-way: invalid JSON
    {"raw": "<html><body>502 Bad Gateway</body></html>"},  # a proxy's page with status 200
], ids=["no-transactions", "transactions-not-a-list", "truncated-json", "html"])
def test_malformed_connectwise_export_fails_the_step_clearly(demo_env, answer):
    sandbox = demo_env.sandbox
    expected = sandbox.cw_export("adelaide")
    run_assets(demo_env.store_env, ["xero/contacts"], ADL)
    sandbox.fault("connectwise", path=EXPORT, kind="status", status=200, count=1, **answer)
    result = run_assets(demo_env.store_env, ["xero/invoices"], ADL, raise_on_error=False)
    assert not result.success
    message = failure_message(result)
    assert "finance/accounting/export" in message and "demo__adelaide" in message
    # nothing was sent, and the invoices were not reported as lacking GL entries on the word of a bad answer
    assert sandbox.org("adelaide")["invoices"] == []
    assert Ledger(demo_env.store, "demo", "adelaide", "invoices").in_state("error") == []
    rerun_converges(demo_env, expected)


def test_export_rows_missing_fields_or_wrong_types_fail_alone(demo_env):
    """Rows of an otherwise good export: no documentNumber, total "abc", detail not a list, glEntryIds of words,
    company of the wrong type. Each is a record-level error; the rest posts; the re-run posts them, once."""
    sandbox = demo_env.sandbox
    expected = sandbox.cw_export("adelaide")
    run_assets(demo_env.store_env, ["xero/contacts"], ADL)
    body = {"transactions": copy.deepcopy(expected)}
    rows = body["transactions"]
    rows[0].pop("documentNumber")
    rows[1]["total"] = "abc"
    rows[2]["detail"] = "not a list"
    rows[3]["glEntryIds"] = "one,two"
    rows[4]["documentDate"] = ["2026-01-01"]
    rows[5]["detail"][0]["quantity"] = {"value": 1}
    bad = {str(r["id"]) for r in rows[:6]}
    sandbox.fault("connectwise", path=EXPORT, kind="status", status=200, body=body, count=1)
    result = run_assets(demo_env.store_env, ["xero/invoices"], ADL)
    meta = metadata(result, "xero/invoices")
    errors = {r.source_id: r.last_error for r in Ledger(demo_env.store, "demo", "adelaide", "invoices").in_state(
        "error")}
    assert set(errors) == bad, errors
    assert "no invoice number" in errors[str(rows[0]["id"])]
    assert "amount 'abc' is not a number" in errors[str(rows[1]["id"])]
    assert "lines are not a list" in errors[str(rows[2]["id"])]
    assert "glEntryIds 'one,two' are not whole numbers" in errors[str(rows[3]["id"])]
    assert "is not a date" in errors[str(rows[4]["id"])]
    assert "line 1" in errors[str(rows[5]["id"])]
    assert meta["posted"] == len(expected) - 6 and meta["failed"] == 6
    rerun_converges(demo_env, expected)


def test_huge_connectwise_page_is_read_whole(demo_env):
    """company/companies answers 5,000 rows to a request for 1,000: the companies asked for are found among
    them, the rest are ignored, no other page is asked for."""
    sandbox = demo_env.sandbox
    expected = sandbox.cw_export("adelaide")
    companies = [c for c in sandbox.cw_state()["companies"]]
    filler = [{"id": 900000 + i, "identifier": f"filler{i}", "name": f"Filler {i}"}
              for i in range(5000 - len(companies))]
    sandbox.fault("connectwise", path="*/company/companies", method="GET", kind="status", status=200,
                  body=filler[:2500] + companies + filler[2500:], count=1)
    result = run_assets(demo_env.store_env, MONEY, ADL)
    contacts = metadata(result, "xero/contacts")
    assert contacts["failed"] == 0 and contacts["api_calls_connectwise"] <= 3
    names = {c["Name"] for c in sandbox.org("adelaide")["contacts"]}
    assert not any(n.startswith("Filler") for n in names)
    assert metadata(result, "xero/invoices")["failed"] == 0
    assert_exactly_once(sandbox, "adelaide", expected)


@pytest.mark.parametrize("answer", [
    {"body": {"count": "many"}},
    {"body": {"total": 3}},
    {"raw": "not json"},
], ids=["count-wrong-type", "count-missing", "invalid-json"])
def test_malformed_connectwise_count_fails_the_step_clearly(demo_env, answer):
    sandbox = demo_env.sandbox
    expected = sandbox.cw_export("adelaide")
    sandbox.fault("connectwise", path="*/finance/accounting/unpostedinvoices/count", kind="status", status=200,
                  count=1, **answer)
    result = run_assets(demo_env.store_env, MONEY, ADL, raise_on_error=False)
    assert not result.success
    assert "unpostedinvoices/count" in failure_message(result)
    rerun_converges(demo_env, expected)


@pytest.mark.parametrize("when,answer", [
    ("after", {"raw": '{"Invoices": [{"InvoiceID": "'}),  # Xero wrote the batch; the answer is cut off
    ("after", {"raw": "<html>gateway</html>"}),
    ("after", {"body": {"Invoices": "oops"}}),  # wrong type
    ("before", {"body": {"Invoices": [{"StatusAttributeString": "OK"}]}}),  # nothing written; ids missing
    ("after", {"body": {"Id": "x", "Status": "OK"}}),  # no Invoices at all
], ids=["truncated-after-write", "html-after-write", "invoices-not-a-list", "no-invoice-ids", "no-invoices-key"])
def test_malformed_xero_invoice_answer_is_recovered_exactly_once(demo_env, when, answer):
    sandbox = demo_env.sandbox
    expected = sandbox.cw_export("adelaide")
    run_assets(demo_env.store_env, ["xero/contacts"], ADL)
    sandbox.fault("xero", **PUT_INVOICES, kind="status", status=200, when=when, count=1, **answer)
    result = run_assets(demo_env.store_env, ["xero/invoices"], ADL, raise_on_error=False)
    ledger = Ledger(demo_env.store, "demo", "adelaide", "invoices")
    if result.success:  # the batch was looked up in the same run
        meta = metadata(result, "xero/invoices")
        assert meta["failed"] == 0
    else:
        assert "Xero" in failure_message(result)
        assert len(ledger.in_state("sending")) == 50  # recorded: the next run looks them up before re-sending
    written = len(sandbox.org("adelaide")["invoices"])
    assert ledger.counts().get("done", 0) <= written  # never done without being in Xero
    meta = rerun_converges(demo_env, expected)
    if when == "after" and not result.success:
        assert meta["recovered"] == 50


@pytest.mark.parametrize("answer", [
    {"body": {"Contacts": "garbage"}},
    {"body": {"Contacts": [{"ContactID": 42, "Name": ["not", "a", "name"], "ContactStatus": 7}]}},
    {"raw": "{\"Contacts\": [{\"ContactID\""},
], ids=["contacts-not-a-list", "contact-fields-wrong-types", "truncated"])
def test_malformed_xero_contacts_answer_fails_clearly_then_converges(demo_env, answer):
    sandbox = demo_env.sandbox
    expected = sandbox.cw_export("adelaide")
    sandbox.fault("xero", path="/api.xro/2.0/Contacts", method="GET", kind="status", status=200, count=1, **answer)
    result = run_assets(demo_env.store_env, ["xero/contacts"], ADL, raise_on_error=False)
    if not result.success:
        assert "contacts with a malformed body" in failure_message(result)
    else:
        assert metadata(result, "xero/contacts")["failed"] >= 0
    rerun_converges(demo_env, expected)
    names = [c["Name"] for c in sandbox.org("adelaide")["contacts"]]
    assert len(names) == len(set(names))  # no contact made twice because a list was unreadable


def test_record_errors_reach_metadata_not_sql(demo_env):
    """A hostile documentNumber in a malformed export row is text in the ledger and the metadata."""
    sandbox = demo_env.sandbox
    run_assets(demo_env.store_env, ["xero/contacts"], ADL)
    rows = copy.deepcopy(sandbox.cw_export("adelaide"))
    rows[0]["documentNumber"] = "X'); DELETE FROM ledger; --"
    rows[0]["company"] = {"id": 987654321, "name": "<img src=x onerror=alert(1)>"}
    sandbox.fault("connectwise", path=EXPORT, kind="status", status=200, body={"transactions": rows}, count=1)
    meta = metadata(run_assets(demo_env.store_env, ["xero/invoices"], ADL), "xero/invoices")
    assert meta["failed"] == 1 and "X'); DELETE FROM ledger; --" in meta["errors"]
    ledger = Ledger(demo_env.store, "demo", "adelaide", "invoices")
    assert [r.label for r in ledger.in_state("error")] == ["X'); DELETE FROM ledger; --"]
    assert ledger.counts()["done"] == len(rows) - 1
    assert demo.LOCATIONS["adelaide"]["cw_location_id"]
