"""The ConnectWise simulator beyond invoices, over real HTTP with httpx: procurement (purchase orders, unposted
procurement, its export and batches), invoice payments and status, members and time, the catalogue, reference lists.

One server per module; every test starts from ``POST /_sandbox/reset`` (see test_connectwise_sim.py).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from cz_sandbox import demo
from cz_sandbox.connectwise import API_PREFIX, ConnectWiseSandboxConfig, create_connectwise_app
from cz_sandbox.cw_more import Extras
from cz_sandbox.cw_seed import build_world
from cz_sandbox.runner import SandboxServer

ADL = demo.LOCATIONS["adelaide"]["cw_location_id"]
MEL = demo.LOCATIONS["melbourne"]["cw_location_id"]
AUTH = (f"{demo.CW_COMPANY_ID}+{demo.CW_PUBLIC_KEY}", demo.CW_PRIVATE_KEY)
HEADERS = {"clientId": demo.CW_CLIENT_ID, "Accept": "application/vnd.connectwise.com+json; version=2025.1"}
PRODUCTS = {"exportInvoicesFlag": False, "exportExpensesFlag": False, "exportProductsFlag": True}
INVOICES = {"exportInvoicesFlag": True, "exportExpensesFlag": False, "exportProductsFlag": False}
SMALL = {"adelaide": 20, "melbourne": 15}


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(create_connectwise_app(ConnectWiseSandboxConfig())) as srv:
        yield srv


@pytest.fixture
def url(server: SandboxServer) -> str:
    httpx.post(server.url + "/_sandbox/reset", json={
        "seed": demo.SEED, "invoices_per_location": SMALL,
        "procurement_per_location": demo.DEFAULT_PROCUREMENT_PER_LOCATION}).raise_for_status()
    return server.url


@pytest.fixture
def cw(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url + API_PREFIX + "/", auth=AUTH, headers=HEADERS, timeout=30) as client:
        yield client


def state(url: str) -> dict[str, Any]:
    return httpx.get(url + "/_sandbox/state", timeout=30).json()


def export(cw: httpx.Client, **body: Any) -> dict[str, Any]:
    response = cw.post("finance/accounting/export", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def gl_ids(txn: dict[str, Any]) -> list[int]:
    """What marks a record posted: an invoice's glEntryIds; a purchase transaction (which has none, as in
    ConnectWise's sample) its purchaseDetail and purchaseDetailTax item ids."""
    if "glEntryIds" in txn:
        return [int(x) for x in txn["glEntryIds"].split(",")]
    return [d["id"] for d in txn["purchaseDetail"]] + [t["id"] for t in txn["purchaseDetailTax"]]


def record_id(txn: dict[str, Any]) -> str:
    """The unposted procurement record a purchase transaction is ("PO #PO-40001, Packing Slip: PS7001")."""
    return txn["packingSlip"][2:]


def count(cw: httpx.Client, path: str, **params: Any) -> int:
    return cw.get(f"{path}/count", params=params).json()["count"]


def stamp_now() -> str:
    """A condition timestamp at or before the next write (writes stamp whole seconds)."""
    return datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- procurement

