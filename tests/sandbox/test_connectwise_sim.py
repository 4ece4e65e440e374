"""The ConnectWise simulator over real HTTP with httpx, the way the product's ConnectWise client will call it.

One server per module (starting uvicorn is the slow part); every test starts from ``POST /_sandbox/reset``, which
rebuilds the demo data and clears faults, the call log and the rate-limit window, so tests are independent.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from cz_sandbox import demo
from cz_sandbox.connectwise import API_PREFIX, ConnectWiseSandboxConfig, create_connectwise_app
from cz_sandbox.cw_seed import build_world
from cz_sandbox.runner import SandboxServer

ADL = demo.LOCATIONS["adelaide"]["cw_location_id"]
MEL = demo.LOCATIONS["melbourne"]["cw_location_id"]
AUTH = (f"{demo.CW_COMPANY_ID}+{demo.CW_PUBLIC_KEY}", demo.CW_PRIVATE_KEY)
HEADERS = {"clientId": demo.CW_CLIENT_ID, "Accept": "application/vnd.connectwise.com+json; version=2025.1"}
EXPORT = {"exportInvoicesFlag": True, "exportExpensesFlag": False, "exportProductsFlag": False}
BATCH_FLAGS = {"exportInvoicesFlag": True, "exportExpensesFlag": False, "exportProductsFlag": False}


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(create_connectwise_app(ConnectWiseSandboxConfig(stuck_invoice=True))) as srv:
        yield srv


@pytest.fixture
def url(server: SandboxServer) -> str:
    httpx.post(server.url + "/_sandbox/reset", json={"seed": demo.SEED,
                                                      "invoices_per_location": demo.DEFAULT_INVOICES_PER_LOCATION})
    return server.url


@pytest.fixture
def cw(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url + API_PREFIX + "/", auth=AUTH, headers=HEADERS, timeout=30) as client:
        yield client


def state(url: str) -> dict[str, Any]:
    return httpx.get(url + "/_sandbox/state", timeout=30).json()


def links(response: httpx.Response) -> dict[str, int]:
    """rel -> page number, parsed the way pyconnectwise does."""
    return {rel: int(page) for page, rel in re.findall(r'page=(\d+)>; rel="(\w+)"', response.headers["link"])}


def read_all(cw: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Follow Link rel=next to the end, as a client would."""
    out: list[dict[str, Any]] = []
    response = cw.get(path, params=params)
    while True:
        assert response.status_code == 200, response.text
        out.extend(response.json())
        nxt = re.search(r'<([^>]+)>; rel="next"', response.headers.get("link", ""))
        if not nxt:
            return out
        response = cw.get(nxt.group(1))


