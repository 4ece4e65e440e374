"""Payroll AU (``/payroll.xro/1.0``): employees, payroll calendars, pay items, leave applications and timesheets.

The shapes follow xero-payroll-au.yaml: request bodies are top-level JSON arrays, responses are envelopes whose
collection is a list except ``PayItems`` (an object of four lists) and ``GET /Timesheets/{id}`` (a single
``Timesheet`` object), every date is MS-JSON, and errors are ``APIException {ErrorNumber, Type, Message}``.

Timesheets carry the rules the product trips over in real life: a timesheet must cover exactly one pay period of
the employee's payroll calendar with one NumberOfUnits entry per day, its earnings rates must be usable on
timesheets, there is one timesheet per employee and period, and only DRAFT timesheets can be changed. Payroll AU
has no summarizeErrors: a batch with any invalid element is rejected whole (nothing saved) and the 400 lists every
element, the failed ones with their ValidationErrors.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from cz_sandbox import demo
from cz_sandbox.xero_accounting import _EMAIL_RE, SEED_TIME, Org, find_tracking_option, stable_id
from cz_sandbox.xero_formats import Clock, ms_date, num, parse_date_in, to_decimal
from cz_sandbox.xero_where import compile_where, sort_docs

PAYROLL_PAGE = 100
PERIOD_DAYS = {"WEEKLY": 7, "FORTNIGHTLY": 14, "FOURWEEKLY": 28}
TIMESHEET_STATUSES = ("DRAFT", "PROCESSED", "APPROVED", "REJECTED", "REQUESTED")
PERIOD_MISMATCH = "Provided period doesn't correspond with a pay period"
NOT_DRAFT = "Only timesheets in draft status can be updated"
ALREADY_EXISTS = "Timesheet already exists for this period"
NOT_FOUND = {"Title": "Not Found", "Status": 404, "Detail": "The resource you're looking for cannot be found"}


@dataclass
class Payroll:
    """One organisation's Payroll AU data, seeded from demo.py."""

    calendars: dict[str, dict[str, Any]] = field(default_factory=dict)
    earnings_rates: dict[str, dict[str, Any]] = field(default_factory=dict)
    leave_types: dict[str, dict[str, Any]] = field(default_factory=dict)
    employees: dict[str, dict[str, Any]] = field(default_factory=dict)
    leave_applications: dict[str, dict[str, Any]] = field(default_factory=dict)
    timesheets: dict[str, dict[str, Any]] = field(default_factory=dict)