def test_procurement_export_is_independent_of_invoices(cw: httpx.Client) -> None:
    products = export(cw, locationId=ADL, **PRODUCTS)
    txns = products["purchaseTransactions"]
    assert txns and products["transactions"] == [] and products["customers"] == []
    assert export(cw, locationId=ADL, **INVOICES)["purchaseTransactions"] == []
    both = export(cw, locationId=ADL, exportInvoicesFlag=True, exportProductsFlag=True)
    assert both["purchaseTransactions"] == txns and both["transactions"]

    unposted = {str(u["id"]): u for u in cw.get("finance/accounting/unpostedprocurement",
                                                params={"conditions": f"locationId={ADL}", "pageSize": 1000}).json()}
    assert set(unposted) == {record_id(t) for t in txns}  # one record per received PO
    assert 15 <= len(txns) <= 32
    vendors = {v["vendor"]["id"] for v in products["vendors"]}
    for t in txns:
        u = unposted[record_id(t)]
        # the sample's shape: a string id, the vendor as company, no glEntryIds / vendor / dueDate
        assert t["id"] == f"PO #{t['documentNumber']}, Packing Slip: PS{u['id']}"
        assert not {"glEntryIds", "vendor", "dueDate"} & set(t)
        assert u["unpostedProductId"] == record_id(t) and u["procurementType"] == "Purchase"
        assert u["purchaseOrder"]["name"] == t["documentNumber"] and t["documentNumber"].startswith("PO-")
        assert t["apAccountNumber"] == "800" and t["company"] == u["vendor"]
        assert t["company"]["id"] in vendors and t["vendorInvoiceNumber"] == u["vendorInvoiceNumber"]
        assert 1 <= len(t["purchaseDetail"]) <= 4
        lines = -sum(Decimal(str(d["total"])) for d in t["purchaseDetail"])
        for d in t["purchaseDetail"]:
            assert d["accountNumber"] in ("310", "429") and d["taxCodeXref"] in ("INPUT", "EXEMPTEXPENSES")
            assert d["quantity"] < 0 and d["total"] < 0 and d["itemCost"] > 0
            assert Decimal(str(d["quantity"])) * Decimal(str(d["itemCost"])) == Decimal(str(d["total"]))
            assert d["cost"] == -d["total"] and d["item"]["identifier"]
            assert re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M", d["documentDate"])
        tax = sum(Decimal(str(level["taxAmount"])) for level in t["taxLevels"])
        [tax_item] = t["purchaseDetailTax"]
        assert -Decimal(str(tax_item["total"])) == tax
        assert Decimal(str(t["total"])) == lines + Decimal(str(t["freightAmount"])) + tax
        assert Decimal(str(u["total"])) == Decimal(str(t["total"])) and Decimal(str(u["taxTotal"])) == tax
        expected_ids = [d["id"] for d in t["purchaseDetail"]]
        assert gl_ids(t) == [*expected_ids, tax_item["id"]]
    xrefs = Counter(d["taxCodeXref"] for t in txns for d in t["purchaseDetail"])
    assert xrefs["INPUT"] > xrefs["EXEMPTEXPENSES"] > 0
    assert any(t["freightAmount"] for t in txns)

    first, second = record_id(txns[0]), record_id(txns[1])
    only = export(cw, includedProductIds=[first], **PRODUCTS)["purchaseTransactions"]
    assert [record_id(t) for t in only] == [first]
    without = export(cw, locationId=ADL, excludedProductIds=[first, int(second)], **PRODUCTS)
    assert {record_id(t) for t in without["purchaseTransactions"]} == {record_id(t) for t in txns} - {first, second}
    bad = cw.post("finance/accounting/export", json={"includedProductIds": "7001", **PRODUCTS})
    assert bad.status_code == 400 and bad.json()["code"] == "InvalidObject"
    everywhere = export(cw, **PRODUCTS)["purchaseTransactions"]
    assert len(everywhere) == count(cw, "finance/accounting/unpostedprocurement") > len(txns)


def test_procurement_batches_post_whole_records_and_delete_returns_them(url: str, cw: httpx.Client) -> None:
    txns = export(cw, locationId=MEL, **PRODUCTS)["purchaseTransactions"]
    invoices_before = count(cw, "finance/accounting/unpostedinvoices")
    before = count(cw, "finance/accounting/unpostedprocurement")
    one, two = txns[0], txns[1]

    partial = cw.post("finance/accounting/batches", json={**PRODUCTS, "processedRecordIds": gl_ids(one)[:-1]})
    assert partial.status_code == 400 and one["documentNumber"] in partial.json()["errors"][0]["message"]
    wrong_flag = cw.post("finance/accounting/batches", json={**INVOICES, "processedRecordIds": gl_ids(one)})
    assert wrong_flag.status_code == 400 and wrong_flag.json()["errors"][0]["field"] == "exportProductsFlag"

    made = cw.post("finance/accounting/batches", json={**PRODUCTS, "batchIdentifier": "BILLS-1",
                                                       "processedRecordIds": gl_ids(one) + gl_ids(two)})
    assert made.status_code == 201, made.text
    assert {t["id"] for t in made.json()["purchaseTransactions"]} == {one["id"], two["id"]}
    assert made.json()["transactions"] == []
    assert count(cw, "finance/accounting/unpostedprocurement") == before - 2
    assert count(cw, "finance/accounting/unpostedinvoices") == invoices_before
    assert cw.get(f"finance/accounting/unpostedprocurement/{record_id(one)}").status_code == 404
    assert one["id"] not in {t["id"] for t in export(cw, **PRODUCTS)["purchaseTransactions"]}
    po_id = cw.get(f"finance/accounting/unpostedprocurement/{record_id(two)}").status_code  # posted: gone
    assert po_id == 404
    posted = {p["id"]: p for p in state(url)["procurement"]["posted"]}
    po = posted[int(record_id(one))]["purchaseOrder"]["id"]
    assert all(line["batchedFlag"] for line in cw.get(f"procurement/purchaseorders/{po}/lineitems").json())

    dup = cw.post("finance/accounting/batches", json={**PRODUCTS, "batchIdentifier": "bills-1",
                                                      "processedRecordIds": gl_ids(txns[2])})
    assert dup.status_code == 400 and dup.json()["errors"][0]["code"] == "ObjectExists"
    again = cw.post("finance/accounting/batches", json={**PRODUCTS, "processedRecordIds": gl_ids(one)})
    assert again.status_code == 400 and str(gl_ids(one)[0]) in again.text

    batch = cw.get("finance/accounting/batches", params={"conditions": 'batchIdentifier="BILLS-1"'}).json()[0]
    assert batch["exportProductsFlag"] is True and batch["exportInvoicesFlag"] is False
    re_export = cw.post(f"finance/accounting/batches/{batch['id']}/export").json()
    assert {t["id"] for t in re_export["purchaseTransactions"]} == {one["id"], two["id"]}
    assert cw.delete(f"finance/accounting/batches/{batch['id']}").status_code == 204
    assert count(cw, "finance/accounting/unpostedprocurement") == before
    assert not any(line["batchedFlag"] for line in cw.get(f"procurement/purchaseorders/{po}/lineitems").json())

    # both kinds in one batch, with both flags
    inv = export(cw, locationId=MEL, **INVOICES)["transactions"][0]
    mixed = cw.post("finance/accounting/batches", json={
        "exportInvoicesFlag": True, "exportProductsFlag": True, "processedRecordIds": gl_ids(inv) + gl_ids(one)})
    assert mixed.status_code == 201
    assert [t["id"] for t in mixed.json()["transactions"]] == [inv["id"]]
    assert [t["id"] for t in mixed.json()["purchaseTransactions"]] == [one["id"]]


