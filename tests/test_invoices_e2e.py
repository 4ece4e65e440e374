"""Acceptance of the walking skeleton: pending ConnectWise invoices reach Xero exactly once, through the real
Dagster asset definitions, on SQLite and PostgreSQL, against the sandbox over HTTP with the real xero-python SDK."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal

import httpx
from dagster import DagsterInstance

from cz_dagster.resources.xero.tokens import XeroTokens
from cz_dagster.store.ledger import Ledger
from cz_dagster.store.synclog import SyncLog
from cz_sandbox import demo
from tests.dagster_helpers import metadata, run_assets
from tests.test_store import dump_all_text

ADL = "demo__adelaide"
MONEY = ["xero/contacts", "xero/invoices"]


def assert_exactly_once(sandbox, location: str, expected: list[dict]) -> dict[str, dict]:  # noqa: ANN001
    org = sandbox.org(location)
    numbers = Counter(i["InvoiceNumber"] for i in org["invoices"] if i["Type"] == "ACCREC")
    duplicates = {n: c for n, c in numbers.items() if c > 1}
    assert not duplicates, f"duplicates in Xero: {duplicates}"
    want = {t["documentNumber"] for t in expected}
    assert want <= set(numbers), f"missing in Xero: {sorted(want - set(numbers))[:5]}"
    unposted = {u["invoiceNumber"] for u in sandbox.cw_state()["unposted_invoices"]}
    assert not (want & unposted), f"still unposted in ConnectWise: {sorted(want & unposted)[:5]}"
    return {i["InvoiceNumber"]: i for i in org["invoices"]}


def test_invoices_posted_exactly_once_with_right_content(demo_env):
    sandbox = demo_env.sandbox
    expected = sandbox.cw_export("adelaide")
    melbourne_numbers = {t["documentNumber"] for t in sandbox.cw_export("melbourne")}
    assert len(expected) > 100

    result = run_assets(demo_env.store_env, MONEY, ADL)
    meta = metadata(result, "xero/invoices")
    assert meta["posted"] == len(expected) and meta["failed"] == 0 and meta["marked_posted"] == len(expected)
    assert meta["xero_organisation"] == "Adelaide"
    assert meta["api_calls_xero"] == -(-len(expected) // 50)  # one PUT per 50 invoices, nothing else

    in_xero = assert_exactly_once(sandbox, "adelaide", expected)
    companies = {c["id"]: c for c in sandbox.cw_state()["companies"]}
    for txn in expected:
        inv = in_xero[txn["documentNumber"]]
        assert inv["Contact"]["Name"] == companies[txn["company"]["id"]]["name"]
        assert Decimal(str(inv["Total"])) == Decimal(str(txn["total"])).quantize(Decimal("0.01"))
        # the export's shape (ConnectWise's sample): lines of the opposite sign, tax as lines of its own
        assert txn["glTypeId"] == "AR" and txn["documentType"] == "INVOICE" and txn["total"] > 0
        lines = [d for d in txn["detail"] if d["glTypeId"] != "ST"]
        [tax_line] = [d for d in txn["detail"] if d["glTypeId"] == "ST"]
        assert len(inv["LineItems"]) == len(lines)
        for line, detail in zip(inv["LineItems"], lines, strict=True):
            assert detail["quantity"] < 0 and detail["total"] < 0
            assert line["TaxType"] == detail["taxCodeXref"]
            assert line["AccountCode"] == detail["accountNumber"]
            assert Decimal(str(line["LineAmount"])) == -Decimal(str(detail["total"])).quantize(Decimal("0.01"))
            assert Decimal(str(line["Quantity"])) == -Decimal(str(detail["quantity"]))
        assert Decimal(str(inv["TotalTax"])) == -Decimal(str(tax_line["total"])).quantize(Decimal("0.01"))
    assert sandbox.org("melbourne")["invoices"] == []
    assert not melbourne_numbers & set(in_xero)
    posted = {i["invoiceNumber"]: i for i in sandbox.cw_state()["invoices"]}
    assert all(posted[t["documentNumber"]].get("glBatch") for t in expected)
    check = result.get_asset_check_evaluations()
    assert check and all(c.passed for c in check)

    # A second materialization posts nothing and makes at most 3 API calls in all.
    again = run_assets(demo_env.store_env, MONEY, ADL)
    inv_meta, con_meta = metadata(again, "xero/invoices"), metadata(again, "xero/contacts")
    assert inv_meta["posted"] == 0 and inv_meta["unposted_seen"] == 0  # ConnectWise shows them posted
    calls = sum(m.get(f"api_calls_{s}", 0) for m in (inv_meta, con_meta) for s in ("xero", "connectwise", "identity"))
    assert calls <= 3, (inv_meta, con_meta)
    assert_exactly_once(sandbox, "adelaide", expected)


def test_one_bad_invoice_fails_alone(demo_env):
    sandbox = demo_env.sandbox
    loc = demo.LOCATIONS["adelaide"]["cw_location_id"]
    good_company = next(c for c in sandbox.cw_state()["companies"] if not c.get("isVendorFlag"))
    sandbox.post("connectwise", "/_sandbox/unpostedinvoices", {
        "locationId": loc, "companyId": 987654, "invoiceNumber": "BAD-CUST-1",
        "lines": [{"description": "Support", "quantity": 1, "unitPrice": 100, "accountNumber": "200",
                   "taxCodeXref": "OUTPUT"}]})
    sandbox.post("connectwise", "/_sandbox/unpostedinvoices", {
        "locationId": loc, "companyId": good_company["id"], "invoiceNumber": "BAD-TAX-1",
        "lines": [{"description": "Support", "quantity": 1, "unitPrice": 100, "accountNumber": "200",
                   "taxCodeXref": "GSTX"}]})
    expected = [t for t in sandbox.cw_export("adelaide") if not t["documentNumber"].startswith("BAD-")]

    result = run_assets(demo_env.store_env, MONEY, ADL)
    meta = metadata(result, "xero/invoices")
    assert meta["failed"] == 2 and meta["posted"] == len(expected)
    assert "BAD-TAX-1" in meta["errors"] and "GSTX" in meta["errors"]
    assert_exactly_once(sandbox, "adelaide", expected)
    numbers = {i["InvoiceNumber"] for i in sandbox.org("adelaide")["invoices"]}
    assert "BAD-CUST-1" not in numbers and "BAD-TAX-1" not in numbers
    unposted = {u["invoiceNumber"] for u in sandbox.cw_state()["unposted_invoices"]}
    assert {"BAD-CUST-1", "BAD-TAX-1"} <= unposted  # not marked posted in ConnectWise

    errors = {r.label: r.last_error for r in Ledger(demo_env.store, "demo", "adelaide", "invoices").in_state("error")}
    assert set(errors) == {"BAD-CUST-1", "BAD-TAX-1"}
    assert "has no usable Xero contact: unknown company" in errors["BAD-CUST-1"] and "987654" in errors["BAD-CUST-1"]
    assert "TaxType code 'GSTX'" in errors["BAD-TAX-1"]
    log = SyncLog(demo_env.store, "demo").read(location="adelaide", surface="invoices", limit=1000)
    assert any("GSTX" in (e.response or "") and e.method == "PUT" for e in log)
    checks = {c.asset_key.to_user_string(): c.passed for c in result.get_asset_check_evaluations()}
    assert checks["xero/invoices"] is False


def test_faults_are_retried_and_converge(demo_env):
    sandbox = demo_env.sandbox
    expected = sandbox.cw_export("adelaide")
    sandbox.fault("connectwise", path="*/finance/accounting/export", kind="status", status=503, count=2)
    sandbox.fault("connectwise", path="*/finance/accounting/batches", kind="status", status=429, count=1,
                  headers={"Retry-After": "0"})
    sandbox.fault("xero", path="/api.xro/2.0/Invoices", method="PUT", kind="status", status=429, count=2,
                  headers={"Retry-After": "0"})
    sandbox.fault("xero", path="/api.xro/2.0/Invoices", method="PUT", kind="drop", when="after", count=1)
    sandbox.fault("xero", path="/api.xro/2.0/Contacts", kind="drop", when="before", count=1)
    sandbox.fault("xero", path="/api.xro/2.0/Invoices", method="PUT", kind="status", status=503, count=1)
    result = run_assets(demo_env.store_env, MONEY, ADL)
    meta = metadata(result, "xero/invoices")
    con = metadata(result, "xero/contacts")
    assert meta["retries_xero"] + con["retries_xero"] >= 4 and meta["rate_limited_xero"] >= 2
    assert meta["retries_connectwise"] + con["retries_connectwise"] >= 3
    assert_exactly_once(sandbox, "adelaide", expected)


def test_expired_access_token_is_refreshed_mid_run(demo_env):
    sandbox = demo_env.sandbox
    expected = sandbox.cw_export("adelaide")
    before = XeroTokens(demo_env.store, "demo").load().token["refresh_token"]
    sandbox.post("xero", "/_sandbox/tokens/expire")
    result = run_assets(demo_env.store_env, MONEY, ADL)
    assert metadata(result, "xero/invoices")["failed"] == 0
    assert XeroTokens(demo_env.store, "demo").load().token["refresh_token"] != before  # rotated and persisted
    assert_exactly_once(sandbox, "adelaide", expected)


def test_revoked_refresh_token_stops_the_partition(demo_env):
    sandbox = demo_env.sandbox
    sandbox.post("xero", "/_sandbox/tokens/revoke")
    result = run_assets(demo_env.store_env, MONEY, ADL, raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failures[0].event_specific_data.error.message
    assert "paused" in message and "cz xero connect --tenant demo" in message
    assert XeroTokens(demo_env.store, "demo").status() == "paused"
    assert sandbox.org("adelaide")["invoices"] == []
    # later runs skip cleanly (no failure after failure) until `cz xero connect` resumes the connection
    again = run_assets(demo_env.store_env, MONEY, ADL)
    meta = metadata(again, "xero/invoices")
    assert again.success and "paused" in meta["skipped_reason"] and meta.get("api_calls_connectwise", 0) == 0


def test_no_secret_in_plain_text(demo_env):
    instance = DagsterInstance.ephemeral()
    run_assets(demo_env.store_env, MONEY, ADL, instance=instance)
    tokens = XeroTokens(demo_env.store, "demo").load().token
    secrets = [demo.CW_PRIVATE_KEY, demo.XERO_CLIENT_SECRET, tokens["access_token"], tokens["refresh_token"],
               demo.CW_PUBLIC_KEY, demo_env.store_env.settings.secret_keys]
    raw = dump_all_text(demo_env.store, "demo")
    log_text = "\n".join(f"{e.url} {e.request} {e.response} {e.error}"
                         for e in SyncLog(demo_env.store, "demo").read(limit=100000))
    assert "Bearer" not in log_text or "Bearer ***" in log_text
    run_ids = [r.run_id for r in instance.get_runs()]
    events = "\n".join(str(e) for run_id in run_ids for e in instance.all_logs(run_id))
    for secret in secrets:
        assert secret not in raw, "secret in a database"
        assert secret not in log_text, "secret in the sync log"
        assert secret not in events, "secret in the Dagster event log"


def test_run_killed_after_xero_accepted_then_rerun(demo_env, tmp_path):
    """SIGKILL the `dagster asset materialize` process while Xero holds the answer to an accepted batch."""
    sandbox = demo_env.sandbox
    expected = sandbox.cw_export("adelaide")
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {**os.environ, **demo_env.store_env.env, "DAGSTER_HOME": str(home)}
    subprocess.run([sys.executable, "-c", "from cz_dagster.partitions import add_partitions_to_instance as a; "
                    f"a(['{ADL}'])"], env=env, check=True)
    sandbox.fault("xero", path="/api.xro/2.0/Invoices", method="PUT", kind="delay", when="after", delay=60, count=1)
    proc = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "dagster"), "asset", "materialize",
                             "-m", "cz_dagster.definitions", "--select", ",".join(MONEY), "--partition", ADL],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(sandbox.org("adelaide")["invoices"]) < 50:
            assert proc.poll() is None, "the run ended before Xero accepted a batch"
            assert time.monotonic() < deadline, "Xero never accepted a batch"
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    sending = Ledger(demo_env.store, "demo", "adelaide", "invoices").in_state("sending")
    assert len(sending) == 50  # the ledger never heard Xero's answer
    sandbox.clear_faults()
    result = run_assets(demo_env.store_env, MONEY, ADL)
    meta = metadata(result, "xero/invoices")
    assert meta["recovered"] == 50 and meta["failed"] == 0
    assert_exactly_once(sandbox, "adelaide", expected)


def test_invoice_without_gl_entries_is_reported(demo_env):
    """ConnectWise cannot export an invoice with no GL entries (a missing GL mapping): it is reported once,
    with what to do, instead of staying unposted unnoticed; later runs do not re-read the list for it."""
    sandbox = demo_env.sandbox
    company = next(c for c in sandbox.cw_state()["companies"] if not c.get("isVendorFlag"))
    sandbox.post("connectwise", "/_sandbox/unpostedinvoices", {
        "locationId": demo.LOCATIONS["adelaide"]["cw_location_id"], "companyId": company["id"],
        "invoiceNumber": "NO-GL-1", "lines": []})
    result = run_assets(demo_env.store_env, MONEY, ADL)
    meta = metadata(result, "xero/invoices")
    assert meta["failed_in_connectwise"] == 1
    [row] = [r for r in Ledger(demo_env.store, "demo", "adelaide", "invoices").in_state("error")]
    assert row.label == "NO-GL-1" and "no GL entries" in row.last_error and "open billing status" in row.last_error
    again = metadata(run_assets(demo_env.store_env, ["xero/invoices"], ADL), "xero/invoices")
    assert again["api_calls_connectwise"] == 2 and again.get("api_calls_xero", 0) == 0  # export + count


def test_daily_budget_spent_defers_cleanly_then_resumes(demo_env):
    """Xero's day limit: the run stops sending, succeeds, and leaves the rest pending; the next day's run
    finishes the job without duplicates."""
    sandbox = demo_env.sandbox
    expected = sandbox.cw_export("adelaide")
    sandbox.post("xero", "/_sandbox/config", {"day_limit": 4})  # contacts GET + PUT, then two invoice batches
    result = run_assets(demo_env.store_env, MONEY, ADL)
    meta = metadata(result, "xero/invoices")
    assert result.success and meta["posted"] == 100 and meta["deferred"] == len(expected) - 100
    assert meta["failed"] == 0
    states = Ledger(demo_env.store, "demo", "adelaide", "invoices").counts()
    assert states == {"done": 100, "pending": len(expected) - 100}
    sandbox.post("xero", "/_sandbox/config", {"day_limit": 5000})  # the next day: the budget is back
    again = metadata(run_assets(demo_env.store_env, MONEY, ADL), "xero/invoices")
    assert again["posted"] == len(expected) - 100 and again["failed"] == 0
    assert_exactly_once(sandbox, "adelaide", expected)


def test_location_without_xero_organisation_is_a_clear_error(demo_env):
    demo_env.store.add_location("demo", "perth", "Perth", 13)
    result = run_assets(demo_env.store_env, MONEY, "demo__perth", raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][:1]
    message = failure.event_specific_data.error.message
    assert "location 'perth' of tenant 'demo' has no Xero organisation" in message
    assert demo_env.sandbox.org("adelaide")["invoices"] == [] and demo_env.sandbox.org("melbourne")["invoices"] == []


def test_expired_token_with_a_failing_refresh_still_recovers(demo_env):
    """The access token has expired and the first refresh attempt fails (503 from the token endpoint, then an
    answer lost after Xero rotated the token): the run refreshes again (inside Xero's 30-minute grace) and posts.
    Found by the soak: the first failed refresh used up the one refresh a call allowed itself."""
    sandbox = demo_env.sandbox
    expected = sandbox.cw_export("adelaide")
    run_assets(demo_env.store_env, ["xero/contacts"], ADL)
    sandbox.post("xero", "/_sandbox/tokens/expire")
    sandbox.fault("xero", path="/connect/token", status=503, count=1)
    sandbox.fault("xero", path="/connect/token", kind="drop", when="after", count=1)
    result = run_assets(demo_env.store_env, ["xero/invoices"], ADL)
    meta = metadata(result, "xero/invoices")
    assert result.success and meta["failed"] == 0 and meta["posted"] == len(expected)
    assert XeroTokens(demo_env.store, "demo").status() != "paused"
    assert_exactly_once(sandbox, "adelaide", expected)


def test_connectwise_outage_fails_the_rest_of_the_run_fast(demo_env):
    """ConnectWise answers 503 to everything: the first call spends its retries, then the run's other
    ConnectWise steps fail at once with a clear message (not minutes each); the next run tries afresh."""
    sandbox = demo_env.sandbox
    sandbox.fault("connectwise", path="*", status=503, rate=1.0)
    httpx.delete(f"{sandbox.cw_url}/_sandbox/calls")
    keys = ["xero/bills", "xero/staff", "xero/contacts"]
    result = run_assets(demo_env.store_env, keys, ADL, raise_on_error=False)
    assert not result.success
    failures = [e.event_specific_data.error.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert len(failures) == len(keys)
    assert sum("ConnectWise unavailable" in m for m in failures) == len(keys) - 1
    calls = httpx.get(f"{sandbox.cw_url}/_sandbox/calls").json()
    assert len(calls) <= 6  # one call's attempts (the default retry policy), nothing after
    sandbox.clear_faults()
    again = run_assets(demo_env.store_env, keys, ADL)
    assert again.success