class PayrollError(Exception):
    """An element failed validation; ``messages`` become its ValidationErrors."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def _d(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def seed_payroll(org: Org, slug: str | None) -> Payroll:
    """Calendars, pay items, the location's employees and leave applications; no timesheets."""
    pr = Payroll()
    tid = org.tenant_id
    for cal in demo.XERO_PAYROLL_CALENDARS:
        cid = stable_id(tid, "payroll-calendar", cal["Name"])
        pr.calendars[cid] = {"PayrollCalendarID": cid, "Name": cal["Name"], "CalendarType": cal["CalendarType"],
                             "StartDate": _d(cal["StartDate"]), "PaymentDate": _d(cal["PaymentDate"]),
                             "UpdatedDateUTC": SEED_TIME}
    for rate in demo.XERO_EARNINGS_RATES:
        rid = stable_id(tid, "earnings-rate", rate["Name"])
        pr.earnings_rates[rid] = {**rate, "EarningsRateID": rid, "UpdatedDateUTC": SEED_TIME}
    for leave in demo.XERO_LEAVE_TYPES:
        lid = stable_id(tid, "leave-type", leave["Name"])
        pr.leave_types[lid] = {**leave, "LeaveTypeID": lid, "UpdatedDateUTC": SEED_TIME}
    calendars = {c["Name"]: c["PayrollCalendarID"] for c in pr.calendars.values()}
    ordinary = stable_id(tid, "earnings-rate", "Ordinary Hours")
    for emp in demo.XERO_EMPLOYEES.get(slug or "", []):
        eid = stable_id(tid, "employee", emp["Email"])
        pr.employees[eid] = {
            "EmployeeID": eid, "FirstName": emp["FirstName"], "LastName": emp["LastName"], "Email": emp["Email"],
            "DateOfBirth": _d(emp["DateOfBirth"]), "StartDate": _d(emp["StartDate"]),
            "Status": emp.get("Status", "ACTIVE"), "TerminationDate": _d(emp.get("TerminationDate")),
            "JobTitle": emp.get("JobTitle"), "PayrollCalendarID": calendars[emp["Calendar"]],
            "OrdinaryEarningsRateID": ordinary, "EmployeeGroupName": org.name, "UpdatedDateUTC": SEED_TIME,
        }
    leave_ids = {lt["Name"]: lt["LeaveTypeID"] for lt in pr.leave_types.values()}
    for email, leave_name, start, end, title, hours in demo.XERO_LEAVE_APPLICATIONS.get(slug or "", []):
        eid = stable_id(tid, "employee", email)
        aid = stable_id(tid, "leave-application", email, start)
        doc = {"LeaveApplicationID": aid, "EmployeeID": eid, "LeaveTypeID": leave_ids[leave_name], "Title": title,
               "StartDate": _d(start), "EndDate": _d(end), "Description": None, "PayOutType": "DEFAULT",
               "UpdatedDateUTC": SEED_TIME}
        doc["LeavePeriods"] = _leave_periods(pr, pr.employees[eid], doc["StartDate"], doc["EndDate"],
                                             Decimal(str(hours)))
        pr.leave_applications[aid] = doc
    return pr


# ---------------------------------------------------------------- pay periods

def pay_period(calendar: dict[str, Any], start: date) -> tuple[date, date] | None:
    """The calendar's pay period that starts exactly on ``start``, or None."""
    days = PERIOD_DAYS.get(calendar["CalendarType"])
    if days is None:
        if calendar["CalendarType"] == "MONTHLY" and start.day == calendar["StartDate"].day:
            nxt = (start.replace(day=1) + timedelta(days=32)).replace(day=start.day)
            return start, nxt - timedelta(days=1)
        return None
    offset = (start - calendar["StartDate"]).days
    if offset < 0 or offset % days:
        return None
    return start, start + timedelta(days=days - 1)


def period_containing(calendar: dict[str, Any], day: date) -> tuple[date, date]:
    days = PERIOD_DAYS.get(calendar["CalendarType"], 7)
    k = (day - calendar["StartDate"]).days // days
    start = calendar["StartDate"] + timedelta(days=k * days)
    return start, start + timedelta(days=days - 1)


def _leave_periods(pr: Payroll, employee: dict[str, Any], start: date, end: date,
                   hours: Decimal | None) -> list[dict[str, Any]]:
    """Split a leave application over the employee's pay periods, hours spread over weekdays."""
    calendar = pr.calendars[employee["PayrollCalendarID"]]
    weekdays = [start + timedelta(days=i) for i in range((end - start).days + 1)
                if (start + timedelta(days=i)).weekday() < 5] or [start]
    per_day = (hours if hours is not None else Decimal("7.6") * len(weekdays)) / len(weekdays)
    periods: dict[tuple[date, date], Decimal] = {}
    for day in weekdays:
        key = period_containing(calendar, day)
        periods[key] = periods.get(key, Decimal(0)) + per_day
    return [{"PayPeriodStartDate": k[0], "PayPeriodEndDate": k[1], "LeavePeriodStatus": "SCHEDULED",
             "NumberOfUnits": v.quantize(Decimal("0.0001"))} for k, v in sorted(periods.items())]


# ---------------------------------------------------------------- rendering

def _dates(doc: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: ms_date(doc[k]) for k in keys if doc.get(k) is not None}


