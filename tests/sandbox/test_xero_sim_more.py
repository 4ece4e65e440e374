"""The Xero simulator beyond invoices and contacts: bills, payments, items, tracking categories and Payroll AU,
driven through the real xero-python SDK (AccountingApi and PayrollAuApi pointed at the sandbox) and checked
against Xero's OpenAPI specs.

Fixtures and helpers come from test_xero_sim.py so both files set the SDK up the same way.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import httpx
import pytest

from cz_sandbox import demo
from tests.sandbox import test_xero_sim as base
from tests.sandbox.test_xero_sim import ADL, MEL, _load_spec, accounting_spec, api, authorize, inv, state, validate

# The same fixtures as test_xero_sim.py (a server for this module, reset per test, the SDK client set up alike).
server, url, http, sdk = base.server, base.url, base.http, base.sdk

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type")
WEEKLY_START = date.fromisoformat(demo.XERO_PAYROLL_CALENDARS[0]["StartDate"])


@pytest.fixture
def payroll(url: str, sdk: Any) -> Iterator[Any]:
    """A PayrollAuApi sharing the accounting SDK's ApiClient (one token store for both APIs, as in the product)."""
    from xero_python.payrollau import PayrollAuApi

    yield PayrollAuApi(sdk.api_client, base_url=url + "/payroll.xro/1.0")


def papi(http: httpx.Client, token: dict[str, Any], method: str, path: str, tenant: str = ADL, **kw: Any
         ) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token['access_token']}", "Xero-Tenant-Id": tenant,
               "Accept": "application/json", **kw.pop("headers", {})}
    return http.request(method, "/payroll.xro/1.0" + path, headers=headers, **kw)


def employee_id(http: httpx.Client, email: str, tenant: str = ADL) -> str:
    return next(e["EmployeeID"] for e in state(http, tenant)["employees"] if e.get("Email") == email)


def sdk_bill(reference: str, amount: float = 500.0, contact_name: str = "Ingram Micro Australia") -> Any:
    from xero_python.accounting import Contact, Invoice, LineAmountTypes, LineItem
    return Invoice(type="ACCPAY", contact=Contact(name=contact_name), date=date(2026, 11, 2),
                   due_date=date(2026, 11, 30), status="AUTHORISED", invoice_number="SUP-7781", reference=reference,
                   line_amount_types=LineAmountTypes.EXCLUSIVE,
                   line_items=[LineItem(description="Dell Latitude 5450", quantity=1.0, unit_amount=amount,
                                        account_code="310", tax_type="INPUT")])


# ---------------------------------------------------------------- bills

def test_accpay_duplicates_allowed_found_by_reference_and_contact(sdk: Any, http: httpx.Client) -> None:
    from xero_python.accounting import Invoices

    first = sdk.create_invoices(ADL, Invoices(invoices=[sdk_bill("CW-PROC-41")])).invoices[0]
    second = sdk.create_invoices(ADL, Invoices(invoices=[sdk_bill("CW-PROC-41")])).invoices[0]
    assert first.invoice_id != second.invoice_id and first.invoice_number == second.invoice_number == "SUP-7781"
    supplier = first.contact.contact_id
    sdk.create_invoices(ADL, Invoices(invoices=[sdk_bill("CW-PROC-42")]))
    found = sdk.get_invoices(ADL, where='Type=="ACCPAY" AND Reference=="CW-PROC-41"').invoices
    assert {i.invoice_id for i in found} == {first.invoice_id, second.invoice_id}
    by_contact = sdk.get_invoices(ADL, where=f'Contact.ContactID==Guid("{supplier}") AND Reference=="CW-PROC-42"')
    assert len(by_contact.invoices) == 1
    contact = sdk.get_contact(ADL, supplier).contacts[0]
    assert contact.is_supplier is True and contact.is_customer is False
    st = state(http)
    assert len(st["bills"]) == 3 and len(st["invoices"]) == 3
    # Paying a bill is an ACCPAYPAYMENT; paying it in full makes it PAID.
    paid = sdk.create_payment(ADL, _payment(first.invoice_id, 550.0)).payments[0]
    assert paid.payment_type == "ACCPAYPAYMENT" and paid.invoice.type == "ACCPAY"
    assert sdk.get_invoice(ADL, first.invoice_id).invoices[0].status == "PAID"
    # A revenue-only tax rate cannot go on a bill.
    token = authorize(http)
    bad = api(http, token, "PUT", "/Invoices", json=inv(None, kind="ACCPAY", contact={"Name": "Ingram"},
                                                         lines=[{"Description": "x", "Quantity": 1, "UnitAmount": 5,
                                                                 "AccountCode": "310", "TaxType": "OUTPUT"}]))
    assert bad.status_code == 400 and "OUTPUT" in bad.json()["Elements"][0]["ValidationErrors"][0]["Message"]


