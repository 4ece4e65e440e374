"""Pre-flight checks: every document is checked against the organisation's mirrored reference data before it
is sent, so a record Xero would reject (or, worse, accept wrongly) gets a clear, actionable error and is not
sent, while the rest of the batch proceeds. Pure logic."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cz_dagster.sync.enums import enum_name


def _status(record: dict[str, Any]) -> str:
    return enum_name(record.get("Status"), "ACTIVE")


@dataclass
class ReferenceData:
    """The mirrors of one organisation; an empty mirror means 'not mirrored yet' and its checks are skipped."""

    org: str
    tax_rates: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    currencies: dict[str, dict[str, Any]] = field(default_factory=dict)
    tracking_categories: dict[str, dict[str, Any]] = field(default_factory=dict)
    tax_code_map: dict[str, str] = field(default_factory=dict)  # ConnectWise tax code -> Xero TaxType

    def tracking_option(self, category: str, option: str) -> dict[str, Any] | None:
        for cat in self.tracking_categories.values():
            if str(cat.get("Name", "")).casefold() == category.casefold():
                for opt in cat.get("Options") or []:
                    if str(opt.get("Name", "")).casefold() == option.casefold():
                        return {**opt, "_category_status": _status(cat)}
        return None


def check_document(doc: dict[str, Any], ref: ReferenceData) -> list[str]:
    """Problems with one Xero document (an ACCREC invoice or an ACCPAY bill), each saying what to fix."""
    errors: list[str] = []
    sales = doc.get("Type") in ("ACCREC", "ACCRECCREDIT")
    currency = doc.get("CurrencyCode")
    if currency and ref.currencies and currency not in ref.currencies:
        errors.append(f"currency {currency} is not enabled in Xero organisation {ref.org}; add it under "
                      "Settings > Currencies, or invoice in an enabled currency")
    total = sum(float(line.get("LineAmount") or 0) for line in doc.get("LineItems") or [])
    if total < 0:
        what = {"ACCREC": "invoice", "ACCRECCREDIT": "credit note", "ACCPAYCREDIT": "supplier credit"}.get(
            str(doc.get("Type")), "bill")
        errors.append(f"the {what}'s lines total {total:.2f}, below zero, which Xero cannot hold (a ConnectWise "
                      f"credit memo becomes a credit note of its own): check the {what}'s lines in ConnectWise")
    for n, line in enumerate(doc.get("LineItems") or [], start=1):
        where = f"line {n}"
        tax_type = line.get("TaxType")
        if ref.tax_rates and tax_type:
            rate = ref.tax_rates.get(tax_type)
            if rate is None:
                errors.append(f"{where}: tax rate {tax_type} does not exist in Xero organisation {ref.org}; set the "
                              "ConnectWise tax code's xref to a Xero tax type, or map it with `cz map tax-code`")
            elif _status(rate) != "ACTIVE":
                errors.append(f"{where}: tax rate {tax_type} ({rate.get('Name')}) is {_status(rate).lower()} in "
                              f"Xero organisation {ref.org}; reactivate it or map the tax code to an active rate")
            elif sales and rate.get("CanApplyToRevenue") is False:
                errors.append(f"{where}: tax rate {tax_type} ({rate.get('Name')}) cannot be used on sales in Xero")
            elif not sales and rate.get("CanApplyToExpenses") is False:
                errors.append(f"{where}: tax rate {tax_type} ({rate.get('Name')}) cannot be used on purchases in Xero")
        code = line.get("AccountCode")
        if ref.accounts and code:
            account = ref.accounts.get(code)
            if account is None:
                errors.append(f"{where}: account code {code} does not exist in Xero organisation {ref.org}'s chart "
                              "of accounts; fix the GL account mapping in ConnectWise or add the account in Xero")
            elif _status(account) != "ACTIVE":
                errors.append(f"{where}: account {code} ({account.get('Name')}) is archived in Xero; use an active "
                              "account in the ConnectWise GL mapping")
            elif enum_name(account.get("Type")) == "BANK":
                errors.append(f"{where}: account {code} is a bank account, which Xero does not allow on "
                              f"{'invoice' if sales else 'bill'} lines")
        for tracking in line.get("Tracking") or []:
            if not ref.tracking_categories:
                continue
            option = ref.tracking_option(str(tracking.get("Name", "")), str(tracking.get("Option", "")))
            if option is None:
                errors.append(f"{where}: tracking option {tracking.get('Option')!r} does not exist in category "
                              f"{tracking.get('Name')!r} in Xero; add it or change `cz map location-tracking`")
            elif _status(option) != "ACTIVE" or option["_category_status"] != "ACTIVE":
                errors.append(f"{where}: tracking option {tracking.get('Option')!r} is archived in Xero")
        quantity = line.get("Quantity")
        if quantity is not None and float(quantity) == 0:
            errors.append(f"{where}: quantity is zero; Xero would post an empty line: fix the quantity in ConnectWise")
    return errors


def apply_tax_code_map(doc: dict[str, Any], source_lines: list[dict[str, Any]], ref: ReferenceData) -> None:
    """`cz map tax-code` overrides the ConnectWise xref: a tax code mapped by hand wins."""
    if not ref.tax_code_map:
        return
    for line, source in zip(doc.get("LineItems") or [], source_lines, strict=False):
        code = (source.get("taxCode") or {}).get("identifier") or (source.get("taxCode") or {}).get("name")
        if code and code in ref.tax_code_map:
            line["TaxType"] = ref.tax_code_map[code]


CENT = Decimal("0.01")


def _rate(ref: ReferenceData, tax_type: Any) -> Decimal | None:
    record = ref.tax_rates.get(str(tax_type))
    if record is None:
        return None
    raw = record.get("EffectiveRate", record.get("Rate"))
    return None if raw is None else Decimal(str(raw))


def settle_tax(doc: dict[str, Any], want_total: Decimal | None, ref: ReferenceData) -> str | None:
    """Make the document reach Xero with the total ConnectWise billed, or say before sending why it cannot.

    Xero works tax out per line (the line amount times the rate, rounded half up to the cent) and totals the
    lines; ConnectWise may round tax on the total. Here Xero's arithmetic is reproduced from the mirrored rates;
    where it lands within a cent a line of ConnectWise's tax, the lines carry their tax amounts explicitly
    (``TaxAmount``, which Xero lets a document override), ConnectWise's tax spread a cent at a time over the
    largest taxed lines. A bigger difference is a different rate, reported here, never found after posting.
    Exclusive documents only (the product sends no other); nothing to do without the tax rate mirror."""
    lines = doc.get("LineItems") or []
    if want_total is None or not lines or doc.get("LineAmountTypes", "Exclusive") != "Exclusive":
        return None
    rates = [_rate(ref, line.get("TaxType")) for line in lines]
    if any(r is None for r in rates):
        return None  # a rate pre-flight could not find is named by check_document
    amounts = [Decimal(str(line.get("LineAmount") or 0)) for line in lines]
    taxes = [(a * r / 100).quantize(CENT, rounding=ROUND_HALF_UP) for a, r in zip(amounts, rates, strict=True)]
    net = sum(amounts, Decimal(0))
    want_tax = want_total - net
    diff = want_tax - sum(taxes, Decimal(0))
    taxed = sorted((i for i, r in enumerate(rates) if r), key=lambda i: -abs(amounts[i]))
    cents = int((abs(diff) / CENT).to_integral_value())
    if diff and cents > len(taxed):
        what = {"ACCREC": "invoice", "ACCRECCREDIT": "credit note", "ACCPAYCREDIT": "supplier credit"}.get(
            str(doc.get("Type")), "bill")
        used = ", ".join(sorted({f"{line.get('TaxType')} {rate.normalize():f}%" for line, rate in
                                 zip(lines, rates, strict=True)}))
        return (f"Xero would total the {what} {net + sum(taxes, Decimal(0)):.2f} (tax {sum(taxes, Decimal(0)):.2f} "
                f"at its rates: {used}), but ConnectWise billed {want_total:.2f} (tax {want_tax:.2f}): the lines' "
                "Xero tax types are not the rates ConnectWise charged; fix the tax code's xref in ConnectWise or "
                "`cz map tax-code`, then re-run. Nothing was sent")
    step = CENT if diff > 0 else -CENT
    for i in taxed[:cents]:
        taxes[i] += step
    for line, tax in zip(lines, taxes, strict=True):
        line["TaxAmount"] = float(tax)
    return None
