"""Pure logic in cz_dagster.sync: mapping, matching, keys and redaction (no I/O)."""

from __future__ import annotations

import json

import pytest

from cz_dagster.sync.contacts import match_companies, to_xero_contact
from cz_dagster.sync.hashing import idempotency_key
from cz_dagster.sync.invoices import RecordError, source_invoices, to_xero_invoice, version_of
from cz_dagster.sync.redact import MASK, redact_body, redact_url


def txn(**over):  # noqa: ANN003, ANN201
    base = {"id": 5001, "documentNumber": "INV-5001", "documentDate": "2026-11-02T00:00:00Z",
            "dueDate": "2026-12-02T00:00:00Z", "company": {"id": 250, "identifier": "acme", "name": "Acme"},
            "currency": {"currencyCode": "AUD"}, "total": 330.0, "salesTax": 30.0, "glEntryIds": "11,12",
            "detail": [{"accountNumber": "200", "description": "Support", "quantity": 2, "itemPrice": 150.0,
                        "total": 300.0, "taxCodeXref": "OUTPUT"}]}
    base.update(over)
    return base


def test_invoice_mapping():
    [inv] = source_invoices({"transactions": [txn()]})
    assert inv.gl_entry_ids == [11, 12]
    doc = to_xero_invoice(inv, "contact-1")
    assert doc["Type"] == "ACCREC" and doc["InvoiceNumber"] == "INV-5001"
    assert doc["Contact"] == {"ContactID": "contact-1"}
    assert doc["Date"] == "2026-11-02" and doc["DueDate"] == "2026-12-02"
    assert doc["LineItems"] == [{"Description": "Support", "Quantity": 2.0, "UnitAmount": 150.0,
                                 "AccountCode": "200", "TaxType": "OUTPUT", "LineAmount": 300.0}]


@pytest.mark.parametrize("over, contact, message", [
    ({}, None, "unknown customer: ConnectWise company 'Acme' \\(id 250\\)"),
    ({"detail": [{"accountNumber": "200", "quantity": 1, "itemPrice": 1, "taxCode": {"identifier": "GST"}}]},
     "c", "line 1: tax code GST has no Xero tax type"),
    ({"detail": [{"quantity": 1, "itemPrice": 1, "taxCodeXref": "OUTPUT"}]}, "c", "line 1: no GL account"),
    ({"detail": [{"accountNumber": "200", "quantity": "lots", "itemPrice": 1, "taxCodeXref": "OUTPUT"}]}, "c",
     "line 1: amount 'lots' is not a number"),
    ({"detail": []}, "c", "no lines"),
    ({"glEntryIds": ""}, "c", "no GL entries"),
    ({"glEntryIds": "1,x"}, "c", "glEntryIds '1,x' are not whole numbers"),
    ({"documentDate": "yesterday"}, "c", "invoice date 'yesterday' is not a date"),
])
def test_invoice_preflight_errors(over, contact, message):
    [inv] = source_invoices({"transactions": [txn(**over)]})
    with pytest.raises(RecordError, match=message):
        to_xero_invoice(inv, contact)


def test_version_changes_with_content_only():
    assert version_of(txn()) == version_of(txn(glEntryIds="99,100"))
    assert version_of(txn()) != version_of(txn(total=331.0))


def test_idempotency_key_is_stable_per_attempt():
    keys = [("1", "a"), ("2", "b")]
    assert idempotency_key("invoices", "adl", keys, 1) == idempotency_key("invoices", "adl", list(reversed(keys)), 1)
    assert idempotency_key("invoices", "adl", keys, 1) != idempotency_key("invoices", "adl", keys, 2)
    assert len(idempotency_key("invoices", "x" * 200, keys, 1)) <= 128