def test_admin_procurement_unknown_vendor_and_bad_tax(url: str, cw: httpx.Client) -> None:
    spec = {"locationId": ADL, "vendorId": 999999, "poNumber": "PO-X1", "vendorInvoiceNumber": "NOBODY-1",
            "lines": [{"description": "Mystery hardware", "quantity": 2, "unitCost": 50.0, "accountNumber": "310",
                       "taxCodeXref": "INPUT"},
                      {"description": "Odd fee", "quantity": 1, "unitCost": 9.99, "accountNumber": "429",
                       "taxCodeXref": "BOGUS", "taxRate": 0}]}
    made = httpx.post(url + "/_sandbox/unpostedprocurement", json=spec)
    assert made.status_code == 201, made.text
    rec = made.json()
    assert rec["vendor"] == {"id": 999999, "identifier": "unknown-999999", "name": "Unknown company 999999"}
    assert len(rec["glEntryIds"]) == 3 and rec["total"] == 119.99
    [txn] = export(cw, includedProductIds=[str(rec["id"])], **PRODUCTS)["purchaseTransactions"]
    assert txn["documentNumber"] == "PO-X1" and txn["vendorInvoiceNumber"] == "NOBODY-1"
    assert [d["taxCodeXref"] for d in txn["purchaseDetail"]] == ["INPUT", "BOGUS"]
    assert httpx.post(url + "/_sandbox/unpostedprocurement", json=spec).status_code == 400  # poNumber taken
    assert httpx.post(url + "/_sandbox/unpostedprocurement", json={"locationId": 99, "vendorId": 1,
                                                                   "lines": []}).status_code == 400


def test_admin_procurement_takes_the_tax_type_of_its_tax_code(url: str, cw: httpx.Client) -> None:
    """A line given a tax code and no xref gets that code's purchase-side tax type (it was always INPUT)."""
    spec = {"locationId": ADL, "vendorId": 999999, "vendorInvoiceNumber": "FREE-1",
            "lines": [{"description": "GST-free training", "quantity": 1, "unitCost": 200.0, "accountNumber": "310",
                       "taxCode": "GST-FREE"},
                      {"description": "Switch", "quantity": 1, "unitCost": 100.0, "accountNumber": "310",
                       "taxCode": "GST"}]}
    made = httpx.post(url + "/_sandbox/unpostedprocurement", json=spec)
    assert made.status_code == 201, made.text
    [txn] = export(cw, includedProductIds=[str(made.json()["id"])], **PRODUCTS)["purchaseTransactions"]
    assert [d["taxCodeXref"] for d in txn["purchaseDetail"]] == ["EXEMPTEXPENSES", "INPUT"]


def test_purchase_orders_and_line_items(cw: httpx.Client) -> None:
    total = count(cw, "procurement/purchaseorders")
    assert total == sum(demo.DEFAULT_PROCUREMENT_PER_LOCATION.values())
    closed = cw.get("procurement/purchaseorders", params={"conditions": 'status/name="Closed"',
                                                          "pageSize": 1000}).json()
    assert len(closed) == count(cw, "finance/accounting/unpostedprocurement") and len(closed) / total > 0.6
    assert all(p["closedFlag"] and p["vendorInvoiceNumber"] for p in closed)
    vendors = {c["id"] for c in cw.get("company/companies", params={"conditions": "isVendorFlag=True"}).json()}
    for c in cw.get("company/companies", params={"conditions": "isVendorFlag=True"}).json():
        assert c["vendorIdentifier"] and c["accountNumber"]
    po = closed[0]
    assert po["vendorCompany"]["id"] in vendors and po["poNumber"].startswith("PO-")
    lines = cw.get(f"procurement/purchaseorders/{po['id']}/lineitems").json()
    assert 1 <= len(lines) <= 4 and [x["lineNumber"] for x in lines] == list(range(1, len(lines) + 1))
    assert count(cw, f"procurement/purchaseorders/{po['id']}/lineitems") == len(lines)
    for x in lines:
        assert x["receivedStatus"] == "FullyReceived" and x["receivedQuantity"] == x["quantity"]
        assert x["extCost"] == round(x["quantity"] * x["unitCost"], 2) and x["batchedFlag"] is False
    subtotal = sum(Decimal(str(x["extCost"])) for x in lines)
    assert Decimal(str(po["subTotal"])) == subtotal
    assert Decimal(str(po["total"])) == subtotal + Decimal(str(po["freightCost"])) + Decimal(str(po["salesTax"]))
    one = cw.get(f"procurement/purchaseorders/{po['id']}/lineitems/{lines[0]['id']}")
    assert one.status_code == 200 and one.json() == lines[0]
    waiting = cw.get("procurement/purchaseorders", params={"conditions": "closedFlag=False"}).json()
    assert waiting and all(x["receivedStatus"] == "Waiting"
                           for p in waiting for x in cw.get(f"procurement/purchaseorders/{p['id']}/lineitems").json())
    assert cw.get("procurement/purchaseorders/999/lineitems").status_code == 404
    assert cw.get("procurement/purchaseorders/999").json()["code"] == "NotFound"
    assert [s["name"] for s in cw.get("procurement/purchaseorderstatuses").json()] == [
        "Open", "Ordered", "Closed", "Cancelled"]
    fields = cw.get("procurement/purchaseorders", params={"fields": "id,poNumber,vendorCompany/name",
                                                          "pageSize": 1}).json()
    assert set(fields[0]) == {"id", "poNumber", "vendorCompany"}