# ---------------------------------------------------------------- payments

def _payment(invoice_id: str, amount: float, code: str = "090", reference: str = "EFT") -> Any:
    from xero_python.accounting import Account, Invoice, Payment
    return Payment(invoice=Invoice(invoice_id=invoice_id), account=Account(code=code), amount=amount,
                   date=date(2026, 11, 20), reference=reference)


def test_partial_and_full_payment_then_delete_reverts(sdk: Any, http: httpx.Client) -> None:
    from xero_python.accounting import Invoices, PaymentDelete, Payments

    invoice = sdk.create_invoices(ADL, Invoices(invoices=[_accrec("CW-P1")])).invoices[0]
    assert invoice.total == 544.5 and invoice.status == "AUTHORISED"
    first = sdk.create_payments(ADL, Payments(payments=[_payment(invoice.invoice_id, 200.0)]),
                                idempotency_key="pay-1").payments[0]
    assert first.payment_type == "ACCRECPAYMENT" and first.status == "AUTHORISED" and first.amount == 200.0
    assert first.invoice.invoice_number == "CW-P1" and first.account.code == "090"
    after = sdk.get_invoice(ADL, invoice.invoice_id).invoices[0]
    assert (after.amount_paid, after.amount_due, after.status) == (200.0, 344.5, "AUTHORISED")
    assert after.updated_date_utc > invoice.updated_date_utc and len(after.payments) == 1
    # The clearing account has "Enable payments to this account"; the rest pays the invoice off.
    second = sdk.create_payment(ADL, _payment(invoice.invoice_id, 344.5, code="855")).payments[0]
    paid = sdk.get_invoice(ADL, invoice.invoice_id).invoices[0]
    assert (paid.amount_due, paid.status, paid.fully_paid_on_date) == (0.0, "PAID", date(2026, 11, 20))
    assert {p.payment_id for p in paid.payments} == {first.payment_id, second.payment_id}
    # Deleting (reversing) a payment puts the invoice back to AUTHORISED with the amount outstanding.
    gone = sdk.delete_payment(ADL, second.payment_id, PaymentDelete(status="DELETED")).payments[0]
    assert gone.status == "DELETED"
    back = sdk.get_invoice(ADL, invoice.invoice_id).invoices[0]
    assert (back.amount_due, back.status, back.fully_paid_on_date) == (344.5, "AUTHORISED", None)
    listed = sdk.get_payments(ADL, where=f'Invoice.InvoiceID==Guid("{invoice.invoice_id}") AND Status=="DELETED"')
    assert [p.payment_id for p in listed.payments] == [second.payment_id]
    assert listed.pagination.item_count == 1
    # The admin route records a payment as a Xero user would.
    r = http.post("/_sandbox/payments", json={"tenant_id": ADL, "InvoiceNumber": "CW-P1", "Amount": 44.5})
    assert r.status_code == 200 and r.json()["Amount"] == 44.5
    assert state(http)["invoices"][0]["AmountDue"] == 300.0
    assert http.post(f"/_sandbox/payments/{r.json()['PaymentID']}/delete").json()["Status"] == "DELETED"


def _accrec(number: str, amount: float = 165.0) -> Any:
    from xero_python.accounting import Contact, Invoice, LineItem
    return Invoice(type="ACCREC", contact=Contact(name="Acacia Dental Group"), date=date(2026, 11, 1),
                   due_date=date(2026, 11, 30), status="AUTHORISED", invoice_number=number,
                   line_items=[LineItem(description="Onsite support", quantity=3.0, unit_amount=amount,
                                        account_code="230", tax_type="OUTPUT")])