def render_employee(doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"EmployeeID": doc["EmployeeID"], "FirstName": doc.get("FirstName"),
                           "LastName": doc.get("LastName"), "Status": doc.get("Status")}
    for key in ("Email", "JobTitle", "EmployeeGroupName", "PayrollCalendarID", "OrdinaryEarningsRateID"):
        if doc.get(key):
            out[key] = doc[key]
    out.update(_dates(doc, ("DateOfBirth", "StartDate", "TerminationDate", "UpdatedDateUTC")))
    out.update({"IsAuthorisedToApproveLeave": False, "IsAuthorisedToApproveTimesheets": False})
    return out


def render_calendar(doc: dict[str, Any]) -> dict[str, Any]:
    return {"PayrollCalendarID": doc["PayrollCalendarID"], "Name": doc["Name"], "CalendarType": doc["CalendarType"],
            **_dates(doc, ("StartDate", "PaymentDate", "UpdatedDateUTC"))}


def render_earnings_rate(doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"EarningsRateID": doc["EarningsRateID"], "Name": doc["Name"],
                           "AccountCode": doc.get("AccountCode"), "EarningsType": doc["EarningsType"],
                           "RateType": doc["RateType"]}
    if doc.get("TypeOfUnits"):
        out["TypeOfUnits"] = doc["TypeOfUnits"]
    if doc.get("Multiplier") is not None:
        out["Multiplier"] = doc["Multiplier"]
    if doc.get("Amount") is not None:
        out["Amount"] = doc["Amount"]
    out.update({"IsExemptFromTax": False, "IsExemptFromSuper": doc["EarningsType"] == "ALLOWANCE",
                "IsReportableAsW1": True, "AccrueLeave": doc["EarningsType"] == "ORDINARYTIMEEARNINGS",
                "IsQualifyingEarnings": doc["EarningsType"] != "ALLOWANCE", "CurrentRecord": True,
                "UpdatedDateUTC": ms_date(doc["UpdatedDateUTC"])})
    return out


def render_leave_type(doc: dict[str, Any]) -> dict[str, Any]:
    return {"LeaveTypeID": doc["LeaveTypeID"], "Name": doc["Name"], "TypeOfUnits": "Hours",
            "NormalEntitlement": doc["NormalEntitlement"], "LeaveLoadingRate": doc["LeaveLoadingRate"],
            "IsPaidLeave": True, "ShowOnPayslip": True, "CurrentRecord": True,
            "LeaveCategoryCode": doc["LeaveCategoryCode"], "IsQualifyingEarnings": False,
            "UpdatedDateUTC": ms_date(doc["UpdatedDateUTC"])}


def render_leave_application(doc: dict[str, Any]) -> dict[str, Any]:
    out = {"LeaveApplicationID": doc["LeaveApplicationID"], "EmployeeID": doc.get("EmployeeID"),
           "LeaveTypeID": doc.get("LeaveTypeID"), "Title": doc.get("Title"),
           **_dates(doc, ("StartDate", "EndDate")), "PayOutType": doc.get("PayOutType") or "DEFAULT",
           "LeavePeriods": [{"PayPeriodStartDate": ms_date(p["PayPeriodStartDate"]),
                             "PayPeriodEndDate": ms_date(p["PayPeriodEndDate"]),
                             "LeavePeriodStatus": p["LeavePeriodStatus"], "NumberOfUnits": num(p["NumberOfUnits"])}
                            for p in doc["LeavePeriods"]],
           "UpdatedDateUTC": ms_date(doc.get("UpdatedDateUTC"))}
    if doc.get("Description"):
        out["Description"] = doc["Description"]
    return out


def render_timesheet(doc: dict[str, Any]) -> dict[str, Any]:
    lines = []
    for line in doc["TimesheetLines"]:
        out_line: dict[str, Any] = {"EarningsRateID": line["EarningsRateID"]}
        if line.get("TrackingItemID"):
            out_line["TrackingItemID"] = line["TrackingItemID"]
        out_line["NumberOfUnits"] = [num(u) for u in line["NumberOfUnits"]]
        if line.get("UpdatedDateUTC") is not None:
            out_line["UpdatedDateUTC"] = ms_date(line["UpdatedDateUTC"])
        lines.append(out_line)
    out: dict[str, Any] = {"EmployeeID": doc.get("EmployeeID"), **_dates(doc, ("StartDate", "EndDate")),
                           "Status": doc["Status"], "Hours": num(doc["Hours"]), "TimesheetID": doc["TimesheetID"],
                           "TimesheetLines": lines}
    if doc.get("UpdatedDateUTC") is not None:
        out["UpdatedDateUTC"] = ms_date(doc["UpdatedDateUTC"])
    return out