def export(cw: httpx.Client, **extra: Any) -> dict[str, Any]:
    response = cw.post("finance/accounting/export", json={**EXPORT, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def entry_ids(txn: dict[str, Any]) -> list[int]:
    return [int(x) for x in txn["glEntryIds"].split(",")]


# ---------------------------------------------------------------- routing, auth, headers

def test_companyinfo_is_unauthenticated(url: str) -> None:
    response = httpx.get(f"{url}/login/companyinfo/{demo.CW_COMPANY_ID}")
    assert response.status_code == 200
    body = response.json()
    assert body["Codebase"] == "v4_6_release/" and body["IsCloud"] == "False"
    assert {"CompanyName", "VersionCode", "VersionNumber", "CompanyID"} <= set(body)


def test_auth_failures(url: str) -> None:
    base = url + API_PREFIX + "/system/info"
    bad = httpx.get(base, auth=(AUTH[0], "wrong-private-key"), headers=HEADERS)
    assert bad.status_code == 401 and bad.json()["code"] == "Unauthorized"
    wrong_company = httpx.get(base, auth=(f"other+{demo.CW_PUBLIC_KEY}", demo.CW_PRIVATE_KEY), headers=HEADERS)
    assert wrong_company.status_code == 401
    none = httpx.get(base, headers=HEADERS)
    assert none.status_code == 401 and none.json()["code"] == "Unauthorized"
    no_client = httpx.get(base, auth=AUTH)
    assert no_client.status_code == 401 and "clientId" in no_client.json()["message"]
    unknown_client = httpx.get(base, auth=AUTH, headers={"clientId": "not-registered"})
    assert unknown_client.status_code == 401 and "clientId" in unknown_client.json()["message"]
    token = base64.b64encode(f"{AUTH[0]}:{AUTH[1]}".encode()).decode()
    ok = httpx.get(base, headers={**HEADERS, "Authorization": f"Basic {token}"})
    assert ok.status_code == 200 and ok.json()["isCloud"] is False


def test_response_headers_and_unknown_endpoint(cw: httpx.Client) -> None:
    response = cw.get("system/info")
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["api-current-version"] and response.headers["x-cw-request-id"]
    missing = cw.get("service/nothing")
    assert missing.status_code == 404 and missing.json()["code"] == "ConnectWiseApi"
    assert cw.get("company/companies/999999").status_code == 404
    assert cw.put("company/companies/250", json={}).status_code == 405


# ---------------------------------------------------------------- reference lists

def test_locations_companies_tax_codes(cw: httpx.Client) -> None:
    locations = {loc["id"]: loc["name"] for loc in cw.get("system/locations").json()}
    assert locations == {ADL: "Adelaide", MEL: "Melbourne", 13: "Perth"}
    assert cw.get("system/locations/13").json()["name"] == "Perth"
    assert cw.get("system/locations/count").json() == {"count": 3}

    companies = read_all(cw, "company/companies", pageSize=1000)
    clients = [c for c in companies if not c["isVendorFlag"]]
    vendors = [c for c in companies if c["isVendorFlag"]]
    assert [c["name"] for c in clients] == [name for name, _, _ in demo.COMPANIES]
    assert clients[0]["id"] == 250 and clients[0]["invoiceToEmailAddress"] == demo.COMPANIES[0][2]
    assert clients[0]["types"] == [{"id": 1, "name": "Client"}] and clients[0]["deletedFlag"] is False
    assert clients[0]["country"] == {"id": 7, "name": "Australia"} and clients[0]["taxCode"]["name"] == "GST"
    assert {"Ingram Micro Australia", "Dicker Data", "Leader Computers", "Telstra Business"} <= {
        v["name"] for v in vendors}
    assert all(v["types"][0]["name"] == "Vendor" for v in vendors)
    assert cw.get("company/companies", params={"conditions": "isVendorFlag=True"}).json() == vendors
    assert all(None not in c.values() for c in companies)  # nulls are omitted

    codes = {c["identifier"]: c for c in cw.get("finance/taxCodes").json()}
    assert {k: c["levelOneTaxCodeXref"] for k, c in codes.items()} == {
        t["identifier"]: t["xref"] for t in demo.CW_TAX_CODES}
    assert codes["GST"]["levelOneRate"] == 10.0


# ---------------------------------------------------------------- paging

def test_paging_default_25_with_link_headers(cw: httpx.Client) -> None:
    total = sum(demo.DEFAULT_INVOICES_PER_LOCATION.values())
    last = -(-total // 25)
    first = cw.get("finance/accounting/unpostedinvoices", params={"conditions": "total > 0"})
    assert len(first.json()) == 25
    assert links(first) == {"first": 1, "next": 2, "last": last}
    assert "conditions=total" in first.headers["link"] and first.headers["link"].startswith("<http://")
    middle = cw.get("finance/accounting/unpostedinvoices", params={"page": 2})
    assert links(middle) == {"first": 1, "prev": 1, "next": 3, "last": last}
    end = cw.get("finance/accounting/unpostedinvoices", params={"page": last})
    assert links(end) == {"first": 1, "prev": last - 1, "last": last}
    assert len(end.json()) == total - 25 * (last - 1)
    assert cw.get("finance/accounting/unpostedinvoices", params={"page": last + 1}).json() == []
    everything = read_all(cw, "finance/accounting/unpostedinvoices")
    assert len(everything) == total and len({i["id"] for i in everything}) == total
    # parameter names are case-insensitive
    assert len(cw.get("finance/accounting/unpostedinvoices", params={"PAGESIZE": 3}).json()) == 3


def test_page_size_limit(cw: httpx.Client) -> None:
    response = cw.get("company/companies", params={"pageSize": 1001})
    assert response.status_code == 400
    assert response.json() == {"code": "InvalidObject", "message": "pageSize object is invalid", "errors": [
        {"code": "OutOfRange", "message": "The field pageSize must be between 1 and 1000.", "resource": "pageSize",
         "field": "pageSize"}]}
    assert cw.get("company/companies", params={"pageSize": 0}).status_code == 400


def test_forward_only_pagination(cw: httpx.Client) -> None:
    seen: list[int] = []
    response = cw.get("finance/invoices", params={"pageSize": 100}, headers={"pagination-type": "forward-only"})
    while True:
        seen.extend(i["id"] for i in response.json())
        nxt = re.search(r'<([^>]+)>; rel="next"', response.headers.get("link", ""))
        if not nxt:
            break
        assert "pageId=" in nxt.group(1)
        response = cw.get(nxt.group(1), headers={"pagination-type": "forward-only"})
    assert seen == sorted(seen) and len(seen) == sum(demo.DEFAULT_INVOICES_PER_LOCATION.values())
    bad = cw.get("finance/invoices", params={"orderBy": "id desc"}, headers={"pagination-type": "forward-only"})
    assert bad.status_code == 400


@pytest.fixture(scope="module")
def big() -> Iterator[str]:
    """A tenant of 2,000 invoices per location (the benchmark size; how fast it builds is the benchmarks' business,
    not a timed assertion that fails on a loaded machine)."""
    app = create_connectwise_app(ConnectWiseSandboxConfig(invoices_per_location={"adelaide": 2000,
                                                                                 "melbourne": 2000}))
    with SandboxServer(app) as srv:
        yield srv.url


def test_big_tenant_pages_of_1000(big: str) -> None:
    with httpx.Client(base_url=big + API_PREFIX + "/", auth=AUTH, headers=HEADERS, timeout=60) as cw:
        first = cw.get("finance/accounting/unpostedinvoices", params={"pageSize": 1000, "conditions": "locationId=11"})
        assert len(first.json()) == 1000 and links(first) == {"first": 1, "next": 2, "last": 2}
        second = cw.get("finance/accounting/unpostedinvoices",
                        params={"pageSize": 1000, "conditions": "locationId=11", "page": 2})
        assert len(second.json()) == 1000 and links(second) == {"first": 1, "prev": 1, "last": 2}
        assert cw.get("finance/accounting/unpostedinvoices/count").json() == {"count": 4000}
        body = export(cw, locationId=MEL)
        assert len(body["transactions"]) == 2000


# ---------------------------------------------------------------- conditions, orderBy, fields, count

def test_conditions(cw: httpx.Client) -> None:
    path = "finance/accounting/unpostedinvoices"

    def ids(conditions: str) -> set[int]:
        response = cw.get(path, params={"conditions": conditions, "pageSize": 1000})
        assert response.status_code == 200, response.text
        return {i["id"] for i in response.json()}

    everything = read_all(cw, path, pageSize=1000)
    adelaide = {i["id"] for i in everything if i["locationId"] == ADL}
    assert ids("locationId=11") == adelaide == ids("location/id = 11") == ids("location/name = \"adelaide\"")
    acacia = {i["id"] for i in everything if i["company"]["identifier"] == "acaciadental"}
    assert acacia and ids('company/identifier="acaciadental"') == acacia
    a_names = {i["id"] for i in everything if i["company"]["name"].startswith("A")}
    assert ids('company/name like "A*"') == a_names
    assert ids('company/name like "*dental*"') == acacia
    assert ids('company/name contains "Dental"') == acacia
    assert ids('company/name not contains "Dental"') == {i["id"] for i in everything} - acacia
    two = {i["id"] for i in everything if i["company"]["id"] in (250, 251)}
    assert ids("company/id in (250, 251)") == two
    assert ids("company/id not in (250, 251)") == {i["id"] for i in everything} - two
    combined = {i["id"] for i in everything
                if i["locationId"] == MEL and (i["company"]["id"] in (250, 251) or i["total"] > 5000)}
    assert ids("locationId = 12 AND (company/id in (250,251) or total > 5000)") == combined
    precedence = {i["id"] for i in everything
                  if (i["locationId"] == MEL and i["company"]["id"] in (250, 251)) or i["total"] > 5000}
    assert ids("locationId = 12 and company/id in (250,251) or total > 5000") == precedence  # AND binds tighter
    stamps = sorted(i["_info"]["lastUpdated"] for i in everything)
    pivot = stamps[len(stamps) // 2]
    newer = {i["id"] for i in everything if i["_info"]["lastUpdated"] > pivot}
    assert ids(f"_info/lastUpdated > [{pivot}]") == newer
    assert ids("hasTime = True") == {i["id"] for i in everything if i["hasTime"]}
    assert ids("dueDays = 14") == {i["id"] for i in everything if i["dueDays"] == "14"}
    assert ids("description != null") == {i["id"] for i in everything if "description" in i}
    assert ids("total >= 1000.5") == {i["id"] for i in everything if i["total"] >= 1000.5}

    for bad in ("nosuchfield = 1", 'company/name = "unterminated', "locationId = ", "(locationId = 11",
                "locationId 11", "_info/lastUpdated > [yesterday]", "total = 1 AND"):
        response = cw.get(path, params={"conditions": bad})
        assert response.status_code == 400, bad
        body = response.json()
        assert body["code"] == "InvalidObject" and body["errors"][0]["field"] == "conditions"
        assert body["errors"][0]["message"]


def test_order_by_fields_and_count(cw: httpx.Client) -> None:
    path = "finance/accounting/unpostedinvoices"
    desc = cw.get(path, params={"orderBy": "total desc", "pageSize": 1000}).json()
    assert [i["total"] for i in desc] == sorted((i["total"] for i in desc), reverse=True)
    by_company = cw.get(path, params={"orderBy": "company/name asc, id desc", "pageSize": 1000}).json()
    assert [i["company"]["name"].lower() for i in by_company] == sorted(i["company"]["name"].lower()
                                                                        for i in by_company)
    assert cw.get(path, params={"orderBy": "bogus asc"}).status_code == 400

    partial = cw.get(path, params={"fields": "id,invoiceNumber,company/name", "pageSize": 5}).json()
    assert all(set(i) == {"id", "invoiceNumber", "company"} and set(i["company"]) == {"name"} for i in partial)
    one = cw.get(f"{path}/{partial[0]['id']}", params={"fields": "id,total"}).json()
    assert set(one) == {"id", "total"}

    assert cw.get(f"{path}/count").json() == {"count": sum(demo.DEFAULT_INVOICES_PER_LOCATION.values())}
    adelaide = cw.get(f"{path}/count", params={"conditions": "locationId=11"}).json()
    assert adelaide == {"count": demo.DEFAULT_INVOICES_PER_LOCATION["adelaide"]}
    assert cw.get(f"{path}/count", params={"conditions": "bogus=1"}).status_code == 400


# ---------------------------------------------------------------- export

def test_export_one_location_is_consistent_and_read_only(url: str, cw: httpx.Client) -> None:
    before = state(url)
    body = export(cw, locationId=ADL)
    assert state(url) == before

    unposted = {i["id"]: i for i in before["unposted_invoices"]}
    adelaide = {i for i, inv in unposted.items() if inv["locationId"] == ADL}
    stuck = {i for i in adelaide if not unposted[i]["glEntryIds"]}
    assert len(stuck) == 1  # the demo's "stuck in unposted" invoice: no GL entries, so never exported
    txns = body["transactions"]
    assert {t["id"] for t in txns} == adelaide - stuck
    assert set(body) >= {"exportSettings", "customers", "vendors", "transactions", "expenses",
                         "purchaseTransactions"}
    assert {c["company"]["id"] for c in body["customers"]} == {t["company"]["id"] for t in txns}

    codes = {c["identifier"]: c for c in demo.CW_TAX_CODES}
    accounts = {desc: acct for desc, acct, _ in demo.LINE_CATALOGUE}
    all_entries: list[int] = []
    for t in txns:
        inv = unposted[t["id"]]
        # the sample's shape: the AR entry, lines of the opposite sign, tax as an ST line, zoneless dates
        assert t["documentNumber"] == inv["invoiceNumber"] and t["documentType"] == "INVOICE"
        assert t["glTypeId"] == "AR" and t["total"] > 0 and "T" in t["documentDate"] and "Z" not in t["documentDate"]
        assert isinstance(t["dueDays"], int) and str(t["dueDays"]) == inv["dueDays"]
        lines = [d for d in t["detail"] if d["glTypeId"] == "RP"]
        [tax_line] = [d for d in t["detail"] if d["glTypeId"] == "ST"]
        assert len(lines) + 1 == len(t["detail"]) and tax_line["quantity"] == 0
        assert tax_line["description"] == "Level 1 Sales Tax" and -tax_line["total"] == t["salesTax"]
        subtotal = -sum(Decimal(str(d["total"])) for d in lines)
        assert subtotal == Decimal(str(inv["subTotal"]))
        tax = -sum(Decimal(str(d["total"])) * Decimal(str(codes[d["taxCode"]["name"]]["rate"])) for d in lines)
        assert abs(tax - Decimal(str(t["salesTax"]))) <= Decimal("0.01") * len(lines)
        assert Decimal(str(t["total"])) == subtotal + Decimal(str(t["salesTax"])) == Decimal(str(inv["total"]))
        for d in lines:
            assert d["quantity"] < 0 and d["total"] < 0 and d["itemPrice"] >= 0
            assert Decimal(str(d["total"])) == (Decimal(str(d["quantity"])) * Decimal(str(d["itemPrice"]))
                                                ).quantize(Decimal("0.01"))
            assert d["accountNumber"] == accounts[d["description"]]
            assert d["taxCodeXref"] == codes[d["taxCode"]["name"]]["xref"]
            assert d["taxLevels"] == [{"taxLevel": 1, "taxableFlag": d["taxableFlag"]}]
        assert not {d["id"] for d in t["detail"]} & set(entry_ids(t))  # detail ids are not GL entry ids
        entries = entry_ids(t)
        assert len(entries) == len(lines) + 1 and entries == inv["glEntryIds"]
        all_entries.extend(entries)
    assert len(all_entries) == len(set(all_entries))
    xrefs = [d["taxCodeXref"] for t in txns for d in t["detail"] if d["glTypeId"] == "RP"]
    assert xrefs.count("OUTPUT") > 0.7 * len(xrefs) and "EXEMPTOUTPUT" in xrefs
    quantities = [d["quantity"] for t in txns for d in t["detail"] if d["glTypeId"] == "RP"]
    assert any(q != int(q) for q in quantities)

    melbourne = export(cw, locationId=MEL)
    assert {t["id"] for t in melbourne["transactions"]} == {
        i for i, inv in unposted.items() if inv["locationId"] == MEL}
    pick = sorted(adelaide - stuck)[:3]
    assert [t["id"] for t in export(cw, includedInvoiceIds=pick)["transactions"]] == pick
    assert pick[0] not in {t["id"] for t in export(cw, locationId=ADL, excludedInvoiceIds=pick)["transactions"]}
    assert export(cw, locationId=ADL, exportInvoicesFlag=False)["transactions"] == []


# ---------------------------------------------------------------- batches

def test_batch_posts_whole_invoices_and_delete_returns_them(url: str, cw: httpx.Client) -> None:
    txns = export(cw, locationId=MEL)["transactions"][:3]
    entries = [e for t in txns for e in entry_ids(t)]
    posted = cw.post("finance/accounting/batches", json={**BATCH_FLAGS, "batchIdentifier": "CZ-TEST-1",
                                                         "processedRecordIds": entries})
    assert posted.status_code == 201, posted.text
    assert [t["id"] for t in posted.json()["transactions"]] == [t["id"] for t in txns]
    ids = {t["id"] for t in txns}

    unposted_ids = {i["id"] for i in read_all(cw, "finance/accounting/unpostedinvoices", pageSize=1000)}
    assert not ids & unposted_ids
    assert not ids & {t["id"] for t in export(cw, locationId=MEL)["transactions"]}
    found = cw.get("finance/accounting/batches", params={"conditions": 'batchIdentifier="CZ-TEST-1"'}).json()
    assert len(found) == 1 and found[0]["exportInvoicesFlag"] is True and "_info" in found[0]
    batch_id = found[0]["id"]
    assert cw.get(f"finance/accounting/batches/{batch_id}").json()["batchIdentifier"] == "CZ-TEST-1"
    assert cw.get("finance/accounting/batches/count").json() == {"count": 1}
    for inv_id in ids:
        invoice = cw.get(f"finance/invoices/{inv_id}").json()
        assert invoice["glBatch"] == {"id": batch_id, "name": "CZ-TEST-1"}
        assert invoice["balance"] == invoice["total"] and invoice["payments"] == 0
    batched = cw.get("finance/invoices", params={"conditions": f"glBatch/id = {batch_id}"}).json()
    assert {i["id"] for i in batched} == ids
    newest = cw.get("finance/invoices", params={"orderBy": "_info/lastUpdated desc", "pageSize": 3}).json()
    assert {i["id"] for i in newest} == ids  # posting touches lastUpdated, so incremental reads see it
    snap = state(url)
    assert snap["batches"][0]["processedRecordIds"] == sorted(entries)
    assert snap["batches"][0]["invoiceIds"] == sorted(ids)
    again = cw.post(f"finance/accounting/batches/{batch_id}/export")
    assert {t["id"] for t in again.json()["transactions"]} == ids

    deleted = cw.delete(f"finance/accounting/batches/{batch_id}")
    assert deleted.status_code == 204
    assert cw.get(f"finance/accounting/batches/{batch_id}").status_code == 404
    assert ids <= {i["id"] for i in read_all(cw, "finance/accounting/unpostedinvoices", pageSize=1000)}
    assert all("glBatch" not in cw.get(f"finance/invoices/{i}").json() for i in ids)


def test_batch_validation(cw: httpx.Client) -> None:
    txns = export(cw, locationId=ADL)["transactions"][:2]
    whole = entry_ids(txns[0])
    ok = cw.post("finance/accounting/batches", json={**BATCH_FLAGS, "batchIdentifier": "DUP",
                                                     "processedRecordIds": whole})
    assert ok.status_code == 201

    dup = cw.post("finance/accounting/batches", json={**BATCH_FLAGS, "batchIdentifier": "DUP",
                                                      "processedRecordIds": entry_ids(txns[1])})
    assert dup.status_code == 400
    assert dup.json() == {"code": "InvalidObject", "message": "accountingBatch object is invalid", "errors": [
        {"code": "ObjectExists", "message": "A batch with this identifier already exists",
         "resource": "accountingBatch", "field": "batchIdentifier"}]}

    unknown = cw.post("finance/accounting/batches", json={**BATCH_FLAGS, "processedRecordIds": [999999]})
    assert unknown.status_code == 400 and "999999" in unknown.json()["errors"][0]["message"]
    already = cw.post("finance/accounting/batches", json={**BATCH_FLAGS, "processedRecordIds": whole})
    assert already.status_code == 400 and str(whole[0]) in already.text

    partial_ids = entry_ids(txns[1])[:-1]
    partial = cw.post("finance/accounting/batches", json={**BATCH_FLAGS, "processedRecordIds": partial_ids})
    assert partial.status_code == 400
    assert txns[1]["documentNumber"] in partial.json()["errors"][0]["message"]

    empty = cw.post("finance/accounting/batches", json={**BATCH_FLAGS, "processedRecordIds": []})
    assert empty.status_code == 400 and empty.json()["errors"][0]["field"] == "processedRecordIds"
    too_long = cw.post("finance/accounting/batches", json={**BATCH_FLAGS, "batchIdentifier": "x" * 51,
                                                           "processedRecordIds": entry_ids(txns[1])})
    assert too_long.status_code == 400
    no_flags = cw.post("finance/accounting/batches", json={"processedRecordIds": entry_ids(txns[1])})
    assert no_flags.status_code == 400
    # the failures changed nothing: invoice 2 is still unposted; a default identifier is a timestamp
    default = cw.post("finance/accounting/batches", json={**BATCH_FLAGS, "processedRecordIds": entry_ids(txns[1])})
    assert default.status_code == 201
    identifiers = {b["batchIdentifier"] for b in cw.get("finance/accounting/batches").json()}
    assert "DUP" in identifiers and any(re.fullmatch(r"\d{14}(-\d+)?", i) for i in identifiers)


def test_finance_invoices_lists_posted_and_unposted(cw: httpx.Client) -> None:
    total = sum(demo.DEFAULT_INVOICES_PER_LOCATION.values())
    assert cw.get("finance/invoices/count").json() == {"count": total}
    first = export(cw, locationId=ADL)["transactions"][0]
    cw.post("finance/accounting/batches", json={**BATCH_FLAGS, "batchIdentifier": "B1",
                                                "processedRecordIds": entry_ids(first)})
    assert cw.get("finance/invoices/count").json() == {"count": total}
    assert cw.get("finance/accounting/unpostedinvoices/count").json() == {"count": total - 1}
    posted = cw.get("finance/invoices", params={"conditions": "glBatch/name = \"B1\""}).json()
    assert [i["id"] for i in posted] == [first["id"]]
    inv = posted[0]
    assert inv["status"]["isClosed"] is True and inv["type"] == "Standard" and inv["locationId"] == ADL
    assert inv["subtotal"] + inv["salesTax"] == pytest.approx(inv["total"])
    assert cw.get("finance/invoices/count", params={"conditions": "glBatch/id = null"}).json() == {
        "count": total - 1}


# ---------------------------------------------------------------- demo data

def test_demo_data_is_deterministic_and_sized() -> None:
    sizes = {"adelaide": 40, "melbourne": 25}
    day = date(2026, 3, 1)
    a, b = build_world(7, sizes, day), build_world(7, sizes, day)
    assert a.export(a.unposted()) == b.export(b.unposted())
    assert [a.render_invoice(i) for i in a.invoices.values()] == [b.render_invoice(i) for i in b.invoices.values()]
    c = build_world(8, sizes, day)
    assert a.export(a.unposted()) != c.export(c.unposted())
    counts = {loc: sum(1 for i in a.invoices.values() if i.location_id == demo.LOCATIONS[loc]["cw_location_id"])
              for loc in sizes}
    assert counts == sizes
    numbers = [i.number for i in a.invoices.values()]
    assert len(set(numbers)) == len(numbers)
    anchor = datetime(2026, 3, 1, tzinfo=UTC)
    assert all(anchor - timedelta(days=45) <= i.date < anchor for i in a.invoices.values())
    assert all(1 <= len(i.lines) <= 5 for i in a.invoices.values())
    for inv in a.invoices.values():
        comp = demo.COMPANIES[inv.company_id - 250][1]
        slug = next(s for s, loc in demo.LOCATIONS.items() if loc["cw_location_id"] == inv.location_id)
        assert slug in demo.COMPANY_LOCATIONS[comp]


def test_reset_resizes(url: str, cw: httpx.Client) -> None:
    reset = httpx.post(url + "/_sandbox/reset", json={"seed": 99, "invoices_per_location": {"adelaide": 5,
                                                                                            "melbourne": 0,
                                                                                            "perth": 2}})
    assert reset.status_code == 200
    assert cw.get("finance/accounting/unpostedinvoices/count").json() == {"count": 7}
    assert cw.get("finance/accounting/unpostedinvoices/count", params={"conditions": "locationId=13"}).json() == {
        "count": 2}
    assert httpx.post(url + "/_sandbox/reset", json={"invoices_per_location": {"sydney": 1}}).status_code == 400


# ---------------------------------------------------------------- admin routes

def test_admin_invoice_unknown_company_and_company_delete(url: str, cw: httpx.Client) -> None:
    spec = {"locationId": ADL, "companyId": 4242, "invoiceNumber": "T-1", "lines": [
        {"description": "Onsite support (hours)", "quantity": 1.5, "unitPrice": 165, "accountNumber": "230",
         "taxCodeXref": "OUTPUT"},
        {"description": "Export widget", "quantity": 2, "unitPrice": 10.01, "accountNumber": "200",
         "taxCode": "GST-FREE"}]}
    created = httpx.post(url + "/_sandbox/unpostedinvoices", json=spec)
    assert created.status_code == 201, created.text
    inv = created.json()
    assert inv["invoiceNumber"] == "T-1" and inv["subTotal"] == 267.52 and inv["salesTaxAmount"] == 24.75
    assert inv["company"] == {"id": 4242, "identifier": "unknown-4242", "name": "Unknown company 4242"}
    txn = next(t for t in export(cw, locationId=ADL)["transactions"] if t["documentNumber"] == "T-1")
    assert txn["company"]["identifier"] == "unknown-4242" and txn["total"] == 292.27
    assert [d["taxCodeXref"] for d in txn["detail"] if d["glTypeId"] == "RP"] == ["OUTPUT", "EXEMPTOUTPUT"]
    assert httpx.post(url + "/_sandbox/unpostedinvoices", json=spec).status_code == 400  # duplicate number

    stuck = httpx.post(url + "/_sandbox/unpostedinvoices", json={"locationId": MEL, "companyId": 250, "lines": []})
    assert stuck.status_code == 201 and stuck.json()["glEntryIds"] == []
    assert stuck.json()["id"] not in {t["id"] for t in export(cw, locationId=MEL)["transactions"]}

    assert httpx.delete(url + "/_sandbox/companies/250").status_code == 200
    assert cw.get("company/companies/250").status_code == 404
    orphan = cw.get(f"finance/accounting/unpostedinvoices/{stuck.json()['id']}").json()
    assert orphan["company"]["identifier"] == "unknown-250"


def test_call_log(url: str, cw: httpx.Client) -> None:
    httpx.delete(url + "/_sandbox/calls")
    cw.get("system/info")
    cw.get("company/companies/999999")
    calls = httpx.get(url + "/_sandbox/calls").json()
    assert [(c["method"], c["path"], c["status"]) for c in calls] == [
        ("GET", API_PREFIX + "/system/info", 200), ("GET", API_PREFIX + "/company/companies/999999", 404)]
    assert calls[0]["ts"].endswith("Z")
    assert httpx.delete(url + "/_sandbox/calls").json() == []


# ---------------------------------------------------------------- faults and rate limits

def add_fault(url: str, **spec: Any) -> dict[str, Any]:
    response = httpx.post(url + "/_sandbox/faults", json=spec)
    assert response.status_code == 200, response.text
    return response.json()


def test_fault_statuses_have_connectwise_bodies(url: str, cw: httpx.Client) -> None:
    add_fault(url, path=API_PREFIX + "/company/companies*", status=429)
    limited = cw.get("company/companies")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    assert limited.json() == {"error": "ConnectWiseAPI", "message": "Too many requests. Please try again in 1 seconds."}
    assert cw.get("company/companies").status_code == 200  # count=1: spent
    add_fault(url, path=API_PREFIX + "/*", status=500)
    timeout = cw.get("system/info")
    assert timeout.status_code == 500 and timeout.json() == {
        "code": "ConnectWiseApi", "message": "A timeout has occured. Please try again."}
    add_fault(url, path=API_PREFIX + "/*", status=503)
    assert cw.get("system/info").json() == {"code": "ConnectWiseApi", "message": "Service Unavailable"}
    assert len(httpx.get(url + "/_sandbox/faults").json()) == 0
    faulted = [c for c in httpx.get(url + "/_sandbox/calls").json() if c.get("fault")]
    assert [c["status"] for c in faulted] == [429, 500, 503]


def test_drop_before_and_after_a_batch(url: str, cw: httpx.Client) -> None:
    txns = export(cw, locationId=ADL)["transactions"][:2]
    batch_path = API_PREFIX + "/finance/accounting/batches"
    add_fault(url, path=batch_path, method="POST", kind="drop", when="before")
    with pytest.raises(httpx.TransportError):
        cw.post("finance/accounting/batches", json={**BATCH_FLAGS, "batchIdentifier": "DROP-BEFORE",
                                                    "processedRecordIds": entry_ids(txns[0])})
    assert state(url)["batches"] == []

    add_fault(url, path=batch_path, method="POST", kind="drop", when="after")
    with pytest.raises(httpx.TransportError):
        cw.post("finance/accounting/batches", json={**BATCH_FLAGS, "batchIdentifier": "DROP-AFTER",
                                                    "processedRecordIds": entry_ids(txns[1])})
    batches = state(url)["batches"]
    assert [b["batchIdentifier"] for b in batches] == ["DROP-AFTER"] and batches[0]["invoiceIds"] == [txns[1]["id"]]
    # the client's recovery: look the batch up by its identifier before re-sending
    found = cw.get("finance/accounting/batches", params={"conditions": 'batchIdentifier = "DROP-AFTER"'}).json()
    assert len(found) == 1
    calls = httpx.get(url + "/_sandbox/calls").json()
    posts = [c for c in calls if c["path"] == batch_path and c["method"] == "POST"]
    assert [(c.get("fault"), c["status"]) for c in posts] == [("drop-before", None), ("drop-after", 201)]


def test_requests_per_minute_limit(url: str, cw: httpx.Client) -> None:
    httpx.post(url + "/_sandbox/config", json={"requests_per_minute": 5})
    try:
        statuses = [cw.get("system/info").status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        limited = cw.get("system/info")
        assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
        assert limited.json()["error"] == "ConnectWiseAPI"
        assert httpx.get(url + "/_sandbox/state").status_code == 200  # admin routes are never limited
    finally:
        httpx.post(url + "/_sandbox/config", json={"requests_per_minute": 1000})
    assert cw.get("system/info").status_code == 200


def test_link_urls_keep_other_parameters(cw: httpx.Client) -> None:
    response = cw.get("finance/accounting/unpostedinvoices",
                      params={"conditions": 'company/name like "*a*"', "pageSize": 10, "orderBy": "id desc"})
    nxt = re.search(r'<([^>]+)>; rel="next"', response.headers["link"]).group(1)
    query = parse_qs(urlparse(nxt).query)
    assert query == {"conditions": ['company/name like "*a*"'], "pageSize": ["10"], "orderBy": ["id desc"],
                     "page": ["2"]}
    assert cw.get(nxt).json() == cw.get("finance/accounting/unpostedinvoices",
                                        params={"conditions": 'company/name like "*a*"', "pageSize": 10,
                                                "orderBy": "id desc", "page": 2}).json()


def test_raw_fault_body_is_sent_as_is(url: str, cw: httpx.Client) -> None:
    """A ``raw`` body is sent unencoded (malformed-answer tests): invalid JSON with a JSON content type."""
    add_fault(url, path=API_PREFIX + "/finance/accounting/export", status=200, raw='{"transactions": [{"id": 1,')
    broken = cw.post("finance/accounting/export", json={"locationId": ADL, "exportInvoicesFlag": True})
    assert broken.status_code == 200 and broken.text == '{"transactions": [{"id": 1,'
    assert broken.headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        broken.json()
    assert "transactions" in export(cw, locationId=ADL)  # count=1: spent


def test_admin_invoice_bad_input_options(url: str, cw: httpx.Client) -> None:
    """The admin route makes the records a bad-input corpus needs: another currency, a total disagreeing with
    the lines, a due date before the invoice date, a number another invoice has, and no company at all."""
    company = next(c for c in state(url)["companies"] if not c.get("isVendorFlag"))
    line = {"description": "Support", "quantity": 1, "unitPrice": 100, "accountNumber": "200",
            "taxCodeXref": "OUTPUT"}
    spec = {"locationId": ADL, "companyId": company["id"], "lines": [line]}
    made = httpx.post(url + "/_sandbox/unpostedinvoices", json={
        **spec, "invoiceNumber": "ODD-1", "currencyCode": "XYZ", "total": 123.45, "dueDays": -10,
        "invoiceDate": "2026-01-20T00:00:00Z"})
    assert made.status_code == 201, made.text
    again = httpx.post(url + "/_sandbox/unpostedinvoices", json={**spec, "invoiceNumber": "ODD-1"})
    assert again.status_code == 400 and "already exists" in again.text
    twin = httpx.post(url + "/_sandbox/unpostedinvoices", json={**spec, "invoiceNumber": "ODD-1",
                                                                 "allowDuplicateNumber": True})
    assert twin.status_code == 201 and twin.json()["id"] != made.json()["id"]
    orphan = httpx.post(url + "/_sandbox/unpostedinvoices", json={"locationId": ADL, "invoiceNumber": "ODD-2",
                                                                   "lines": [line]})
    assert orphan.status_code == 201 and "company" not in orphan.json()
    txns = {t["id"]: t for t in export(cw, locationId=ADL)["transactions"]}
    odd = txns[made.json()["id"]]
    assert odd["currency"]["currencyCode"] == "XYZ" and odd["total"] == 123.45
    assert odd["dueDate"] < odd["documentDate"]
    assert txns[twin.json()["id"]]["documentNumber"] == "ODD-1"
    assert "company" not in txns[orphan.json()["id"]]


def test_status_fault_after_the_write(url: str, cw: httpx.Client) -> None:
    """``kind=status, when=after``: the simulator makes the batch, the client gets the injected answer."""
    txn = export(cw, locationId=ADL)["transactions"][0]
    add_fault(url, path=API_PREFIX + "/finance/accounting/batches", method="POST", status=200, when="after",
              raw="<html>proxy error</html>")
    answer = cw.post("finance/accounting/batches", json={**BATCH_FLAGS, "batchIdentifier": "AFTER-1",
                                                         "processedRecordIds": entry_ids(txn)})
    assert answer.status_code == 200 and answer.text == "<html>proxy error</html>"
    assert [b["batchIdentifier"] for b in state(url)["batches"]] == ["AFTER-1"]