def test_payment_validation_messages_and_summarize_errors(sdk: Any, http: httpx.Client) -> None:
    from xero_python.accounting import Invoices, Payments
    from xero_python.exceptions import AccountingBadRequestException

    invoice = sdk.create_invoices(ADL, Invoices(invoices=[_accrec("CW-P2")])).invoices[0]
    with pytest.raises(AccountingBadRequestException) as exc:
        sdk.create_payments(ADL, Payments(payments=[_payment(invoice.invoice_id, 9999.0)]))
    assert exc.value.error_data["Elements"][0]["ValidationErrors"][0]["Message"] == \
        "Payment amount exceeds the amount outstanding on this document"
    batch = sdk.create_payments(ADL, Payments(payments=[
        _payment(invoice.invoice_id, 100.0), _payment(invoice.invoice_id, -5.0),
        _payment(invoice.invoice_id, 10.0, code="200")]), summarize_errors=False).payments
    assert [p.status_attribute_string for p in batch] == ["OK", "ERROR", "ERROR"]
    assert batch[1].validation_errors[0].message == "Payment amount must be greater than zero"
    assert "bank accounts" in batch[2].validation_errors[0].message
    assert str(batch[1].payment_id) == "00000000-0000-0000-0000-000000000000"
    assert sdk.get_invoice(ADL, invoice.invoice_id).invoices[0].amount_paid == 100.0  # the valid one applied
    token = authorize(http)
    drafted = api(http, token, "PUT", "/Invoices", json=inv("CW-P4", Status="DRAFT")).json()["Invoices"][0]
    r = api(http, token, "PUT", "/Payments", json={"Payments": [
        {"Invoice": {"InvoiceID": drafted["InvoiceID"]}, "Account": {"Code": "090"}, "Amount": 5}]})
    assert r.status_code == 400 and "AUTHORISED" in r.json()["Elements"][0]["ValidationErrors"][0]["Message"]


def test_payments_if_modified_since_and_paging(sdk: Any, http: httpx.Client) -> None:
    from xero_python.accounting import Invoices, Payments

    invoice = sdk.create_invoices(ADL, Invoices(invoices=[_accrec("CW-P5")])).invoices[0]
    sdk.create_payments(ADL, Payments(payments=[_payment(invoice.invoice_id, 10.0, reference="a")]))
    time.sleep(0.02)
    mark = datetime.now(UTC)
    time.sleep(0.02)
    later = sdk.create_payments(ADL, Payments(payments=[_payment(invoice.invoice_id, 20.0, reference="b")]))
    recent = sdk.get_payments(ADL, if_modified_since=mark).payments
    assert [p.payment_id for p in recent] == [later.payments[0].payment_id]
    assert len(sdk.get_payments(ADL, order="Amount DESC", page=1, page_size=1).payments) == 1
    assert sdk.get_payments(ADL, order="Amount DESC").payments[0].amount == 20.0
    assert sdk.get_payments(ADL, where='PaymentType=="ACCPAYPAYMENT"').payments == []
    # The invoice moved too, so an invoice poller sees the payment.
    assert [i.invoice_id for i in sdk.get_invoices(ADL, if_modified_since=mark).invoices] == [invoice.invoice_id]


def test_overpayments_admin(sdk: Any, http: httpx.Client) -> None:
    contact_id = next(c["ContactID"] for c in state(http)["contacts"] if c["Name"] == "Acacia Dental Group")
    r = http.post("/_sandbox/overpayments", json={"tenant_id": ADL, "ContactID": contact_id, "Amount": 120.0,
                                                  "Date": "2026-11-03"})
    assert r.status_code == 200
    ops = sdk.get_overpayments(ADL).overpayments
    assert len(ops) == 1 and ops[0].remaining_credit == 120.0 and ops[0].contact.contact_id == contact_id
    assert ops[0].type == "RECEIVE-OVERPAYMENT" and ops[0].payments[0].amount == 120.0


# ---------------------------------------------------------------- items, tracking, reference data