# ---------------------------------------------------------------- payments and status

def test_payments_partial_full_over_and_delete(url: str, cw: httpx.Client) -> None:
    inv = cw.get("finance/invoices/1001").json()
    total = Decimal(str(inv["total"]))
    assert inv["balance"] == inv["total"] and inv["payments"] == 0
    since = stamp_now()
    part = cw.post("finance/invoices/1001/payments", json={"amount": 100.0, "paymentDate": "2026-01-05T00:00:00Z"})
    assert part.status_code == 201, part.text
    p1 = part.json()
    assert p1["type"] == "Payment" and p1["amount"] == 100.0 and p1["paymentDate"] == "2026-01-05T00:00:00Z"
    assert p1["invoice"] == {"id": 1001, "identifier": inv["invoiceNumber"]}
    assert Decimal(str(p1["invoiceBalance"])) == total - 100 == Decimal(str(p1["balance"]))
    assert p1["invoiceTotal"] == inv["total"]
    after = cw.get("finance/invoices/1001").json()
    assert Decimal(str(after["balance"])) == total - 100 and after["payments"] == 100.0
    changed = cw.get("finance/invoices", params={"conditions": f"_info/lastUpdated >= [{since}]"}).json()
    assert [i["id"] for i in changed] == [1001]

    for bad in (0, -5, "abc"):
        r = cw.post("finance/invoices/1002/payments", json={"amount": bad})
        assert r.status_code == 400 and r.json()["code"] == "InvalidObject", bad
    assert cw.post("finance/invoices/999999/payments", json={"amount": 1}).status_code == 404
    over = cw.post("finance/invoices/1002/payments", json={"amount": 10**9})
    assert over.status_code == 400 and "exceeds invoice balance" in over.json()["errors"][0]["message"]

    # one payment per invoice: a second is refused with ConnectWise's validation shape, the first is changed
    second = cw.post("finance/invoices/1001/payments", json={"amount": 1.0})
    assert second.status_code == 400 and second.json()["code"] == "InvalidObject"
    assert second.json()["errors"][0]["code"] == "ObjectExists"
    assert count(cw, "finance/invoices/1001/payments") == 1
    too_much = cw.patch(f"finance/invoices/1001/payments/{p1['id']}",
                        json=[{"op": "replace", "path": "amount", "value": float(total + 1)}])
    assert too_much.status_code == 400 and "exceeds invoice balance" in too_much.json()["errors"][0]["message"]
    full = cw.patch(f"finance/invoices/1001/payments/{p1['id']}",
                    json=[{"op": "replace", "path": "amount", "value": float(total)}])
    assert full.status_code == 200 and full.json()["invoiceBalance"] == 0
    assert cw.get("finance/invoices/1001").json()["balance"] == 0
    put = cw.put(f"finance/invoices/1001/payments/{p1['id']}", json={"amount": 100.0,
                                                                     "paymentDate": "2026-01-06T00:00:00Z"})
    assert put.status_code == 200 and put.json()["paymentDate"] == "2026-01-06T00:00:00Z"
    listed = cw.get("finance/invoices/1001/payments").json()
    assert [(p["id"], p["amount"]) for p in listed] == [(p1["id"], 100.0)]
    assert cw.get(f"finance/invoices/1001/payments/{p1['id']}").json()["amount"] == 100.0
    assert cw.get(f"finance/invoices/1002/payments/{p1['id']}").status_code == 404

    other = cw.post("finance/invoices/1003/payments", json={"amount": 5.0}).json()
    assert cw.delete(f"finance/invoices/1003/payments/{other['id']}").status_code == 204
    assert cw.delete(f"finance/invoices/1003/payments/{other['id']}").status_code == 404
    assert count(cw, "finance/invoices/1003/payments") == 0
    st = state(url)
    assert [p["id"] for p in st["payments"]] == [p1["id"]]
    assert next(i for i in st["invoices"] if i["id"] == 1001)["payments"] == 100.0
    part_paid = cw.get("finance/invoices", params={"conditions": "payments > 0 AND balance > 0"}).json()
    assert [i["id"] for i in part_paid] == [1001]