def test_contact_matching_order_and_archived():
    companies = [{"id": 1, "identifier": "acme", "name": "Acme"}, {"id": 2, "identifier": "beta", "name": "Beta"},
                 {"id": 3, "identifier": "gamma", "name": "Gamma Pty"}, {"id": 4, "identifier": "d", "name": "Delta"}]
    contacts = [{"ContactID": "c1", "Name": "Acme Renamed", "ContactNumber": "ACME"},
                {"ContactID": "c2", "Name": "  beta  "},
                {"ContactID": "c3", "Name": "Gamma Pty", "ContactStatus": "ARCHIVED"}]
    got = {m.company_id: (m.how, m.contact_id) for m in match_companies(companies, contacts)}
    assert got == {1: ("contact_number", "c1"), 2: ("name", "c2"), 3: ("archived", "c3"), 4: ("create", None)}
    doc = to_xero_contact({"id": 4, "identifier": "d", "name": "Delta", "invoiceToEmailAddress": "a@d.com"})
    assert doc == {"Name": "Delta", "ContactNumber": "d", "EmailAddress": "a@d.com"}


def test_redaction():
    body = json.dumps({"access_token": "abc123xyz", "nested": {"client_secret": "s3cr3t!!"}, "ok": "visible"})
    out = redact_body(body)
    assert "abc123xyz" not in out and "s3cr3t!!" not in out and "visible" in out
    form = redact_body("grant_type=refresh_token&refresh_token=RT-123456&client_id=cid")
    assert "RT-123456" not in form and "client_id=cid" in form
    assert MASK in redact_url("http://u:p@host/cb?code=abcdef&state=s")
    assert "p@host" not in redact_url("http://u:p@host/x")
    assert "KNOWN-SECRET" not in redact_body("error: KNOWN-SECRET leaked", secrets=["KNOWN-SECRET"])


def test_unit_prices_beyond_four_decimals_keep_the_line_total():
    from cz_dagster.sync.invoices import xero_lines

    [kept] = xero_lines([{"accountNumber": "200", "taxCodeXref": "OUTPUT", "quantity": 3, "itemPrice": 33.3333,
                          "description": "x"}], price_keys=("itemPrice",), what="invoice")
    assert (kept["Quantity"], kept["UnitAmount"], kept["LineAmount"]) == (3.0, 33.3333, 100.0)
    [folded] = xero_lines([{"accountNumber": "200", "taxCodeXref": "OUTPUT", "quantity": 1000, "itemPrice": 0.123456,
                            "description": "Licences\x07\t"}], price_keys=("itemPrice",), what="invoice")
    assert (folded["Quantity"], folded["UnitAmount"], folded["LineAmount"]) == (1.0, 123.46, 123.46)
    assert folded["Description"] == "Licences (1000 x 0.123456)"


def test_time_entry_day_is_local_and_bill_due_date_from_terms():
    from cz_dagster.sync.bills import due_date
    from cz_dagster.sync.timesheets import entry_day

    monday_morning = {"timeStart": "2026-11-22T22:30:00Z"}  # 09:00 Monday 23 November in Adelaide
    assert entry_day(monday_morning).isoformat() == "2026-11-22"
    assert entry_day(monday_morning, "Australia/Adelaide").isoformat() == "2026-11-23"
    assert due_date({"dueDays": 30}, "2026-11-02T00:00:00Z") == "2026-12-02"
    assert due_date({"dueDate": "2026-11-20T00:00:00Z", "dueDays": 30}, "2026-11-02") == "2026-11-20"
    with pytest.raises(RecordError, match="dueDays 'soon'"):
        due_date({"dueDays": "soon"}, "2026-11-02")


@pytest.mark.parametrize("company, message", [
    ("Acme Pty Ltd", "the company reference 'Acme Pty Ltd' is not a ConnectWise company"),
    ({"id": "abc", "name": "Acme"}, "the company id 'abc' is not a number"),
    ([250], "is not a ConnectWise company"),
])
def test_malformed_company_reference_fails_its_record(company, message):
    """An export row whose company is not a company object fails alone, with the reason, instead of crashing
    the run (a string where an object belongs used to raise AttributeError)."""
    from cz_dagster.sync.bills import source_bills

    [inv] = source_invoices({"transactions": [txn(company=company)]})
    with pytest.raises(RecordError, match=message):
        to_xero_invoice(inv, "contact-1")
    [bill] = source_bills({"purchaseTransactions": [{"id": 7, "vendor": company, "glEntryIds": "1",
                                                     "purchaseDetail": []}]})
    assert any(message in e for e in bill.errors), bill.errors