def test_items_list_get_create_update(sdk: Any, http: httpx.Client) -> None:
    from xero_python.accounting import Item, Items, Purchase
    from xero_python.exceptions import AccountingBadRequestException

    items = sdk.get_items(ADL).items
    assert len(items) == len(demo.XERO_ITEMS) and {i.code for i in items} == {i["Code"] for i in demo.XERO_ITEMS}
    laptop = sdk.get_item(ADL, "LAP-DL5450").items[0]
    assert laptop.is_sold and laptop.is_purchased and laptop.sales_details.unit_price == 1899.0
    assert laptop.purchase_details.account_code == "310" and laptop.is_tracked_as_inventory is False
    mark = datetime.now(UTC)
    time.sleep(0.02)
    created = sdk.create_items(ADL, Items(items=[Item(code="DOCK-TB4", name="Thunderbolt 4 dock",
                                                      sales_details=Purchase(unit_price=389.0, account_code="220",
                                                                             tax_type="OUTPUT"))])).items[0]
    assert created.is_sold and not created.is_purchased
    with pytest.raises(AccountingBadRequestException) as exc:
        sdk.create_items(ADL, Items(items=[Item(code="DOCK-TB4", name="again")]))
    assert "already exists" in exc.value.error_data["Elements"][0]["ValidationErrors"][0]["Message"]
    sdk.update_or_create_items(ADL, Items(items=[Item(code="DOCK-TB4", name="TB4 dock (new)")]))
    assert {i.code for i in sdk.get_items(ADL, if_modified_since=mark).items} == {"DOCK-TB4"}
    assert sdk.get_items(ADL, where='Code=="DOCK-TB4"').items[0].name == "TB4 dock (new)"
    r = http.post("/_sandbox/items", json={"tenant_id": ADL, "Code": "MSP-ESS",
                                           "SalesDetails": {"UnitPrice": 69.0, "AccountCode": "210"}})
    assert r.status_code == 200 and r.json()["SalesDetails"]["UnitPrice"] == 69.0
    assert sdk.get_item(ADL, "MSP-ESS").items[0].sales_details.unit_price == 69.0


def test_tracking_categories_and_line_tracking(sdk: Any, http: httpx.Client) -> None:
    from xero_python.accounting import Contact, Invoice, Invoices, LineItem, LineItemTracking

    cats = sdk.get_tracking_categories(ADL).tracking_categories
    assert [c.name for c in cats] == ["Location"]
    assert [o.name for o in cats[0].options] == ["Adelaide", "Melbourne", "Perth"]
    with_archived = sdk.get_tracking_categories(ADL, include_archived=True).tracking_categories[0]
    assert [o.name for o in with_archived.options][-1] == "Darwin"
    one = sdk.get_tracking_category(ADL, cats[0].tracking_category_id).tracking_categories[0]
    perth = next(o for o in one.options if o.name == "Perth")

    def invoice(tracking: list[Any]) -> Any:
        return Invoice(type="ACCREC", contact=Contact(name="Acacia Dental Group"), status="AUTHORISED",
                       line_items=[LineItem(description="x", quantity=1.0, unit_amount=10.0, account_code="200",
                                            tax_type="OUTPUT", tracking=tracking)])
    res = sdk.create_invoices(ADL, Invoices(invoices=[
        invoice([LineItemTracking(name="Location", option="Adelaide")]),
        invoice([LineItemTracking(tracking_category_id=cats[0].tracking_category_id,
                                  tracking_option_id=perth.tracking_option_id)]),
        invoice([LineItemTracking(name="Location", option="Sydney")]),
        invoice([LineItemTracking(name="Location", option="Darwin")])]), summarize_errors=False).invoices
    assert [i.status_attribute_string for i in res] == ["OK", "OK", "ERROR", "ERROR"]
    assert res[1].line_items[0].tracking[0].option == "Perth"
    assert res[2].validation_errors[0].message == \
        "The TrackingOption 'Sydney' does not exist for TrackingCategory 'Location'."
    assert "archived" in res[3].validation_errors[0].message