def test_invoice_status_patch_and_put(cw: httpx.Client) -> None:
    statuses = {s["name"]: s for s in cw.get("finance/billingStatuses").json()}
    assert statuses["Paid"]["closedFlag"] and statuses["Closed"]["closedFlag"] and not statuses["Partially Paid"][
        "closedFlag"]
    assert cw.get("finance/invoices/1002").json()["status"] == {"id": 13, "name": "Closed", "isClosed": True}
    patched = cw.patch("finance/invoices/1002", json=[{"op": "replace", "path": "status", "value": {"id": 14}}])
    assert patched.status_code == 200 and patched.json()["status"] == {"id": 14, "name": "Paid", "isClosed": True}
    assert [i["id"] for i in cw.get("finance/invoices", params={"conditions": 'status/name="Paid"'}).json()] == [1002]
    by_name = cw.patch("finance/invoices/1003", json=[{"op": "replace", "path": "status",
                                                       "value": {"name": "Partially Paid"}}])
    assert by_name.json()["status"]["id"] == 15
    assert count(cw, "finance/invoices", conditions="status/id in (14, 15)") == 2

    sub_path = cw.patch("finance/invoices/1003", json=[{"op": "replace", "path": "status/id", "value": 14}])
    assert sub_path.status_code == 200 and sub_path.json()["status"]["id"] == 15  # the real API's false 200
    for body in ([{"op": "replace", "path": "status", "value": {"id": 99}}],
                 [{"op": "replace", "path": "total", "value": 1}],
                 {"op": "replace", "path": "status", "value": {"id": 14}},
                 [{"op": "move", "path": "status", "value": {"id": 14}}]):
        bad = cw.patch("finance/invoices/1002", json=body)
        assert bad.status_code == 400 and bad.json()["code"] == "InvalidObject", body
    assert cw.patch("finance/invoices/999999", json=[{"op": "replace", "path": "status",
                                                      "value": {"id": 14}}]).status_code == 404

    whole = cw.get("finance/invoices/1004").json()
    put = cw.put("finance/invoices/1004", json={**whole, "status": {"id": 2}, "customerPO": "PO-778"})
    assert put.status_code == 200 and put.json()["status"]["name"] == "Sent" and put.json()["customerPO"] == "PO-778"
    assert put.json()["total"] == whole["total"]
    assert cw.put("finance/invoices/1004", json={"status": {"id": 2}}).status_code == 400


# ---------------------------------------------------------------- members and time

def test_members_and_work_types(cw: httpx.Client) -> None:
    members = cw.get("system/members", params={"pageSize": 100}).json()
    assert [m["id"] for m in members] == sorted(m["id"] for m in demo.CW_MEMBERS)
    assert count(cw, "system/members") == len(demo.CW_MEMBERS)
    first = demo.CW_MEMBERS[0]
    one = cw.get(f"system/members/{first['id']}").json()
    assert one["identifier"] == first["identifier"] and one["employeeIdentifer"] == first["employeeIdentifer"]
    assert one["primaryEmail"] == one["officeEmail"] == first["primaryEmail"]
    assert one["defaultLocation"]["id"] == demo.LOCATIONS[first["defaultLocation"]]["cw_location_id"]
    assert {"hireDate", "timeSheetStartDate", "type", "_info"} <= set(one)
    active_adl = cw.get("system/members", params={
        "conditions": f"inactiveFlag=False AND defaultLocation/id={ADL}"}).json()
    assert {m["identifier"] for m in active_adl} == {
        m["identifier"] for m in demo.CW_MEMBERS if m["defaultLocation"] == "adelaide" and not m["inactiveFlag"]}
    assert cw.get("system/members/4242").status_code == 404

    types = {w["id"]: w for w in cw.get("time/workTypes").json()}
    assert {i: w["name"] for i, w in types.items()} == {w["id"]: w["name"] for w in demo.CW_WORK_TYPES}
    assert types[5]["accrualType"] == "Vacation" and types[6]["accrualType"] == "Sick" and "accrualType" not in types[1]
    leave = cw.get("time/workTypes", params={"conditions": 'accrualType != null'}).json()
    assert {w["name"] for w in leave} == {"Annual Leave", "Sick Leave"}