# ---------------------------------------------------------------- writes

def _parse_date(element: dict[str, Any], key: str, errors: list[str], required: bool) -> date | None:
    try:
        value = parse_date_in(element.get(key))
    except ValueError as exc:
        errors.append(str(exc))
        return None
    if value is None and required:
        errors.append(f"{key} is required")
    return value


def save_timesheet(org: Org, pr: Payroll, element: Any, now: datetime, path_id: str | None = None
                   ) -> tuple[dict[str, Any], list[str]]:
    """Validate one timesheet; return (candidate, errors). Committing is the caller's (all-or-nothing) job."""
    if not isinstance(element, dict):
        return {"TimesheetID": None, "Status": "DRAFT", "Hours": Decimal(0), "TimesheetLines": []}, \
            ["A timesheet must be a JSON object."]
    errors: list[str] = []
    ts_id = path_id or element.get("TimesheetID")
    existing = None
    if ts_id:
        existing = pr.timesheets.get(str(ts_id).lower())
        if existing is None:
            errors.append(f"Timesheet with TimesheetID {ts_id} could not be found")
        elif existing["Status"] != "DRAFT":
            errors.append(NOT_DRAFT)
    emp_id = str(element.get("EmployeeID") or (existing or {}).get("EmployeeID") or "").lower()
    employee = pr.employees.get(emp_id)
    if employee is None:
        errors.append(f"Invalid EmployeeID {element.get('EmployeeID') or ''}".strip())
    start = _parse_date(element, "StartDate", errors, required=existing is None)
    end = _parse_date(element, "EndDate", errors, required=existing is None)
    start = start or (existing or {}).get("StartDate")
    end = end or (existing or {}).get("EndDate")
    status = str(element.get("Status") or (existing or {}).get("Status") or "DRAFT").upper()
    if status not in ("DRAFT", "APPROVED"):
        errors.append(f"Timesheet status '{status}' cannot be set through the API")
    days = None
    if employee is not None and start and end:
        calendar = pr.calendars.get(employee.get("PayrollCalendarID") or "")
        period = pay_period(calendar, start) if calendar else None
        if period is None or period[1] != end:
            errors.append(PERIOD_MISMATCH)
        else:
            days = (end - start).days + 1
            clash = next((t for t in pr.timesheets.values() if t["EmployeeID"] == emp_id and t["StartDate"] == start
                          and t["TimesheetID"] != (existing or {}).get("TimesheetID")), None)
            if clash is not None:
                errors.append(ALREADY_EXISTS)
    lines: list[dict[str, Any]] = []
    raw_lines = element.get("TimesheetLines")
    if raw_lines is None and existing is not None:
        lines = existing["TimesheetLines"]
    elif not isinstance(raw_lines, list | None):
        errors.append("TimesheetLines must be a list")
    else:
        for raw in raw_lines or []:
            if not isinstance(raw, dict):
                errors.append("A timesheet line must be a JSON object")
                continue
            rate_id = str(raw.get("EarningsRateID") or "").lower()
            rate = pr.earnings_rates.get(rate_id)
            if rate is None or rate["RateType"] == "FIXEDAMOUNT" or rate.get("TypeOfUnits") != "Hours":
                errors.append(f"Earnings Rate {raw.get('EarningsRateID')} does not exist or is not valid for "
                              "timesheets.")
            tracking = raw.get("TrackingItemID")
            if tracking:
                found = find_tracking_option(org, str(tracking))
                if found is None or found[1]["Status"] != "ACTIVE":
                    errors.append(f"TrackingItemID {tracking} does not exist or has been archived.")
            units_raw = raw.get("NumberOfUnits") or []
            if not isinstance(units_raw, list):
                errors.append("NumberOfUnits must be a list with one number per day")
                units_raw = []
            try:
                units = [to_decimal(u, "NumberOfUnits") for u in units_raw]
            except ValueError as exc:
                errors.append(str(exc))
                units = []
            if days is not None and len(units) != days:
                errors.append(f"The number of units ({len(units)}) must match the number of days in the "
                              f"timesheet period ({days})")
            if any(u < 0 or u > 24 for u in units):
                errors.append("NumberOfUnits must be between 0 and 24 for each day")
            lines.append({"EarningsRateID": rate_id, "TrackingItemID": str(tracking).lower() if tracking else None,
                          "NumberOfUnits": units, "UpdatedDateUTC": now})
    candidate = {"TimesheetID": existing["TimesheetID"] if existing else str(uuid.uuid4()), "EmployeeID": emp_id,
                 "StartDate": start, "EndDate": end, "Status": status, "TimesheetLines": lines,
                 "Hours": sum((u for ln in lines for u in ln["NumberOfUnits"]), Decimal(0)),
                 "UpdatedDateUTC": now}
    return candidate, errors