def test_accounts_currencies_and_state(sdk: Any, http: httpx.Client) -> None:
    from xero_python.accounting import Invoices
    from xero_python.exceptions import AccountingBadRequestException

    accounts = {a.code: a for a in sdk.get_accounts(ADL).accounts}
    assert accounts["090"].bank_account_number and str(accounts["090"].status).endswith("ACTIVE")
    assert accounts["855"].enable_payments_to_account is True and accounts["200"].account_id
    assert http.post("/_sandbox/currencies", json={"tenant_id": ADL, "Code": "USD", "Description": "US Dollar"}
                     ).status_code == 200
    assert {str(c.code) for c in sdk.get_currencies(ADL).currencies} >= {"CurrencyCode.USD", "CurrencyCode.AUD"}
    http.post("/_sandbox/currencies", json={"tenant_id": ADL, "Code": "NZD", "enabled": False})
    from xero_python.accounting import CurrencyCode

    bill = _accrec("CW-FX1")
    bill.currency_code = CurrencyCode.NZD
    with pytest.raises(AccountingBadRequestException) as exc:
        sdk.create_invoices(ADL, Invoices(invoices=[bill]))
    assert "NZD" in exc.value.error_data["Elements"][0]["ValidationErrors"][0]["Message"]
    org = state(http)
    for key in ("bills", "payments", "items", "employees", "timesheets", "leave_applications",
                "tracking_categories"):
        assert key in org
    assert len(org["leave_applications"]) == 2 and len(org["employees"]) == 6


# ---------------------------------------------------------------- payroll AU

def test_payroll_employees_calendars_payitems_leave(payroll: Any, http: httpx.Client) -> None:
    from xero_python.payrollau import CalendarType, EmployeeStatus

    employees = payroll.get_employees(ADL).employees
    assert len(employees) == 6
    sarah = next(e for e in employees if e.email == "sarah.williams@demomsp.com.au")
    assert sarah.status == EmployeeStatus.ACTIVE and sarah.date_of_birth == date(1986, 3, 14)
    assert next(e for e in employees if e.last_name == "Brown").status == EmployeeStatus.TERMINATED
    assert payroll.get_employee(ADL, sarah.employee_id).employees[0].first_name == "Sarah"
    by_where = payroll.get_employees(ADL, where='Status=="ACTIVE"', page=1).employees
    assert len(by_where) == 5
    cals = {c.payroll_calendar_id: c for c in payroll.get_payroll_calendars(ADL).payroll_calendars}
    assert {c.calendar_type for c in cals.values()} == {CalendarType.WEEKLY, CalendarType.FORTNIGHTLY}
    assert cals[sarah.payroll_calendar_id].start_date == WEEKLY_START and WEEKLY_START.weekday() == 0
    assert payroll.get_payroll_calendar(ADL, sarah.payroll_calendar_id).payroll_calendars[0].name == "Weekly"
    items = payroll.get_pay_items(ADL).pay_items
    assert {r.name for r in items.earnings_rates} == {r["Name"] for r in demo.XERO_EARNINGS_RATES}
    assert {lt.name for lt in items.leave_types} == {lt["Name"] for lt in demo.XERO_LEAVE_TYPES}
    assert sarah.ordinary_earnings_rate_id in {r.earnings_rate_id for r in items.earnings_rates}
    leave = payroll.get_leave_applications(ADL).leave_applications
    assert len(leave) == 2 and leave[0].leave_periods and leave[0].leave_periods[0].number_of_units > 0
    assert payroll.get_leave_application(ADL, leave[0].leave_application_id).leave_applications[0].title
    # Matching CW members: most by email, one only by name, one with no employee, one inactive.
    emails = {e.email for e in employees}
    adl_members = [m for m in demo.CW_MEMBERS if m["defaultLocation"] == "adelaide"]
    assert sum(m["primaryEmail"] in emails for m in adl_members) == 4


