"""Reference mirrors: Xero's reference data of each location's organisation, stored with what changed."""

from __future__ import annotations

from cz_dagster.store.reference import ReferenceMirror
from cz_sandbox import demo
from tests.dagster_helpers import metadata, run_assets

ADL = "demo__adelaide"
MIRRORS = ["xero/accounts", "xero/currencies", "xero/tax_rates", "xero/invoice_statuses", "xero/tracking_categories",
           "xero/items", "xero/earnings_rates", "xero/leave_types", "xero/leave_applications", "xero/payroll_calendars"]


def test_mirrors_store_and_report_changes(demo_env):
    sandbox = demo_env.sandbox
    result = run_assets(demo_env.store_env, MIRRORS, ADL)
    tax = metadata(result, "xero/tax_rates")
    assert tax["records"] == len(demo.XERO_TAX_RATES) == tax["added"] and tax["changed"] == tax["removed"] == 0
    assert metadata(result, "xero/invoice_statuses")["records"] == 6
    assert metadata(result, "xero/invoice_statuses").get("api_calls_xero", 0) == 0
    stored = ReferenceMirror(demo_env.store, "demo", "adelaide", "tax_rates").items()
    assert stored["OUTPUT"]["Status"] == "ACTIVE" and stored["OUTPUT"]["Name"] == "GST on Income"
    accounts = ReferenceMirror(demo_env.store, "demo", "adelaide", "accounts").items()
    assert {a["Code"] for a in demo.XERO_ACCOUNTS} <= set(accounts)
    assert ReferenceMirror(demo_env.store, "demo", "melbourne", "tax_rates").items() == {}  # per organisation

    tid = demo.LOCATIONS["adelaide"]["xero_tenant_id"]
    sandbox.post("xero", f"/_sandbox/tax_rates/{tid}/EXEMPTEXPORT/status", {"Status": "DELETED"})
    again = metadata(run_assets(demo_env.store_env, ["xero/tax_rates"], ADL), "xero/tax_rates")
    assert again["added"] == 0 and again["changed"] + again["removed"] == 1
    assert "EXEMPTEXPORT" in again["changes"]
    unchanged = metadata(run_assets(demo_env.store_env, ["xero/tax_rates"], ADL), "xero/tax_rates")
    assert unchanged["added"] == unchanged["changed"] == unchanged["removed"] == 0


def test_payroll_and_catalogue_mirrors(demo_env):
    result = run_assets(demo_env.store_env, MIRRORS, "demo__melbourne")
    assert metadata(result, "xero/items")["records"] == len(demo.XERO_ITEMS)
    assert metadata(result, "xero/earnings_rates")["records"] == len(demo.XERO_EARNINGS_RATES)
    assert metadata(result, "xero/leave_types")["records"] == len(demo.XERO_LEAVE_TYPES)
    assert metadata(result, "xero/payroll_calendars")["records"] == len(demo.XERO_PAYROLL_CALENDARS)
    assert metadata(result, "xero/leave_applications")["records"] == len(demo.XERO_LEAVE_APPLICATIONS["melbourne"])
    tracking = ReferenceMirror(demo_env.store, "demo", "melbourne", "tracking_categories").items()
    [location] = [c for c in tracking.values() if c["Name"] == "Location"]
    assert {o["Name"] for o in location["Options"]} >= {"Adelaide", "Melbourne", "Perth", "Darwin"}
    tid = demo.LOCATIONS["melbourne"]["xero_tenant_id"]
    demo_env.sandbox.post("xero", "/_sandbox/items", {"tenant_id": tid, "Code": "NEW-ITEM", "Name": "New item",
                                                      "SalesDetails": {"UnitPrice": 10.0}})
    again = metadata(run_assets(demo_env.store_env, ["xero/items"], "demo__melbourne"), "xero/items")
    assert again["added"] == 1 and "NEW-ITEM" in again["changes"]
