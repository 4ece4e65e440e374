"""Contract test: every ConnectWise answer the product reads, taken from the simulator over real HTTP, against
the ConnectWise models of /work/shared/reference/connectwise-model-fields.txt (parsed by cw_models.py).

Each answer may use only field names its model has, each with the model's JSON type, recursively through nested
references; a field the model lacks is drift (the simulator would teach the product a field ConnectWise never
sends). Where the 2025.1 spec (connectwise-api.md section 3, from the Go models generated from it) names fields
the older pyconnectwise models lack, they are added to the model below with their source; where it names a field
but not its type, the type every same-named field of the file has is used, else the field is checked by name only.

Required fields: only those connectwise-api.md gives as the 2025.1 spec's required properties (a record ConnectWise
stores always has them, and answers omit only nulls); pyconnectwise's own markers are incomplete and some disagree
with 2025.1, so they are not enforced.

Endpoints: those the product calls (cz_dagster/assets, cz_dagster/resources/connectwise.py, cz_dagster/cli.py):

    GET  finance/accounting/unpostedinvoices (+ /count)          UnpostedInvoice, Count      assets/posting.py
    POST finance/accounting/export                               GLExport                    resources/connectwise.py
    POST finance/accounting/batches, GET ...?conditions=         GLExport, AccountingBatch   resources/connectwise.py
    GET  finance/invoices?conditions=id in (...)                 Invoice                     assets/payments.py
    PATCH finance/invoices/{id}                                  Invoice                     assets/payments.py
    GET|POST finance/invoices/{id}/payments, PATCH|DELETE .../{id}  InvoicePayment           assets/payments.py
    GET  finance/billingStatuses                                 BillingStatus               assets/payments.py
    GET  system/members                                          Member                      assets/staff.py, cli.py
    GET  time/entries                                            TimeEntry                   assets/timesheets.py
    GET  company/companies?conditions=id in (...)                Company                     assets/contacts.py
    GET|POST procurement/catalog, PATCH procurement/catalog/{id}  CatalogItem                assets/catalogue.py
    GET  procurement/subcategories, procurement/types            (no model in the references: skipped)
    error answers (400/404)                                      ErrorResponseMessage        resources/connectwise.py

and, not called by the product today but served by the simulator and modelled in the references: system/locations,
finance/taxCodes, finance/currencies, finance/accounting/unpostedprocurement, procurement/purchaseorders (+ line
items), time/sheets, time/workTypes, system/info.

Shapes the product does not read yet, checked so that it meets them as ConnectWise sends them: a credit memo
(Invoice ``type`` "CreditMemo", UnpostedInvoice ``invoiceType`` "CreditMemo", its GLExport transaction with a
negative total and positive lines), a credit memo applied to an invoice (InvoicePayment whose ``credit`` is an
InvoiceReference), a vendor return (a GLExportPurchaseTransaction with a negative total) and an invoice edited
after its batch was deleted (exported again with new GL entry ids).

The export follows ConnectWise's published sample where the sample and the model types disagree (a procurement
detail line's ``documentDate`` is "5/1/2014 5:21:58 AM" in the sample, ``datetime`` in the model): the test
checks that field against the sample's format, and everything else against the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlparse

import httpx
import pytest

from cz_sandbox import demo
from cz_sandbox.connectwise import API_PREFIX, ConnectWiseSandboxConfig, create_connectwise_app
from cz_sandbox.runner import SandboxServer
from tests.sandbox.cw_models import ANY, Checker, ContractError, JsonType, Models, load_models, parse_models

AUTH = (f"{demo.CW_COMPANY_ID}+{demo.CW_PUBLIC_KEY}", demo.CW_PRIVATE_KEY)
HEADERS = {"clientId": demo.CW_CLIENT_ID, "Accept": "application/vnd.connectwise.com+json; version=2025.1"}
ADL = demo.LOCATIONS["adelaide"]["cw_location_id"]
US_DATETIME = re.compile(r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M")  # the sample's purchase-line dates
API_MD = "connectwise-api.md section 3 (GO 2025.1 models)"

# 2025.1 fields pyconnectwise's models lack (None: connectwise-api.md names the field, not its type).
SUPPLEMENTS: dict[str, dict[str, str | None]] = {
    # "Organisation: locationId, location, departmentId, department"; "Other: closedBy, ..., glBatch (BatchReference
    # {id, name}), unbatchedBatch"
    "Invoice": {"location": None, "department": None, "closedBy": None, "glBatch": "BatchReference | None",
                "unbatchedBatch": None},
    # BatchReference {id, name}; the real sample has "glBatch":{"id":2,"name":"test-ignore",...}
    "BatchReference": {"_info": "dict[str, str] | None", "id": "int | None", "name": "str | None"},
    # the real posted invoice: "status":{"id":13,"name":"Closed","isClosed":true}
    "BillingStatusReference": {"isClosed": "bool | None"},
    # "id, billingLogId, locationId, location, departmentId, department"; "Content flags: hasTime, hasExpenses,
    # hasProducts"
    "UnpostedInvoice": {"location": None, "department": None, "hasTime": None, "hasExpenses": None,
                        "hasProducts": None},
    # TimeEntry fields (GO model_time_entry.go); "TimeEntry.hourlyCost is a string" (odd types)
    "TimeEntry": {"companyType": None, "location": None, "department": None, "invoiceReady": None,
                  "invoiceFlag": None, "extendedInvoiceAmount": None, "taxCode": "TaxCodeReference | None",
                  "hourlyCost": "str | None"},
    # PurchaseOrder "Organisation: locationId, location, ..."; PurchaseOrderLineItem "Identity: ...,
    # purchaseOrderNumber", "Amounts: ..., extCost", "Batching: batchedFlag, unbatchedRecId"
    "PurchaseOrder": {"location": None},
    "PurchaseOrderLineItem": {"purchaseOrderNumber": None, "extCost": None, "batchedFlag": None,
                              "unbatchedRecId": None},
    # CatalogItem "Other fields": connectWiseID, markupPercentage
    "CatalogItem": {"connectWiseID": None, "markupPercentage": None},
    # GET /system/info -> Info{..., maxWorkFlowRecordsAllowed}, licenseBits[{name, activeFlag}]
    "Info": {"maxWorkFlowRecordsAllowed": None},
    "LicenseBit": {"name": None, "activeFlag": None},
    # ErrorResponseMessage{code, message, errors:[ValidationError{code, message, resource, field, details}]}
    "ValidationError": {"code": None, "message": None, "resource": None, "field": None, "details": None},
    # ExportAccountingBatchRequest gained exportPaymentsFlag and includedPaymentIds (2025.1)
    "ExportAccountingBatchRequest": {"exportPaymentsFlag": "bool | None", "includedPaymentIds": "list[int] | None"},
    # GLExportTransactionTaxLevel {taxAmount, taxableAmount, taxCodeXref, taxLevel};
    # GLExportTransactionDetailTaxLevel {taxLevel, taxableFlag}
    "GLExportTransactionTaxLevel": {"taxAmount": None, "taxableAmount": None, "taxCodeXref": None, "taxLevel": None},
    "GLExportTransactionDetailTaxLevel": {"taxLevel": None, "taxableFlag": None},
}
# Models the file does not define, from connectwise-api.md section 3.
DEFINED_ELSEWHERE: dict[str, dict[str, str | None]] = {
    # InvoicePayment {id, type(string), source(enum Default|WisePay), invoice, credit, amount, balance,
    # invoiceBalance, invoiceTotal, paymentDate, appliedBy, _info, wisePayPayment, paymentSyncStatus(enum
    # Unapplied|Applied|Synced), glBatchID, paymentSyncDate, paymentAccount, ARPaymentAccount}; the shared fields
    # take pyconnectwise's older Payment model's types
    "InvoicePayment": {"source": 'Literal["Default", "WisePay"] | None', "balance": None, "invoiceBalance": None,
                       "invoiceTotal": None, "wisePayPayment": None,
                       "paymentSyncStatus": 'Literal["Unapplied", "Applied", "Synced"] | None', "glBatchID": None,
                       "paymentSyncDate": None, "paymentAccount": None, "ARPaymentAccount": None},
    # BillingStatus{id, name, sortOrder, defaultFlag, closedFlag, inactiveFlag, sentFlag} (RP models)
    "BillingStatus": {"id": None, "name": None, "sortOrder": None, "defaultFlag": None, "closedFlag": None,
                      "inactiveFlag": None, "sentFlag": None},
    # FinanceCurrency{id, currencyIdentifier*, name*, symbol, currencyCode(CurrencyCodeReference), displayIdFlag,
    # displaySymbolFlag, thousandsSeparator, decimalSeparator, negativeParenthesesFlag, rightAlign,
    # numberOfDecimals, reportFormat, _info}
    "FinanceCurrency": {"id": None, "currencyIdentifier": None, "name": None, "symbol": None,
                        "currencyCode": "CurrencyCodeReference | None", "displayIdFlag": None,
                        "displaySymbolFlag": None, "thousandsSeparator": None, "decimalSeparator": None,
                        "negativeParenthesesFlag": None, "rightAlign": None, "numberOfDecimals": None,
                        "reportFormat": None, "_info": None},
}
# The 2025.1 required properties connectwise-api.md lists (GO requiredProperties).
REQUIRED: dict[str, set[str]] = {
    "Invoice": {"type", "company"},
    "Member": {"identifier", "licenseClass", "firstName", "lastName", "hireDate", "defaultEmail", "defaultPhone",
               "securityRole"},
    "Location": {"structureLevel", "name"},
    "Company": {"identifier", "name"},
    "TaxCode": {"identifier", "description", "invoiceCaption", "effectiveDate"},
    "FinanceCurrency": {"currencyIdentifier", "name"},
    "CatalogItem": {"identifier", "description", "subcategory", "type", "customerDescription"},
    "TimeEntry": {"timeStart"},
    "CreateAccountingBatchRequest": {"processedRecordIds"},
}


def contract_models(models: Models) -> Models:
    """The file's models plus the 2025.1 supplements above."""
    def typed(fields: dict[str, str | None]) -> dict[str, JsonType | str | None]:
        return {name: ftype if ftype is not None else (models.consensus_type(name) or ANY)
                for name, ftype in fields.items()}

    for name, fields in SUPPLEMENTS.items():
        models.supplement(name, typed(fields), API_MD)
    payment = {name: f.type for name, f in models.fields("Payment").items()}
    models.supplement("InvoicePayment", {**payment, **typed(DEFINED_ELSEWHERE["InvoicePayment"])}, API_MD)
    for name in ("BillingStatus", "FinanceCurrency"):
        models.supplement(name, typed(DEFINED_ELSEWHERE[name]), API_MD)
    # "exportSettings is a free-form object (GO map[string]interface{})"
    models.supplement("GLExportSettings", {}, API_MD, free_form=True)
    return models


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker(contract_models(load_models()), required={k: set(v) for k, v in REQUIRED.items()})


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(create_connectwise_app(ConnectWiseSandboxConfig())) as srv:
        yield srv