def save_employee(pr: Payroll, element: Any, now: datetime, path_id: str | None = None
                  ) -> tuple[dict[str, Any], list[str]]:
    if not isinstance(element, dict):
        return {"EmployeeID": None, "FirstName": None, "LastName": None, "Status": "ACTIVE"}, \
            ["An employee must be a JSON object."]
    errors: list[str] = []
    emp_id = path_id or element.get("EmployeeID")
    existing = pr.employees.get(str(emp_id).lower()) if emp_id else None
    if emp_id and existing is None:
        errors.append(f"Invalid EmployeeID {emp_id}")
    doc = dict(existing) if existing else {"EmployeeID": str(uuid.uuid4()), "Status": "ACTIVE",
                                           "EmployeeGroupName": None, "UpdatedDateUTC": now}
    for key in ("FirstName", "LastName", "Email", "JobTitle", "EmployeeGroupName", "Status"):
        if element.get(key) is not None:
            doc[key] = element[key]
    for key in ("DateOfBirth", "StartDate", "TerminationDate"):
        if key in element:
            doc[key] = _parse_date(element, key, errors, required=False)
    for key in ("PayrollCalendarID", "OrdinaryEarningsRateID"):
        if element.get(key):
            doc[key] = str(element[key]).lower()
    for key, label in (("FirstName", "First Name"), ("LastName", "Last Name")):
        if not doc.get(key):
            errors.append(f"The {label} is required.")
    if not doc.get("DateOfBirth"):
        errors.append("The Date of Birth is required.")
    if doc.get("Email") and not _EMAIL_RE.match(str(doc["Email"])):
        errors.append("The Email is not a valid email address.")
    if doc.get("Status") not in ("ACTIVE", "TERMINATED"):
        errors.append(f"Status '{doc.get('Status')}' is not valid.")
    if doc.get("PayrollCalendarID") and doc["PayrollCalendarID"] not in pr.calendars:
        errors.append(f"PayrollCalendarID {doc['PayrollCalendarID']} does not exist.")
    if doc.get("OrdinaryEarningsRateID") and doc["OrdinaryEarningsRateID"] not in pr.earnings_rates:
        errors.append(f"Earnings Rate {doc['OrdinaryEarningsRateID']} does not exist.")
    doc["UpdatedDateUTC"] = now
    return doc, errors