# ---------------------------------------------------------------- payments: one per invoice, set to a target

def test_payment_write_sets_the_one_payment_to_the_target():
    from decimal import Decimal as D

    from cz_dagster.sync.payments import payment_write

    assert payment_write(D("10.00"), []).kind == "create"
    assert payment_write(D("0"), []).kind == "none"
    one = [{"id": 7, "amount": 10.0}]
    assert payment_write(D("10.00"), one).kind == "none"
    assert (payment_write(D("25.50"), one).kind, payment_write(D("25.50"), one).payment_id) == ("update", "7")
    assert (payment_write(D("0"), one).kind, payment_write(D("0"), one).payment_id) == ("delete", "7")
    with pytest.raises(ValueError, match="ConnectWise lists 2 payments on this invoice where it allows one"):
        payment_write(D("5"), [{"id": 1, "amount": 5}, {"id": 2, "amount": 5}])


def test_status_and_target_checks_of_an_invoice():
    from decimal import Decimal as D

    from cz_dagster.sync.payments import CwInvoice, status_change, target_error, version

    inv = CwInvoice.of({"id": 5, "invoiceNumber": "10005", "balance": 60.0, "payments": 40.0,
                        "status": {"name": "Closed"}})
    assert inv.payable == D("100.0")
    assert status_change(D("100"), inv) == "closed"
    assert status_change(D("50"), inv) is None
    paid = CwInvoice.of({"id": 5, "invoiceNumber": "10005", "balance": 0, "payments": 100.0,
                         "status": {"name": "Paid"}})
    assert status_change(D("60"), paid) == "reopened" and status_change(D("100"), paid) is None
    assert target_error(D("100"), inv) is None
    assert "more than ConnectWise's total less credits (100.0)" in target_error(D("100.01"), inv)
    assert version(D("478.5")) == "478.50"


def test_triage_of_payments_since_the_cursor():
    from datetime import date
    from decimal import Decimal as D

    from cz_dagster.sync.payments import XeroPayment, triage

    def p(pid: str, inv: str | None, kind: str = "ACCRECPAYMENT", status: str = "AUTHORISED") -> XeroPayment:
        return XeroPayment(pid, inv, f"N-{inv}", D("5"), date(2026, 1, 1), status, kind)

    ours = {"x1": "101", "x2": "102"}
    seen = triage([p("a", "x1"), p("b", "x1", status="DELETED"), p("c", "x9"), p("d", "x2", "ARCREDITPAYMENT"),
                   p("e", "x2", "ARCREDITPAYMENT", "DELETED")], ours)
    assert seen.touched == {"101"} and seen.not_ours == 1
    assert [r.payment.payment_id for r in seen.reports] == ["d"]
    assert "record it in ConnectWise" in seen.reports[0].reason
    assert [w.payment_id for w in seen.withdrawn] == ["e"]


# ---------------------------------------------------------------- the export as ConnectWise sends it

ZYNK_SAMPLE_INVOICE = {  # ConnectWise's published sample export (Zynk), one invoice, as the reference quotes it
    "id": 119, "documentNumber": "119", "documentType": "INVOICE", "glTypeId": "AR", "total": 10,
    "glEntryIds": "1010,1011,1012,1013,1014,1015", "dueDays": 10, "documentDate": "2011-06-20T00:00:00",
    "dueDate": "2011-06-30T00:00:00", "salesTax": 0, "company": {"id": 2, "identifier": "ACME", "name": "Acme"},
    "detail": [
        {"id": 1009, "glTypeId": "RP", "quantity": -1, "total": -10, "itemPrice": 10, "accountNumber": "4000",
         "taxCodeXref": "T9", "taxableFlag": False, "description": "Support", "unitOfMeasure": {"id": 1,
                                                                                                 "name": "Hour"}},
        {"id": 1016, "glTypeId": "ST", "description": "Level 1 Sales Tax", "memo": "Sales Tax", "quantity": 0,
         "total": 0, "taxRate": 0.2, "taxRatePercent": 20, "accountNumber": "9999", "taxNote": "AUTOSTAX"},
    ],
}