def test_time_entries_seeded_and_filtered(url: str, cw: httpx.Client) -> None:
    entries = cw.get("time/entries", params={"pageSize": 1000}).json()
    active = [m for m in demo.CW_MEMBERS if not m["inactiveFlag"]]
    assert {e["member"]["id"] for e in entries} == {m["id"] for m in active}
    statuses = Counter(e["status"] for e in entries)
    settled = statuses["ApprovedByTierTwo"] + statuses["ReadyToBill"] + statuses["Billed"]
    assert settled / len(entries) > 0.6 and statuses["Open"] + statuses["PendingApproval"] > 0
    assert statuses["Rejected"] + statuses["ErrorsCorrected"] > 0
    assert Counter(e["workType"]["name"] for e in entries).most_common(1)[0][0] == "Regular"
    today = datetime.now(UTC).date()
    for e in entries:
        start = datetime.fromisoformat(e["timeStart"])
        tz = ZoneInfo(demo.LOCATIONS["adelaide" if e["locationId"] == ADL else "melbourne"]["timezone"])
        local = start.astimezone(tz)
        assert local.weekday() < 5 and 7 <= local.hour < 20, e  # business hours at the member's location
        assert (today - timedelta(days=22)) <= local.date() < today
        assert (e["actualHours"] * 4) == int(e["actualHours"] * 4) and e["timeSheet"]["name"].count(" to ") == 1
        assert datetime.fromisoformat(e["timeEnd"]) - start == timedelta(hours=e["actualHours"])
    # UTC vs local: some Adelaide mornings start on the previous UTC day
    assert any(datetime.fromisoformat(e["timeStart"]).date() != datetime.fromisoformat(e["timeStart"]).astimezone(
        ZoneInfo("Australia/Adelaide")).date() for e in entries if e["locationId"] == ADL)

    payroll = "status in (\"ApprovedByTierTwo\", \"ReadyToBill\", \"Billed\")"
    mel_ids = ",".join(str(m["id"]) for m in active if m["defaultLocation"] == "melbourne")
    since = (today - timedelta(days=7)).isoformat()
    picked = cw.get("time/entries", params={"pageSize": 1000, "conditions": (
        f"member/id in ({mel_ids}) AND timeStart >= [{since}T00:00:00Z] AND {payroll}")}).json()
    expected = [e for e in entries if str(e["member"]["id"]) in mel_ids.split(",") and e["timeStart"] >= since
                and e["status"] in ("ApprovedByTierTwo", "ReadyToBill", "Billed")]
    assert [e["id"] for e in picked] == [e["id"] for e in expected] and picked
    assert count(cw, "time/entries", conditions=f"locationId={MEL}") == sum(e["locationId"] == MEL for e in entries)

    since = stamp_now()
    liam = next(m for m in demo.CW_MEMBERS if m["identifier"] == "ljones")
    added = httpx.post(url + "/_sandbox/time/entries", json={
        "memberId": liam["id"], "date": (today - timedelta(days=1)).isoformat(), "hours": 1.25, "workTypeId": 2,
        "status": "PendingApproval", "notes": "Overtime: server patching", "startHour": 19})
    assert added.status_code == 201, added.text
    new = added.json()
    assert new["workType"] == {"id": 2, "name": "Overtime"} and new["status"] == "PendingApproval"
    assert datetime.fromisoformat(new["timeStart"]).astimezone(ZoneInfo("Australia/Melbourne")).hour == 19
    older = entries[0]
    moved = httpx.post(url + f"/_sandbox/time/entries/{older['id']}", json={"status": "Billed"})
    assert moved.status_code == 200 and moved.json()["status"] == "Billed"
    changed = cw.get("time/entries", params={"conditions": f"_info/lastUpdated >= [{since}]"}).json()
    assert sorted(e["id"] for e in changed) == sorted([new["id"], older["id"]])
    assert httpx.post(url + "/_sandbox/time/entries", json={"memberId": 4242, "date": "2026-01-01",
                                                            "hours": 1}).status_code == 400
    assert httpx.post(url + "/_sandbox/time/entries", json={"memberId": liam["id"], "date": "2026-01-01",
                                                            "hours": 1, "status": "Approved"}).status_code == 400
    assert len(state(url)["time_entries"]) == len(entries) + 1