def test_timesheet_rules(payroll: Any, http: httpx.Client) -> None:
    from xero_python.exceptions import BadRequestException
    from xero_python.payrollau import Timesheet, TimesheetLine, TimesheetStatus

    rates = {r.name: r.earnings_rate_id for r in payroll.get_pay_items(ADL).pay_items.earnings_rates}
    sarah = employee_id(http, "sarah.williams@demomsp.com.au")  # weekly
    emma = employee_id(http, "emma.kelly@demomsp.com.au")  # fortnightly
    start = WEEKLY_START + timedelta(weeks=10)
    location = state(http)["tracking_categories"][0]["Options"][0]["TrackingOptionID"]

    def sheet(emp: str, begin: date, days: int, rate: str = "Ordinary Hours", units: list[float] | None = None,
              **kw: Any) -> Any:
        return Timesheet(employee_id=emp, start_date=begin, end_date=begin + timedelta(days=days - 1),
                         timesheet_lines=[TimesheetLine(earnings_rate_id=rates.get(rate, rate),
                                                        number_of_units=units or [7.6] * 5 + [0.0] * (days - 5),
                                                        **kw)])

    batch = [sheet(sarah, start, 7, tracking_item_id=location), sheet(emma, start, 14)]
    created = payroll.create_timesheet(ADL, batch, idempotency_key="ts-batch-1").timesheets
    replay = payroll.create_timesheet(ADL, batch, idempotency_key="ts-batch-1").timesheets  # a retried POST
    assert [t.timesheet_id for t in replay] == [t.timesheet_id for t in created]
    assert [t.status for t in created] == [TimesheetStatus.DRAFT] * 2 and created[0].hours == 38.0
    assert created[1].hours == 38.0 + 9 * 0 and created[0].timesheet_lines[0].tracking_item_id == location
    got = payroll.get_timesheet(ADL, created[0].timesheet_id).timesheet
    assert got.start_date == start and got.end_date == start + timedelta(days=6)

    def errors_of(call: Any) -> list[str]:
        with pytest.raises(BadRequestException) as exc:
            call()
        assert type(exc.value) is BadRequestException  # Payroll AU has no subclass like the accounting one
        body = exc.value.error_data  # parsed with parse_float=Decimal
        assert body["ErrorNumber"] == 10 and body["Type"] == "ValidationException"
        return [m["Message"] for t in body["Timesheets"] for m in t.get("ValidationErrors", [])]

    # A period that is not one of the employee's pay periods (Emma is fortnightly; a week is not a period).
    assert errors_of(lambda: payroll.create_timesheet(ADL, [sheet(emma, start + timedelta(weeks=2), 7)])) == [
        "Provided period doesn't correspond with a pay period"]
    assert errors_of(lambda: payroll.create_timesheet(ADL, [sheet(sarah, start + timedelta(days=1), 7)])) == [
        "Provided period doesn't correspond with a pay period"]
    assert errors_of(lambda: payroll.create_timesheet(ADL, [sheet(sarah, start, 7)])) == [
        "Timesheet already exists for this period"]
    msgs = errors_of(lambda: payroll.create_timesheet(ADL, [sheet(sarah, start + timedelta(weeks=1), 7,
                                                                  rate="Allowance")]))
    assert msgs and "is not valid for timesheets" in msgs[0]
    msgs = errors_of(lambda: payroll.create_timesheet(ADL, [sheet(sarah, start + timedelta(weeks=1), 7,
                                                                  units=[8.0] * 5)]))
    assert "number of days" in msgs[0]
    msgs = errors_of(lambda: payroll.create_timesheet(ADL, [sheet("7a0ab0a5-1111-4d7f-9c4b-000000000000",
                                                                  start, 7)]))
    assert msgs[0].startswith("Invalid EmployeeID")
    # Re-POST of a DRAFT with its TimesheetID updates it in place.
    update = sheet(sarah, start, 7, units=[8.0] * 5 + [0.0, 0.0])
    update.timesheet_id = created[0].timesheet_id
    updated = payroll.update_timesheet(ADL, created[0].timesheet_id, [update]).timesheets[0]
    assert updated.timesheet_id == created[0].timesheet_id and updated.hours == 40.0
    resent = payroll.create_timesheet(ADL, [update]).timesheets[0]
    assert resent.timesheet_id == created[0].timesheet_id and len(state(http)["timesheets"]) == 2
    # Once a payroll officer approves it, it can no longer be changed.
    assert http.post(f"/_sandbox/timesheets/{created[0].timesheet_id}/status",
                     json={"Status": "APPROVED"}).json()["Status"] == "APPROVED"
    assert errors_of(lambda: payroll.create_timesheet(ADL, [update])) == [
        "Only timesheets in draft status can be updated"]
    drafts = payroll.get_timesheets(ADL, where='Status=="DRAFT"').timesheets
    assert [t.employee_id for t in drafts] == [emma]
    assert len(payroll.get_timesheets(ADL, where=f'EmployeeID==Guid("{sarah}")').timesheets) == 1