def save_leave_application(pr: Payroll, element: Any, now: datetime, path_id: str | None = None
                           ) -> tuple[dict[str, Any], list[str]]:
    if not isinstance(element, dict):
        return {"LeaveApplicationID": None, "LeavePeriods": []}, ["A leave application must be a JSON object."]
    errors: list[str] = []
    app_id = path_id or element.get("LeaveApplicationID")
    existing = pr.leave_applications.get(str(app_id).lower()) if app_id else None
    if app_id and existing is None:
        errors.append(f"Leave application {app_id} could not be found")
    doc = dict(existing) if existing else {"LeaveApplicationID": str(uuid.uuid4()), "PayOutType": "DEFAULT",
                                           "Description": None, "LeavePeriods": []}
    for key in ("Title", "Description", "PayOutType"):
        if element.get(key) is not None:
            doc[key] = element[key]
    for key in ("EmployeeID", "LeaveTypeID"):
        if element.get(key):
            doc[key] = str(element[key]).lower()
    for key in ("StartDate", "EndDate"):
        value = _parse_date(element, key, errors, required=existing is None)
        if value is not None:
            doc[key] = value
    employee = pr.employees.get(doc.get("EmployeeID") or "")
    if employee is None:
        errors.append(f"Invalid EmployeeID {element.get('EmployeeID') or ''}".strip())
    if doc.get("LeaveTypeID") not in pr.leave_types:
        errors.append(f"Leave type {element.get('LeaveTypeID')} does not exist.")
    if not doc.get("Title"):
        errors.append("Title is required")
    if doc.get("StartDate") and doc.get("EndDate") and doc["EndDate"] < doc["StartDate"]:
        errors.append("The end date must be on or after the start date")
    if employee is not None and employee.get("PayrollCalendarID") not in pr.calendars:
        errors.append("The employee must be assigned a payroll calendar before leave can be applied for")
    if not errors and employee is not None:
        hours = None
        raw_periods = element.get("LeavePeriods")
        if isinstance(raw_periods, list) and raw_periods:
            try:
                hours = sum((to_decimal(p.get("NumberOfUnits") or 0, "NumberOfUnits") for p in raw_periods),
                            Decimal(0))
            except (ValueError, AttributeError) as exc:
                errors.append(str(exc))
        if not errors:
            doc["LeavePeriods"] = _leave_periods(pr, employee, doc["StartDate"], doc["EndDate"], hours)
    doc["UpdatedDateUTC"] = now
    return doc, errors


# ---------------------------------------------------------------- the HTTP surface

def _list(docs: list[dict[str, Any]], q: Any, since: datetime | None, order_fields: set[str],
          view: Any = None) -> list[dict[str, Any]]:
    where = compile_where(q.get("where"))
    out = [d for d in docs if (since is None or d["UpdatedDateUTC"] >= since) and where(view(d) if view else d)]
    out = sort_docs(out, q.get("order"), order_fields)
    if q.get("page"):
        try:
            page = max(1, int(q["page"]))
        except ValueError:
            raise ValueError("page must be an integer") from None
        out = out[(page - 1) * PAYROLL_PAGE: page * PAYROLL_PAGE]
    return out


def validation_exception(collection: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
            collection: elements}