def test_time_sheets_follow_entries_and_actions_cascade(url: str, cw: httpx.Client) -> None:
    sheets = cw.get("time/sheets", params={"pageSize": 1000}).json()
    entries = cw.get("time/entries", params={"pageSize": 1000}).json()
    by_sheet: dict[int, list[dict[str, Any]]] = {}
    for e in entries:
        by_sheet.setdefault(e["timeSheet"]["id"], []).append(e)
    assert {s["id"] for s in sheets} == set(by_sheet)
    for s in sheets:
        mine = by_sheet[s["id"]]
        assert s["hours"] == round(sum(e["actualHours"] for e in mine), 2)
        assert {e["member"]["id"] for e in mine} == {s["member"]["id"]}
        start = date.fromisoformat(s["dateStart"][:10])
        assert start.weekday() == 0 and "name" not in s  # a TimeSheet has no name; its reference has
        assert {e["timeSheet"]["name"] for e in mine} == {f"{start} to {start + timedelta(days=6)}"}
        statuses = {e["status"] for e in mine}
        if "Open" in statuses:
            assert s["status"] == "Open"
        elif statuses <= {"ReadyToBill", "Billed"}:
            assert s["status"] == "Billed"
    assert count(cw, "time/sheets") == len(sheets)

    pending = next(s for s in sheets if s["status"] == "PendingApproval")
    approve = cw.post(f"time/sheets/{pending['id']}/approve", json={"id": pending["id"],
                                                                    "approvalType": "Tier2Update"})
    assert approve.status_code == 200 and approve.json()["success"] is True
    assert cw.get(f"time/sheets/{pending['id']}").json()["status"] == "ApprovedByTierTwo"
    assert {e["status"] for e in cw.get("time/entries", params={
        "conditions": f"timeSheet/id={pending['id']}"}).json()} <= {"ApprovedByTierTwo", "ReadyToBill", "Billed"}
    again = cw.post(f"time/sheets/{pending['id']}/approve")
    assert again.status_code == 400 and again.json()["code"] == "InvalidObject"

    open_sheet = next(s for s in sheets if s["status"] == "Open")
    assert cw.post(f"time/sheets/{open_sheet['id']}/submit").status_code == 200
    assert cw.post(f"time/sheets/{open_sheet['id']}/reject").status_code == 200
    assert cw.get(f"time/sheets/{open_sheet['id']}").json()["status"] == "Rejected"
    assert cw.get(f"time/sheets/{open_sheet['id']}/approve").status_code == 405
    assert cw.post("time/sheets/1/approve").status_code == 404
    assert len(state(url)["time_sheets"]) == len(sheets)


# ---------------------------------------------------------------- catalogue and reference lists

def test_catalog_create_update_duplicate_and_errors(url: str, cw: httpx.Client) -> None:
    seeded = cw.get("procurement/catalog", params={"pageSize": 100}).json()
    codes = [i["Code"] for i in demo.XERO_ITEMS[:4]] + [c["identifier"] for c in demo.CW_CATALOG_ITEMS]
    assert [c["identifier"] for c in seeded] == codes and count(cw, "procurement/catalog") == len(codes)
    assert count(cw, "procurement/catalog", conditions="inactiveFlag=True") == 1
    sub = cw.get("procurement/subcategories").json()[0]
    typ = cw.get("procurement/types").json()[0]
    body = {"identifier": "NEW-ITEM-1", "description": "A new item", "customerDescription": "A new item, longer",
            "subcategory": {"id": sub["id"]}, "type": {"id": typ["id"]}, "price": 12.5, "cost": 7.25,
            "integrationXRef": "0b7f3a2e-xero-item"}
    since = stamp_now()
    made = cw.post("procurement/catalog", json=body)
    assert made.status_code == 201, made.text
    item = made.json()
    assert item["subcategory"]["name"] == sub["name"] and item["type"] == typ and item["productClass"] == "NonInventory"
    assert item["price"] == 12.5 and item["_info"]["lastUpdated"] >= since
    assert cw.get("procurement/catalog", params={"conditions": 'identifier="NEW-ITEM-1"'}).json() == [item]

    dup = cw.post("procurement/catalog", json={**body, "identifier": "new-item-1"})
    assert dup.status_code == 400 and dup.json()["errors"][0]["code"] == "ObjectExists"
    missing = cw.post("procurement/catalog", json={"identifier": "X"})
    assert missing.status_code == 400
    assert {e["field"] for e in missing.json()["errors"]} == {"description", "subcategory", "type",
                                                              "customerDescription"}
    assert all(e["code"] == "MissingRequiredField" for e in missing.json()["errors"])
    for name, limit in (("identifier", 75), ("description", 60), ("customerDescription", 6000),
                        ("integrationXRef", 50)):
        long = cw.post("procurement/catalog", json={**body, "identifier": "LONG", name: "x" * (limit + 1)})
        assert long.status_code == 400 and long.json()["errors"][0]["field"] == name, name
        assert str(limit) in long.json()["errors"][0]["message"]
    bad_ref = cw.post("procurement/catalog", json={**body, "identifier": "REF", "subcategory": {"id": 999}})
    assert bad_ref.status_code == 400 and bad_ref.json()["errors"][0]["field"] == "subcategory"

    patched = cw.patch(f"procurement/catalog/{item['id']}", json=[
        {"op": "replace", "path": "description", "value": "Renamed"}, {"op": "replace", "path": "price",
                                                                      "value": 15.0}])
    assert patched.status_code == 200 and patched.json()["description"] == "Renamed"
    assert patched.json()["price"] == 15.0 and patched.json()["cost"] == 7.25
    too_long = cw.patch(f"procurement/catalog/{item['id']}", json=[{"op": "replace", "path": "description",
                                                                    "value": "y" * 61}])
    assert too_long.status_code == 400
    clash = cw.patch(f"procurement/catalog/{item['id']}", json=[{"op": "replace", "path": "identifier",
                                                                 "value": codes[0]}])
    assert clash.status_code == 400 and clash.json()["errors"][0]["code"] == "ObjectExists"
    put = cw.put(f"procurement/catalog/{item['id']}", json={**body, "description": "Put back"})
    assert put.status_code == 200 and put.json()["description"] == "Put back" and put.json()["price"] == 12.5
    partial_put = cw.put(f"procurement/catalog/{item['id']}", json={"identifier": "NEW-ITEM-1"})
    assert partial_put.status_code == 400
    assert cw.patch("procurement/catalog/9999", json=[{"op": "replace", "path": "price", "value": 1}]).status_code \
        == 404
    assert cw.delete(f"procurement/catalog/{item['id']}").status_code == 405
    assert count(cw, "procurement/catalog") == len(codes) + 1
    assert any(c["identifier"] == "NEW-ITEM-1" for c in state(url)["catalog"])