def test_payroll_if_modified_since_and_employee_writes(payroll: Any, http: httpx.Client) -> None:
    from xero_python.exceptions import BadRequestException
    from xero_python.payrollau import Employee, LeaveApplication

    sarah_calendar = payroll.get_employee(ADL, employee_id(http, "sarah.williams@demomsp.com.au")
                                          ).employees[0].payroll_calendar_id
    mark = datetime.now(UTC)
    time.sleep(0.02)
    assert payroll.get_employees(ADL, if_modified_since=mark).employees == []
    made = payroll.create_employee(ADL, [Employee(first_name="Jay", last_name="Patel", email="jay.patel@demomsp.com.au",
                                                  date_of_birth=date(1998, 2, 2), start_date=date(2026, 11, 2),
                                                  payroll_calendar_id=sarah_calendar)])
    new_id = made.employees[0].employee_id
    assert [e.employee_id for e in payroll.get_employees(ADL, if_modified_since=mark).employees] == [new_id]
    assert payroll.get_timesheets(ADL, if_modified_since=mark).timesheets == []
    payroll.update_employee(ADL, new_id, [Employee(first_name="Jay", last_name="Patel-Singh",
                                                   date_of_birth=date(1998, 2, 2))])
    assert payroll.get_employee(ADL, new_id).employees[0].last_name == "Patel-Singh"
    assert len(payroll.get_employees(MEL).employees) == 6  # per organisation
    annual = next(lt.leave_type_id for lt in payroll.get_pay_items(ADL).pay_items.leave_types
                  if lt.name == "Annual Leave")
    leave = payroll.create_leave_application(ADL, [LeaveApplication(
        employee_id=new_id, leave_type_id=annual, title="Holiday", start_date=date(2026, 12, 7),
        end_date=date(2026, 12, 11))]).leave_applications[0]
    assert sum(p.number_of_units for p in leave.leave_periods) == 38.0
    assert [a.leave_application_id for a in payroll.get_leave_applications(ADL, if_modified_since=mark)
            .leave_applications] == [leave.leave_application_id]
    with pytest.raises(BadRequestException) as exc:
        payroll.create_leave_application(ADL, [LeaveApplication(employee_id=new_id, leave_type_id=annual,
                                                                start_date=date(2026, 12, 7),
                                                                end_date=date(2026, 12, 1))])
    messages = [m["Message"] for m in exc.value.error_data["LeaveApplications"][0]["ValidationErrors"]]
    assert "Title is required" in messages


# ---------------------------------------------------------------- the official OpenAPI specs

@cache
def payroll_spec() -> Any:
    return _load_spec("xero-payroll-au.yaml")