@pytest.fixture
def cw(server: SandboxServer) -> Iterator[httpx.Client]:
    httpx.post(server.url + "/_sandbox/reset", json={"seed": demo.SEED,
                                                      "invoices_per_location": demo.DEFAULT_INVOICES_PER_LOCATION})
    with httpx.Client(base_url=server.url + API_PREFIX + "/", auth=AUTH, headers=HEADERS, timeout=30) as client:
        yield client


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


def everything(cw: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    rows = ok(cw.get(path, params={"pageSize": 1000, **params}))
    assert isinstance(rows, list) and rows, f"{path} answered no rows to check"
    return rows


def ids_in(rows: list[dict[str, Any]]) -> str:
    return f"id in ({', '.join(str(r['id']) for r in rows)})"


# ---------------------------------------------------------------- the reference file itself

def test_reference_parses_with_bases_resolved() -> None:
    models = load_models()
    assert {"Invoice", "Member", "GLExport", "CompanyReference"} <= set(models.raw)
    assert "Currency" in models.undefined and "FinanceCurrency" in models.undefined["Currency"]
    company_ref = models.fields("CompanyReference")
    assert set(company_ref) == {"_info", "id", "identifier", "name"}  # all from CatalogItemReference
    assert company_ref["id"].type.describe() == "int | None"
    assert models.fields("TaxCodeReference").keys() == {"_info", "id", "name"}  # ActivityReference
    member = models.fields("Member")
    assert member["defaultPhone"].type.values == ("Office", "Mobile", "Home") and member["defaultPhone"].required_in_pcw
    assert member["globalSearchDefaultSort"].type.kind == "literal"  # Annotated[Literal[...] | None, Field(...)]
    assert member["globalSearchDefaultSort"].type.nullable
    assert models.fields("Invoice")["customFields"].type.describe() == "list[CustomFieldValue] | None"
    assert models.fields("Invoice")["_info"].type.describe() == "dict[str, str] | None"


def test_parser_rejects_what_it_cannot_read() -> None:
    from tests.sandbox.cw_models import ModelFileError

    with pytest.raises(ModelFileError, match="bases Nowhere"):
        parse_models("## A (bases Nowhere)\n  id: int | None\n")
    with pytest.raises(ModelFileError, match="cannot read"):
        parse_models("## A (bases ConnectWiseModel)\n  id: 3 + 4\n")


# ---------------------------------------------------------------- the endpoints the product calls

def test_unposted_invoices(cw: httpx.Client, checker: Checker) -> None:
    checker.check_all("UnpostedInvoice", everything(cw, "finance/accounting/unpostedinvoices"))
    checker.check("Count", ok(cw.get("finance/accounting/unpostedinvoices/count")))


def test_invoices_by_id_and_status_patch(cw: httpx.Client, checker: Checker) -> None:
    some = everything(cw, "finance/accounting/unpostedinvoices")[:30]
    invoices = everything(cw, "finance/invoices", conditions=ids_in(some))
    checker.check_all("Invoice", invoices)
    patched = ok(cw.patch(f"finance/invoices/{some[0]['id']}",
                          json=[{"op": "replace", "path": "status", "value": {"id": 14}}]))
    checker.check("Invoice", patched)


def test_invoice_payments(cw: httpx.Client, checker: Checker) -> None:
    invoice = everything(cw, "finance/invoices")[0]
    path = f"finance/invoices/{invoice['id']}/payments"
    made = ok(cw.post(path, json={"amount": 1.0, "paymentDate": "2026-01-05T00:00:00Z"}), 201)
    checker.check("InvoicePayment", made)
    checker.check_all("InvoicePayment", everything(cw, path))
    changed = ok(cw.patch(f"{path}/{made['id']}", json=[{"op": "replace", "path": "amount", "value": 2.0}]))
    checker.check("InvoicePayment", changed)
    assert cw.delete(f"{path}/{made['id']}").status_code == 204


def test_billing_statuses(cw: httpx.Client, checker: Checker) -> None:
    checker.check_all("BillingStatus", everything(cw, "finance/billingStatuses"))


def test_members(cw: httpx.Client, checker: Checker) -> None:
    members = everything(cw, "system/members")
    checker.check_all("Member", members)
    by_identifier = everything(cw, "system/members", conditions=f'identifier="{members[0]["identifier"]}"')
    checker.check_all("Member", by_identifier)


def test_time_entries(cw: httpx.Client, checker: Checker) -> None:
    checker.check_all("TimeEntry", everything(cw, "time/entries"))
    checker.check_all("TimeEntry", everything(cw, "time/entries", conditions=f"locationId={ADL}"))


def test_companies(cw: httpx.Client, checker: Checker) -> None:
    companies = everything(cw, "company/companies")
    checker.check_all("Company", companies)
    checker.check_all("Company", everything(cw, "company/companies", conditions=ids_in(companies[:5])))


def test_catalogue(cw: httpx.Client, checker: Checker) -> None:
    checker.check_all("CatalogItem", everything(cw, "procurement/catalog"))
    # procurement/subcategories (ProductSubCategory) and procurement/types (ProductType): neither reference file
    # has those models, so their answers are not checked (the product reads only their first row's id).
    subcategory = everything(cw, "procurement/subcategories")[0]
    type_ = everything(cw, "procurement/types")[0]
    created = ok(cw.post("procurement/catalog", json={
        "identifier": "CONTRACT-1", "description": "Contract test item", "customerDescription": "Contract test item",
        "subcategory": {"id": subcategory["id"]}, "type": {"id": type_["id"]}, "price": 12.5, "cost": 5}), 201)
    checker.check("CatalogItem", created)
    patched = ok(cw.patch(f"procurement/catalog/{created['id']}",
                          json=[{"op": "replace", "path": "price", "value": 13}]))
    checker.check("CatalogItem", patched)


def test_error_answers(cw: httpx.Client, checker: Checker) -> None:
    bad = cw.get("company/companies", params={"conditions": "nosuchfield=1"})
    assert bad.status_code == 400
    checker.check("ErrorResponseMessage", bad.json())
    missing = cw.get("finance/invoices/999999")
    assert missing.status_code == 404
    checker.check("ErrorResponseMessage", missing.json())
    duplicate = cw.post("procurement/catalog", json={
        "identifier": everything(cw, "procurement/catalog")[0]["identifier"], "description": "x",
        "customerDescription": "x", "subcategory": {"id": 1}, "type": {"id": 1}})
    assert duplicate.status_code == 400
    checker.check("ErrorResponseMessage", duplicate.json())


def test_invoice_export(cw: httpx.Client, checker: Checker) -> None:
    body = {"locationId": ADL, "exportInvoicesFlag": True, "exportExpensesFlag": False, "exportProductsFlag": False,
            "summarizeInvoices": "Detailed"}
    checker.check("ExportAccountingBatchRequest", body)  # what the product sends
    checker.check("GLExport", ok(cw.post("finance/accounting/export", json=body)))


def test_procurement_export(cw: httpx.Client, checker: Checker) -> None:
    body = {"locationId": ADL, "exportInvoicesFlag": False, "exportExpensesFlag": False, "exportProductsFlag": True}
    checker.check("ExportAccountingBatchRequest", body)
    export = ok(cw.post("finance/accounting/export", json=body))
    assert export.get("purchaseTransactions"), "no procurement to check"
    for txn in export["purchaseTransactions"]:
        for line in txn["purchaseDetail"]:  # the sample's format, not the model's type (module docstring)
            assert US_DATETIME.fullmatch(line.pop("documentDate")), line
    checker.check("GLExport", export)


def test_batch(cw: httpx.Client, checker: Checker) -> None:
    export = ok(cw.post("finance/accounting/export", json={
        "locationId": ADL, "exportInvoicesFlag": True, "exportExpensesFlag": False, "exportProductsFlag": False}))
    txn = export["transactions"][0]
    ids = [int(x) for x in str(txn["glEntryIds"]).split(",")]
    body = {"batchIdentifier": "contract-1", "exportInvoicesFlag": True, "exportExpensesFlag": False,
            "exportProductsFlag": False, "processedRecordIds": ids}
    checker.check("CreateAccountingBatchRequest", body)
    checker.check("GLExport", ok(cw.post("finance/accounting/batches", json=body), 201))
    found = everything(cw, "finance/accounting/batches", conditions='batchIdentifier="contract-1"')
    checker.check_all("AccountingBatch", found)


# ---------------------------------------------------------------- credit memos, credit applications, returns, edits

def admin(cw: httpx.Client, path: str, body: dict[str, Any], status: int = 201) -> Any:
    base = str(cw.base_url).split(API_PREFIX)[0]
    return ok(httpx.post(base + path, json=body, timeout=30), status)


def credit_memo(cw: httpx.Client, company_id: int) -> dict[str, Any]:
    return admin(cw, "/_sandbox/unpostedinvoices", {
        "locationId": ADL, "companyId": company_id, "type": "CreditMemo", "description": "Contract credit",
        "lines": [{"description": "Returned licences", "quantity": 2, "unitPrice": 40.0, "accountNumber": "200"},
                  {"description": "Refunded hours", "quantity": 1.5, "unitPrice": 160.0, "accountNumber": "210",
                   "taxCode": "GST-FREE", "hours": True}]})


def test_credit_memo(cw: httpx.Client, checker: Checker) -> None:
    invoice = everything(cw, "finance/invoices")[0]
    made = credit_memo(cw, invoice["company"]["id"])
    memo = ok(cw.get(f"finance/invoices/{made['id']}"))
    assert memo["type"] == "CreditMemo" and memo["total"] < 0
    checker.check("Invoice", memo)
    checker.check_all("Invoice", everything(cw, "finance/invoices", conditions='type="CreditMemo"'))
    unposted = everything(cw, "finance/accounting/unpostedinvoices", conditions='invoiceType="CreditMemo"')
    assert [u["id"] for u in unposted] == [made["id"]]
    checker.check_all("UnpostedInvoice", unposted)
    export = ok(cw.post("finance/accounting/export", json={
        "exportInvoicesFlag": True, "exportExpensesFlag": False, "exportProductsFlag": False,
        "includedInvoiceIds": [made["id"]]}))
    [txn] = export["transactions"]
    assert txn["total"] < 0 and all(d["total"] >= 0 for d in txn["detail"])
    checker.check("GLExport", export)
    body = {"exportInvoicesFlag": True, "exportExpensesFlag": False, "exportProductsFlag": False,
            "processedRecordIds": [int(x) for x in txn["glEntryIds"].split(",")]}
    checker.check("CreateAccountingBatchRequest", body)
    checker.check("GLExport", ok(cw.post("finance/accounting/batches", json=body), 201))
    checker.check("Invoice", ok(cw.get(f"finance/invoices/{made['id']}")))  # now with glBatch


def test_credit_application(cw: httpx.Client, checker: Checker) -> None:
    invoice = everything(cw, "finance/invoices")[0]
    made = credit_memo(cw, invoice["company"]["id"])
    applied = admin(cw, "/_sandbox/credit-applications",
                    {"invoice_id": invoice["id"], "credit_memo_id": made["id"], "amount": 25.0})
    assert applied["credit"]["id"] == made["id"]
    checker.check("InvoicePayment", applied)
    path = f"finance/invoices/{invoice['id']}/payments"
    by_api = ok(cw.post(path, json={"amount": 5.0, "credit": {"id": made["id"]}}), 201)
    checker.check("InvoicePayment", by_api)
    ok(cw.post(path, json={"amount": 1.0}), 201)  # and the one cash payment beside them
    listed = everything(cw, path)
    assert sorted(p["type"] for p in listed) == ["Credit", "Credit", "Payment"]
    checker.check_all("InvoicePayment", listed)
    checker.check("InvoicePayment", ok(cw.patch(f"{path}/{by_api['id']}",
                                                json=[{"op": "replace", "path": "amount", "value": 6.0}])))
    both = f"id in ({invoice['id']}, {made['id']})"
    checker.check_all("Invoice", everything(cw, "finance/invoices", conditions=both))
    # the checker holds credit to InvoiceReference
    drifted = {**applied, "credit": {**applied["credit"], "id": str(made["id"]), "number": made["invoiceNumber"]}}
    problems = checker.problems("InvoicePayment", drifted)
    assert "InvoicePayment.credit.id: expected int | None, got str" in "\n".join(problems)
    assert "InvoicePayment.credit.number: not a field of InvoiceReference" in problems


def test_vendor_return_export(cw: httpx.Client, checker: Checker) -> None:
    vendor = everything(cw, "company/companies", conditions="isVendorFlag=True")[0]
    made = admin(cw, "/_sandbox/unpostedprocurement", {
        "locationId": ADL, "vendorId": vendor["id"], "vendorReturn": True,
        "lines": [{"description": "Returned switch", "quantity": 1, "unitCost": 480.0, "accountNumber": "310",
                   "taxCode": "GST"}]})
    checker.check("UnpostedProcurement", ok(cw.get(f"finance/accounting/unpostedprocurement/{made['id']}")))
    export = ok(cw.post("finance/accounting/export", json={
        "exportInvoicesFlag": False, "exportExpensesFlag": False, "exportProductsFlag": True,
        "includedProductIds": [str(made["id"])]}))
    [txn] = export["purchaseTransactions"]
    assert txn["total"] < 0 and all(d["total"] > 0 for d in txn["purchaseDetail"])
    for line in txn["purchaseDetail"]:
        assert US_DATETIME.fullmatch(line.pop("documentDate")), line
    checker.check("GLExport", export)
    po = made["purchaseOrder"]["id"]
    checker.check("PurchaseOrder", ok(cw.get(f"procurement/purchaseorders/{po}")))
    checker.check_all("PurchaseOrderLineItem", everything(cw, f"procurement/purchaseorders/{po}/lineitems"))


def test_invoice_edited_after_unbatching(cw: httpx.Client, checker: Checker) -> None:
    body = {"locationId": ADL, "exportInvoicesFlag": True, "exportExpensesFlag": False, "exportProductsFlag": False}
    txn = ok(cw.post("finance/accounting/export", json=body))["transactions"][0]
    ids = [int(x) for x in str(txn["glEntryIds"]).split(",")]
    ok(cw.post("finance/accounting/batches", json={**body, "batchIdentifier": "contract-edit",
                                                   "processedRecordIds": ids}), 201)
    batch = everything(cw, "finance/accounting/batches", conditions='batchIdentifier="contract-edit"')[0]
    assert cw.delete(f"finance/accounting/batches/{batch['id']}").status_code == 204
    admin(cw, f"/_sandbox/invoices/{txn['id']}/edit", {"close": False,
                                                        "changeLines": [{"line": 1, "unitPrice": 12.5}]}, 200)
    checker.check("Invoice", ok(cw.get(f"finance/invoices/{txn['id']}")))  # open: the "New" status
    admin(cw, f"/_sandbox/invoices/{txn['id']}/close", {}, 200)
    checker.check("UnpostedInvoice", ok(cw.get(f"finance/accounting/unpostedinvoices/{txn['id']}")))
    again = ok(cw.post("finance/accounting/export", json={**body, "includedInvoiceIds": [txn["id"]]}))
    assert not set(again["transactions"][0]["glEntryIds"].split(",")) & {str(i) for i in ids}
    checker.check("GLExport", again)


# ---------------------------------------------------------------- served, not called by the product today

@pytest.mark.parametrize(("path", "model"), [
    ("system/locations", "Location"),
    ("finance/taxCodes", "TaxCode"),
    ("finance/currencies", "FinanceCurrency"),
    ("finance/accounting/unpostedprocurement", "UnpostedProcurement"),
    ("procurement/purchaseorders", "PurchaseOrder"),
    ("time/sheets", "TimeSheet"),
    ("time/workTypes", "WorkType"),
])
def test_other_lists(cw: httpx.Client, checker: Checker, path: str, model: str) -> None:
    checker.check_all(model, everything(cw, path))


def test_purchase_order_lines(cw: httpx.Client, checker: Checker) -> None:
    for po in everything(cw, "procurement/purchaseorders")[:10]:
        checker.check_all("PurchaseOrderLineItem", everything(cw, f"procurement/purchaseorders/{po['id']}/lineitems"))


def test_system_info(cw: httpx.Client, checker: Checker) -> None:
    checker.check("Info", ok(cw.get("system/info")))


# ---------------------------------------------------------------- the checker catches drift

def test_checker_reports_drift(cw: httpx.Client, checker: Checker) -> None:
    member = everything(cw, "system/members")[0]
    checker.check("Member", member)  # the real answer passes ...
    drifted = {**member, "favouriteColour": "teal", "inactiveFlag": "false", "hireDate": "31/01/2020",
               "defaultLocation": {**member["defaultLocation"], "id": "11"} if "defaultLocation" in member else 3,
               "licenseClass": "Z"}
    drifted.pop("defaultPhone", None)
    with pytest.raises(ContractError) as caught:
        checker.check("Member", drifted)
    problems = "\n".join(caught.value.problems)
    assert "Member.favouriteColour: not a field of Member" in problems
    assert "Member.inactiveFlag: expected bool | None, got str" in problems
    assert "Member.hireDate: expected datetime | None" in problems
    assert "Member.licenseClass: 'Z' is not one of" in problems
    assert "Member.defaultPhone: required by Member but missing" in problems
    # nested models are checked too: CompanyReference (bases CatalogItemReference) on a time entry
    entry = everything(cw, "time/entries", conditions="company/id > 0")[0]
    bad_ref = {**entry, "company": {**entry["company"], "id": "250", "colour": "red"}}
    with pytest.raises(ContractError, match=r"TimeEntry\.company\.id: expected int \| None, got str"):
        checker.check("TimeEntry", bad_ref)
    assert "TimeEntry.company.colour: not a field of CompanyReference" in checker.problems("TimeEntry", bad_ref)
    # a float field takes an int; an int field never takes a bool or a float
    assert checker.problems("Invoice", {"total": 5, "id": 1, "type": "Standard", "company": {"id": 1}}) == []
    assert checker.problems("Invoice", {"id": True, "type": "Standard", "company": {"id": 1.5}}) == [
        "Invoice.id: expected int | None, got bool True",
        "Invoice.company.id: expected int | None, got float 1.5"]


# ---------------------------------------------------------------- Link headers

def test_link_header_puts_page_last(cw: httpx.Client) -> None:
    """ConnectWise writes ``<...?pageSize=50&page=2>; rel="next"``: page last, whatever order the client sent."""
    response = cw.get("company/companies", params={"page": 1, "pageSize": 5, "conditions": "id > 0"})
    links = re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers["link"])
    assert [rel for _url, rel in links] == ["first", "next", "last"]
    for url, _rel in links:
        names = [name for name, _value in parse_qsl(urlparse(url).query)]
        assert names == ["pageSize", "conditions", "page"], url
    nxt = dict((rel, url) for url, rel in links)["next"]
    assert nxt.endswith("&page=2")
    second = ok(cw.get(nxt))
    assert [c["id"] for c in second] == [c["id"] for c in ok(cw.get("company/companies", params={
        "conditions": "id > 0", "pageSize": 5, "page": 2}))]
    forward = cw.get("company/companies", params={"pageId": 0, "pageSize": 5},
                     headers={"pagination-type": "forward-only"})
    assert re.search(r'pageSize=5&pageId=\d+>; rel="next"', forward.headers["link"])


def test_procurement_batch(cw: httpx.Client, checker: Checker) -> None:
    """Procurement is batched by its purchaseDetail and purchaseDetailTax ids (it has no glEntryIds)."""
    export = ok(cw.post("finance/accounting/export", json={
        "locationId": ADL, "exportInvoicesFlag": False, "exportExpensesFlag": False, "exportProductsFlag": True}))
    txn = export["purchaseTransactions"][0]
    assert "glEntryIds" not in txn
    ids = [d["id"] for d in txn["purchaseDetail"]] + [t["id"] for t in txn["purchaseDetailTax"]]
    body = {"batchIdentifier": "contract-2", "exportInvoicesFlag": False, "exportExpensesFlag": False,
            "exportProductsFlag": True, "processedRecordIds": ids}
    checker.check("CreateAccountingBatchRequest", body)
    made = ok(cw.post("finance/accounting/batches", json=body), 201)
    for t in made["purchaseTransactions"]:
        for line in t["purchaseDetail"]:
            line.pop("documentDate")
    checker.check("GLExport", made)