def test_reference_lists(cw: httpx.Client) -> None:
    currencies = cw.get("finance/currencies").json()
    assert [c["currencyCode"]["name"] for c in currencies] == ["AUD", "NZD", "USD"]
    assert cw.get("finance/currencies", params={"conditions": 'currencyIdentifier="NZD"'}).json()[0]["id"] == 2
    assert cw.get("finance/currencies/count").json() == {"count": 3}
    statuses = {s["id"]: s["name"] for s in cw.get("finance/billingStatuses").json()}
    assert {1: "New", 2: "Sent", 13: "Closed", 14: "Paid", 15: "Partially Paid"}.items() <= statuses.items()
    assert cw.get("finance/billingStatuses", params={"conditions": "closedFlag=True"}).json()
    assert {c["name"] for c in cw.get("procurement/categories").json()} == {"Hardware", "Software", "Services"}
    subs = cw.get("procurement/subcategories").json()
    assert all("category" in s for s in subs) and cw.get(f"procurement/subcategories/{subs[1]['id']}").json() == subs[1]
    assert "Non-Inventory" in {t["name"] for t in cw.get("procurement/types").json()}
    assert cw.get("procurement/types/99").status_code == 404
    assert cw.post("finance/currencies", json={}).status_code == 405


def test_deterministic_and_sized() -> None:
    day = date(2026, 3, 1)

    def build(seed: int) -> dict[str, Any]:
        world = build_world(seed, {"adelaide": 5}, day)
        return Extras(world, seed, {"adelaide": 12, "melbourne": 9}).state()

    a, b, c = build(7), build(7), build(8)
    assert a == b and a != c
    assert Counter(p["locationId"] for p in a["purchase_orders"]) == {ADL: 12, MEL: 9}
    assert len(a["time_entries"]) > 100 and len(a["time_sheets"]) > 20
    anchor = datetime(2026, 3, 1, tzinfo=UTC)
    assert all(datetime.fromisoformat(p["_info"]["lastUpdated"]) < anchor for p in a["purchase_orders"])
    assert all(datetime.fromisoformat(e["_info"]["lastUpdated"]) < anchor for e in a["time_entries"])
    numbers = [p["poNumber"] for p in a["purchase_orders"]]
    assert len(set(numbers)) == len(numbers)


def test_reset_sizes_procurement(url: str, cw: httpx.Client) -> None:
    reset = httpx.post(url + "/_sandbox/reset", json={"procurement_per_location": {"adelaide": 3, "perth": 2}})
    assert reset.status_code == 200 and reset.json()["procurement_per_location"] == {
        "adelaide": 3, "melbourne": 0, "perth": 2}
    assert count(cw, "procurement/purchaseorders") == 5
    assert httpx.post(url + "/_sandbox/reset", json={"procurement_per_location": {"sydney": 1}}).status_code == 400
    assert count(cw, "procurement/purchaseorders") == 5  # a refused reset changes nothing
    started = time.monotonic()
    httpx.post(url + "/_sandbox/reset", json={"procurement_per_location": demo.DEFAULT_PROCUREMENT_PER_LOCATION})
    assert time.monotonic() - started < 5


def test_closed_invoices_status(cw: httpx.Client) -> None:
    closed = cw.get("finance/closedInvoices/1005").json()
    assert closed["id"] == 1005 and closed["status"]["name"] == "Closed" and "_info" in closed
    patched = cw.patch("finance/closedInvoices/1005", json=[{"op": "replace", "path": "status", "value": {"id": 14}},
                                                            {"op": "replace", "path": "internalNotes",
                                                             "value": "Paid in Xero"}])
    assert patched.status_code == 200 and patched.json()["status"]["id"] == 14
    assert patched.json()["internalNotes"] == "Paid in Xero"
    assert cw.get("finance/invoices/1005").json()["status"]["name"] == "Paid"
    put = cw.put("finance/closedInvoices/1005", json={"id": 1005, "status": {"id": 13}})
    assert put.status_code == 200 and put.json()["status"]["id"] == 13 and "internalNotes" not in put.json()
    assert cw.put("finance/closedInvoices/1005", json={"id": 1005}).status_code == 400
    assert cw.delete("finance/closedInvoices/1005").status_code == 405