def test_requests_and_responses_conform_to_the_specs(http: httpx.Client) -> None:
    token = authorize(http)
    spec = accounting_spec()
    invoice = api(http, token, "PUT", "/Invoices", json=inv("CW-SP1")).json()["Invoices"][0]
    put = api(http, token, "PUT", "/Payments", params={"summarizeErrors": "false"}, json={"Payments": [
        {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"}, "Amount": 10,
         "Date": "/Date(1763856000000)/"},
        {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"}, "Amount": 99999}]})
    assert put.status_code == 200
    validate(spec, put)
    validate(spec, api(http, token, "GET", "/Payments", params={"page": 1, "where": 'Status=="AUTHORISED"'}))
    validate(spec, api(http, token, "GET", f"/Payments/{put.json()['Payments'][0]['PaymentID']}"))
    validate(spec, api(http, token, "GET", "/Items"))
    validate(spec, api(http, token, "GET", "/TrackingCategories", params={"includeArchived": "true"}))
    pspec = payroll_spec()
    for path in ("/Employees", "/PayItems", "/PayrollCalendars", "/LeaveApplications", "/Timesheets"):
        validate(pspec, papi(http, token, "GET", path))
    sarah = employee_id(http, "sarah.williams@demomsp.com.au")
    rates = papi(http, token, "GET", "/PayItems").json()["PayItems"]["EarningsRates"]
    ordinary = next(r["EarningsRateID"] for r in rates if r["Name"] == "Ordinary Hours")
    start = WEEKLY_START + timedelta(weeks=3)
    ms = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp() * 1000)
    body = [{"EmployeeID": sarah, "StartDate": f"/Date({ms})/", "EndDate": f"/Date({ms + 6 * 86400000})/",
             "Status": "DRAFT", "TimesheetLines": [{"EarningsRateID": ordinary, "NumberOfUnits": [8.0] * 5 + [0, 0]}]}]
    created = papi(http, token, "POST", "/Timesheets", json=body)
    assert created.status_code == 200
    validate(pspec, created)
    # Spec quirk: GET /Timesheets/{id} answers a TimesheetObject ({"Timesheet": {...}}), not a list.
    validate(pspec, papi(http, token, "GET", f"/Timesheets/{created.json()['Timesheets'][0]['TimesheetID']}"))
    # Spec quirk: POST 400s are "invalid input, object invalid - TODO" with no schema; ours is the APIException
    # shape plus the rejected elements, which is what Xero sends.
    bad = papi(http, token, "POST", "/Timesheets", json=body)
    assert bad.status_code == 400 and bad.json()["Timesheets"][0]["ValidationErrors"]
    validate(pspec, bad)


def test_payroll_auth_and_limits_apply(http: httpx.Client, url: str) -> None:
    token = authorize(http)
    assert papi(http, token, "GET", "/Employees", tenant="nope").status_code == 403
    assert http.get("/payroll.xro/1.0/Employees", headers={"Xero-Tenant-Id": ADL}).status_code == 401
    r = papi(http, token, "GET", "/Employees")
    assert r.status_code == 200 and "X-MinLimit-Remaining" in r.headers


def test_lock_dates_refuse_documents_in_locked_periods(http: httpx.Client) -> None:
    """An adviser's lock dates: an invoice or bill dated on or before one is refused with Xero's message; a draft
    passes; the organisation shows the dates; clearing them lets the same document in."""
    token = base.authorize(http)
    assert http.post("/_sandbox/lock_dates", json={"tenant_id": ADL, "PeriodLockDate": "2026-01-31"}
                     ).json()["PeriodLockDate"] == "2026-01-31"
    locked = inv("LOCK-1", Date="2026-01-31")
    r = api(http, token, "PUT", "/Invoices", json={"Invoices": [locked, inv("LOCK-2", Date="2026-02-01"),
                                                                inv("LOCK-3", Date="2026-01-15", Status="DRAFT")]},
            params={"summarizeErrors": "false"})
    results = r.json()["Invoices"]
    assert [i["StatusAttributeString"] for i in results] == ["ERROR", "OK", "OK"]
    assert results[0]["ValidationErrors"][0]["Message"] == (
        "The document date cannot be before the period lock date, currently set at 31-Jan-2026")
    org = api(http, token, "GET", "/Organisation").json()["Organisations"][0]
    assert org["PeriodLockDate"].startswith("/Date(") and "EndOfYearLockDate" not in org
    http.post("/_sandbox/lock_dates", json={"tenant_id": ADL, "EndOfYearLockDate": "2025-06-30"})
    bill = inv(None, kind="ACCPAY", contact={"Name": "Dicker Data"}, Date="2025-06-30", Reference="B-1")
    r = api(http, token, "PUT", "/Invoices", json={"Invoices": [bill]}, params={"summarizeErrors": "false"})
    assert "end of year lock date, currently set at 30-Jun-2025" in r.json()["Invoices"][0]["ValidationErrors"][0][
        "Message"]
    http.post("/_sandbox/lock_dates", json={"tenant_id": ADL, "PeriodLockDate": None, "EndOfYearLockDate": None})
    r = api(http, token, "PUT", "/Invoices", json={"Invoices": [locked]}, params={"summarizeErrors": "false"})
    assert r.json()["Invoices"][0]["StatusAttributeString"] == "OK"
    assert http.post("/_sandbox/lock_dates", json={"tenant_id": ADL, "PeriodLockDate": "31/01/2026"}
                     ).status_code == 400
