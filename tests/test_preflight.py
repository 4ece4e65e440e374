"""Pre-flight checks against mirrored reference data: each kind of bad reference has its own clear error."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cz_dagster.sync.preflight import ReferenceData, apply_tax_code_map, check_document, settle_tax


def ref() -> ReferenceData:
    return ReferenceData(
        org="Adelaide",
        tax_rates={"OUTPUT": {"TaxType": "OUTPUT", "Name": "GST on Income", "Status": "ACTIVE",
                              "CanApplyToRevenue": True},
                   "INPUT": {"TaxType": "INPUT", "Name": "GST on Expenses", "Status": "ACTIVE",
                             "CanApplyToRevenue": False},
                   "OLDGST": {"TaxType": "OLDGST", "Name": "Old GST", "Status": "DELETED"}},
        accounts={"200": {"Code": "200", "Name": "Sales", "Status": "ACTIVE", "Type": "REVENUE"},
                  "250": {"Code": "250", "Name": "Old sales", "Status": "ARCHIVED", "Type": "REVENUE"},
                  "090": {"Code": "090", "Name": "Bank", "Status": "ACTIVE", "Type": "BANK"}},
        currencies={"AUD": {"Code": "AUD"}},
        tracking_categories={"t1": {"Name": "Location", "Status": "ACTIVE", "Options": [
            {"Name": "Adelaide", "Status": "ACTIVE"}, {"Name": "Darwin", "Status": "ARCHIVED"}]}},
    )


def invoice(**line) -> dict:  # noqa: ANN003
    base = {"Description": "x", "Quantity": 1.0, "UnitAmount": 10.0, "AccountCode": "200", "TaxType": "OUTPUT",
            "Tracking": [{"Name": "Location", "Option": "Adelaide"}]}
    return {"Type": "ACCREC", "CurrencyCode": "AUD", "LineItems": [{**base, **line}]}


def test_a_good_invoice_passes():
    assert check_document(invoice(), ref()) == []


@pytest.mark.parametrize("doc, message", [
    (invoice(TaxType="GSTX"), "tax rate GSTX does not exist in Xero organisation Adelaide"),
    (invoice(TaxType="OLDGST"), "tax rate OLDGST (Old GST) is deleted"),
    (invoice(TaxType="INPUT"), "tax rate INPUT (GST on Expenses) cannot be used on sales"),
    (invoice(AccountCode="999"), "account code 999 does not exist"),
    (invoice(AccountCode="250"), "account 250 (Old sales) is archived"),
    (invoice(AccountCode="090"), "account 090 is a bank account"),
    ({**invoice(), "CurrencyCode": "USD"}, "currency USD is not enabled in Xero organisation Adelaide"),
    (invoice(Tracking=[{"Name": "Location", "Option": "Perth"}]), "tracking option 'Perth' does not exist"),
    (invoice(Tracking=[{"Name": "Location", "Option": "Darwin"}]), "tracking option 'Darwin' is archived"),
    (invoice(Quantity=0), "quantity is zero"),
    (invoice(LineAmount=-10.0), "below zero, which Xero cannot hold"),
])
def test_each_bad_reference_has_its_own_error(doc, message):
    errors = check_document(doc, ref())
    assert len(errors) == 1 and message in errors[0]


def test_bills_check_expense_side_and_unmirrored_data_is_skipped():
    bill = {**invoice(TaxType="INPUT"), "Type": "ACCPAY"}
    assert check_document(bill, ref()) == []
    assert check_document(invoice(TaxType="ANYTHING", AccountCode="1"), ReferenceData(org="new")) == []


def test_tax_code_mapping_overrides_the_xref():
    r = ref()
    r.tax_code_map = {"GST": "OUTPUT"}
    doc = invoice(TaxType="GSTX")
    apply_tax_code_map(doc, [{"taxCode": {"identifier": "GST"}}], r)
    assert doc["LineItems"][0]["TaxType"] == "OUTPUT" and check_document(doc, r) == []


# -- totals to the cent: Xero's per-line rounding reproduced before sending ---------------------------------
def _doc(*amounts: float, tax_type: str = "OUTPUT") -> dict:
    return {"Type": "ACCREC", "LineAmountTypes": "Exclusive",
            "LineItems": [{"LineAmount": a, "TaxType": tax_type} for a in amounts]}


def _ref(rate: float = 10.0) -> ReferenceData:
    return ReferenceData(org="Demo", tax_rates={"OUTPUT": {"TaxType": "OUTPUT", "EffectiveRate": rate,
                                                           "Status": "ACTIVE"}})


def test_tax_rounded_on_the_total_is_spread_over_the_lines():
    """ConnectWise: 3 x 0.05 at 10% is tax 0.02 on the total; Xero per line would say 3 x 0.01 = 0.03. The lines
    carry explicit tax amounts that add up to ConnectWise's, a cent off Xero's own per line at most."""
    doc = _doc(0.05, 0.05, 0.05)
    assert settle_tax(doc, Decimal("0.17"), _ref()) is None
    taxes = [Decimal(str(line["TaxAmount"])) for line in doc["LineItems"]]
    assert sum(taxes) == Decimal("0.02") and all(abs(t - Decimal("0.01")) <= Decimal("0.01") for t in taxes)


def test_tax_that_agrees_is_sent_as_xero_computes_it():
    doc = _doc(100.0, 33.33)
    assert settle_tax(doc, Decimal("146.66"), _ref()) is None
    assert [line["TaxAmount"] for line in doc["LineItems"]] == [10.0, 3.33]


def test_a_different_rate_is_reported_before_sending():
    """ConnectWise charged no tax where the Xero tax type is 10%: not a rounding, so not sent."""
    doc = _doc(1595.23, tax_type="OUTPUT")
    problem = settle_tax(doc, Decimal("1595.23"), _ref())
    assert problem is not None and "Xero would total the invoice 1754.75" in problem
    assert "ConnectWise billed 1595.23 (tax 0.00)" in problem and "Nothing was sent" in problem
    assert "TaxAmount" not in doc["LineItems"][0]


def test_without_the_tax_rate_mirror_nothing_is_guessed():
    doc = _doc(10.0)
    assert settle_tax(doc, Decimal("11.00"), ReferenceData(org="Demo")) is None
    assert "TaxAmount" not in doc["LineItems"][0]