class PayrollApi:
    """Routes one Payroll AU request for one organisation; returns (status, body) for the envelope wrapper."""

    def __init__(self, org: Org, clock: Clock, envelope: Any):
        self.org = org
        self.pr: Payroll = org.payroll
        self.clock = clock
        self.envelope = envelope

    def handle(self, method: str, parts: list[str], q: Any, since: datetime | None, payload: Any
               ) -> tuple[int, Any]:
        resource = parts[0].lower() if parts else ""
        key = parts[1].lower() if len(parts) > 1 else None
        if method == "GET":
            return self._get(resource, key, q, since)
        if method != "POST":
            return 405, {"Title": "Method Not Allowed", "Status": 405}
        if resource == "timesheets":
            return self._write("Timesheets", payload, key, lambda e, now, k: save_timesheet(
                self.org, self.pr, e, now, k), self.pr.timesheets, "TimesheetID", render_timesheet)
        if resource == "employees":
            return self._write("Employees", payload, key, lambda e, now, k: save_employee(self.pr, e, now, k),
                               self.pr.employees, "EmployeeID", render_employee)
        if resource == "leaveapplications" and (len(parts) < 3):
            return self._write("LeaveApplications", payload, key,
                               lambda e, now, k: save_leave_application(self.pr, e, now, k),
                               self.pr.leave_applications, "LeaveApplicationID", render_leave_application)
        return 404, NOT_FOUND

    def _write(self, collection: str, payload: Any, path_id: str | None, save: Any, store: dict[str, Any],
               id_key: str, render: Any) -> tuple[int, Any]:
        if isinstance(payload, dict):
            payload = [payload]
        if not isinstance(payload, list) or not payload:
            return 400, {"ErrorNumber": 14, "Type": "PostDataInvalidException",
                         "Message": "The request body must be a non-empty JSON array"}
        now = self.clock.now()
        before = dict(store)
        results: list[tuple[dict[str, Any], list[str]]] = []
        for element in payload:
            candidate, errors = save(element, now, path_id)
            # Elements of one batch see each other (two timesheets for one period in one batch clash).
            if not errors:
                store[candidate[id_key]] = candidate
            results.append((candidate, errors))
        if any(errors for _, errors in results):
            store.clear()
            store.update(before)
            body = []
            for candidate, errors in results:
                out = render(candidate) if candidate.get(id_key) else {}
                if errors:
                    out.pop("UpdatedDateUTC", None)
                    out["ValidationErrors"] = [{"Message": m} for m in errors]
                body.append(out)
            return 400, validation_exception(collection, body)
        return 200, self.envelope(collection, [render(c) for c, _ in results])

    def _get(self, resource: str, key: str | None, q: Any, since: datetime | None) -> tuple[int, Any]:
        pr = self.pr
        if resource == "employees":
            if key:
                doc = pr.employees.get(key)
                return (200, self.envelope("Employees", [render_employee(doc)])) if doc else (404, NOT_FOUND)
            docs = _list(list(pr.employees.values()), q, since,
                         {"firstname", "lastname", "updateddateutc", "email", "status", "employeeid"})
            return 200, self.envelope("Employees", [render_employee(d) for d in docs])
        if resource == "timesheets":
            if key:
                doc = pr.timesheets.get(key)
                return (200, self.envelope("Timesheet", render_timesheet(doc))) if doc else (404, NOT_FOUND)
            docs = _list(list(pr.timesheets.values()), q, since,
                         {"startdate", "enddate", "updateddateutc", "status", "employeeid", "timesheetid"})
            return 200, self.envelope("Timesheets", [render_timesheet(d) for d in docs])
        if resource == "payrollcalendars":
            if key:
                doc = pr.calendars.get(key)
                return (200, self.envelope("PayrollCalendars", [render_calendar(doc)])) if doc else (404, NOT_FOUND)
            docs = _list(list(pr.calendars.values()), q, since, {"name", "startdate", "updateddateutc"})
            return 200, self.envelope("PayrollCalendars", [render_calendar(d) for d in docs])
        if resource == "leaveapplications":
            if key and key != "v2":
                doc = pr.leave_applications.get(key)
                return (200, self.envelope("LeaveApplications", [render_leave_application(doc)])) if doc \
                    else (404, NOT_FOUND)
            docs = _list(list(pr.leave_applications.values()), q, since,
                         {"startdate", "enddate", "updateddateutc", "employeeid", "title"})
            return 200, self.envelope("LeaveApplications", [render_leave_application(d) for d in docs])
        if resource == "payitems" and not key:
            rates = _list(list(pr.earnings_rates.values()), q, since, {"name", "updateddateutc"})
            leave = _list(list(pr.leave_types.values()), q, since, {"name", "updateddateutc"})
            return 200, self.envelope("PayItems", {
                "EarningsRates": [render_earnings_rate(r) for r in rates], "DeductionTypes": [],
                "LeaveTypes": [render_leave_type(lt) for lt in leave], "ReimbursementTypes": []})
        return 404, NOT_FOUND


def set_timesheet_status(org: Org, timesheet_id: str, status: str, clock: Clock) -> dict[str, Any] | None:
    """Admin: what a payroll officer does in Xero's UI (approve, or process in a pay run)."""
    doc = org.payroll.timesheets.get(timesheet_id.lower()) if org.payroll else None
    if doc is None or status not in TIMESHEET_STATUSES:
        return None
    doc["Status"] = status
    doc["UpdatedDateUTC"] = clock.now()
    return doc