def test_the_published_sample_invoice_posts_as_one_positive_line():
    from cz_dagster.sync.invoices import source_invoices, to_xero_invoice

    [inv] = source_invoices({"transactions": [ZYNK_SAMPLE_INVOICE]})
    assert inv.gl_entry_ids == [1010, 1011, 1012, 1013, 1014, 1015]  # not the detail ids 1009, 1016
    doc = to_xero_invoice(inv, "contact-1")
    assert [(li["Quantity"], li["UnitAmount"], li["LineAmount"], li["TaxType"]) for li in doc["LineItems"]] == [
        (1.0, 10.0, 10.0, "T9")]
    assert doc["Date"] == "2011-06-20" and doc["DueDate"] == "2011-06-30"


def test_tax_lines_count_toward_the_total_in_either_sign_convention():
    import copy

    from cz_dagster.sync.invoices import source_invoices, to_xero_invoice

    taxed = copy.deepcopy(ZYNK_SAMPLE_INVOICE)
    taxed["total"], taxed["detail"][1]["total"] = 12, -2  # 20% tax, on the lines' side
    assert to_xero_invoice(source_invoices({"transactions": [taxed]})[0], "c")["LineItems"][0]["LineAmount"] == 10
    same_sign = copy.deepcopy(taxed)  # an export whose lines carry the document's sign posts the same
    for d in same_sign["detail"]:
        d["quantity"], d["total"] = -d["quantity"], -d["total"]
    assert to_xero_invoice(source_invoices({"transactions": [same_sign]})[0], "c")["LineItems"][0]["Quantity"] == 1


def test_an_export_that_fits_neither_convention_is_refused_not_guessed():
    import copy

    from cz_dagster.sync.invoices import RecordError, source_invoices, to_xero_invoice

    bad_tax = copy.deepcopy(ZYNK_SAMPLE_INVOICE)
    bad_tax["total"], bad_tax["detail"][1]["total"] = 12, 2  # tax on the total's side, lines on the other
    with pytest.raises(RecordError, match="cannot tell which side they are on"):
        to_xero_invoice(source_invoices({"transactions": [bad_tax]})[0], "c")
    off = copy.deepcopy(ZYNK_SAMPLE_INVOICE)
    off["total"] = 11  # lines and tax lines do not add up to the AR total
    with pytest.raises(RecordError, match="the lines add up to 10.00 plus tax 0.00, but ConnectWise says the invoice "
                                          "totals 11.00"):
        to_xero_invoice(source_invoices({"transactions": [off]})[0], "c")


def test_the_published_sample_procurement_posts_with_a_stable_reference():
    from cz_dagster.sync.bills import bill_reference, source_bills, to_xero_bill

    txn = {"id": "PO #COMPANYBPO, Packing Slip: COMPANYBPO", "documentNumber": "COMPANYBPO", "total": 12.5,
           "apAccountNumber": "2000", "company": {"id": 7, "identifier": "SUPPLIER", "name": "Supplier"},
           "dueDays": 30, "vendorInvoiceNumber": "COMPANYBPO", "vendorInvoiceDate": "2014-05-01T00:00:00",
           "freightAmount": 0,
           "purchaseDetail": [{"id": 1299, "documentDate": "5/1/2014 5:21:58 AM", "glTypeId": "RP",
                               "quantity": -50, "total": -12.5, "cost": 12.5, "itemCost": 0.25,
                               "item": {"id": 743, "identifier": "PATCH10"}, "lineNumber": 1,
                               "accountNumber": "5000", "taxCodeXref": "INPUT"}]}
    [doc] = source_bills({"purchaseTransactions": [txn]})
    assert doc.gl_entry_ids == [1299] and doc.company_id == 7
    assert doc.reference == bill_reference(txn["id"]) and len(doc.reference) <= 40 and " " not in doc.reference
    assert source_bills({"purchaseTransactions": [txn]})[0].reference == doc.reference  # stable
    bill = to_xero_bill(doc, "supplier-1")
    assert [(li["Quantity"], li["UnitAmount"], li["LineAmount"]) for li in bill["LineItems"]] == [(50.0, 0.25, 12.5)]
    assert bill["DueDate"] == "2014-05-31"
