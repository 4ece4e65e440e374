"""``xero/timesheets``: approved ConnectWise time entries -> one DRAFT Xero Payroll AU timesheet per employee
per pay period of that employee's payroll calendar; hours per day per earnings rate (work type -> earnings
rate mapping, else the employee's ordinary rate), tracked by location; re-runs update the same DRAFT."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from dagster import AssetKey
from xero_python.api_client.serializer import serialize

from cz_dagster.assets.common import FlowOutcome, SyncScope, connectwise, md_table, writer_asset, xero
from cz_dagster.assets.staff import MEMBER_KIND, STAFF_KEY
from cz_dagster.resources import ConnectWiseResource, XeroResource
from cz_dagster.resources.xero import XeroApiError, XeroClient, reads, writes
from cz_dagster.store.ledger import Ledger
from cz_dagster.store.mappings import Mappings
from cz_dagster.sync.enums import enum_name
from cz_dagster.sync.hashing import chunked, stable_hash
from cz_dagster.sync.timesheets import (
    DEFAULT_PAYROLL_STATUSES,
    Calendar,
    PeriodError,
    Row,
    comparable,
    entry_day,
    entry_hours,
    grid,
)
from cz_dagster.sync.vocabulary import LOCATION_TRACKING_OPTION, WORK_TYPE_EARNINGS_RATE, Surface

TIMESHEETS_KEY = AssetKey(["xero", "timesheets"])
LOOKBACK_DAYS = 35


def ms_date(d: date) -> str:
    return f"/Date({int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000)}+0000)/"


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    if text.startswith("/Date("):
        ms = int(text[6:].split("+")[0].split("-")[0].rstrip(")/"))
        return datetime.fromtimestamp(ms / 1000, UTC).date()
    return date.fromisoformat(text[:10])


def _element_errors(exc: XeroApiError, n: int) -> list[str | None]:
    """Each sent timesheet's own validation messages (Xero answers the elements in the order sent)."""
    data = exc.data if isinstance(exc.data, dict) else {}
    elements = data.get("Timesheets") if isinstance(data.get("Timesheets"), list) else []
    out: list[str | None] = []
    for i in range(n):
        element = elements[i] if i < len(elements) and isinstance(elements[i], dict) else {}
        messages = [v.get("Message") for v in element.get("ValidationErrors") or [] if isinstance(v, dict)]
        out.append("; ".join(m for m in messages if m) or None)
    return out


def _errors_of(exc: XeroApiError) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    messages = [v.get("Message") for t in data.get("Timesheets") or [] for v in t.get("ValidationErrors") or []]
    return "; ".join(m for m in messages if m) or data.get("Message") or str(exc)


class TimesheetSync:
    def __init__(self, scope: SyncScope, cw_res: ConnectWiseResource, xero_res: XeroResource, log: Any,
                 today: date | None = None):
        self.scope, self.cw_res, self.xero_res, self.log = scope, cw_res, xero_res, log
        self.today = today or datetime.now(UTC).date()
        t, loc = scope.tenant.slug, scope.location.slug
        self.ledger = Ledger(scope.store, t, loc, Surface.TIMESHEETS, scope.run_id)
        self.errors: dict[tuple[str, str], str] = {}
        self.counts = {"entries": 0, "created": 0, "updated": 0, "unchanged": 0, "failed": 0, "entries_reported": 0}
        self.moved: list[dict[str, Any]] = []

    @property
    def xc(self) -> XeroClient:
        return xero(self.scope, self.xero_res)

    def run(self) -> dict[str, Any]:
        st, t, loc = self.scope.store, self.scope.tenant.slug, self.scope.location.slug
        members = {k: m.target_id for k, m in Mappings(st, t, loc, MEMBER_KIND).all().items()}
        if not members:
            return {**self.counts, "moved": self.moved, "errors": self.errors,
                    "note": "no member is mapped to a Xero employee yet: materialize xero/staff first"}
        employees = {e["EmployeeID"]: e for e in reads.employees(self.xc)}
        calendars = {str(c.payroll_calendar_id): Calendar(str(c.payroll_calendar_id), c.name,
                                                           enum_name(c.calendar_type), _day(c.start_date))
                     for c in reads.payroll_calendars(self.xc)}
        pay_items = reads.pay_items(self.xc)
        rates = {str(r.earnings_rate_id): r for r in (pay_items.earnings_rates or [])}
        rate_by_name = {str(r.name).casefold(): str(r.earnings_rate_id) for r in rates.values()}
        work_type_map = Mappings(st, t, loc, WORK_TYPE_EARNINGS_RATE).all()
        tracking_item = self.tracking_item()
        configured = self.scope.tenant.payroll_statuses
        statuses = [x.strip() for x in configured.split(",") if x.strip()] if configured else DEFAULT_PAYROLL_STATUSES
        since = self.today - timedelta(days=LOOKBACK_DAYS)
        ids = ", ".join(sorted(members, key=int))
        status_list = ", ".join(f'"{s}"' for s in statuses)
        entries = connectwise(self.scope, self.cw_res).get_all(
            "time/entries", surface=Surface.PAYROLL,
            conditions=f"member/id in ({ids}) AND timeStart >= [{since.isoformat()}T00:00:00Z] "
                       f"AND status in ({status_list})")
        self.counts["entries"] = len(entries)
        rows, periods = [], {}
        for entry in entries:
            member_id = str((entry.get("member") or {}).get("id"))
            employee = employees.get(members.get(member_id, ""))
            entry_key = (f"entry-{entry['id']}", "v1")
            who = (entry.get("member") or {}).get("name") or member_id
            if employee is None:
                self.report(entry_key, f"time entry {entry['id']} of {who}: the mapped Xero employee no longer exists")
                continue
            calendar = calendars.get(str(employee.get("PayrollCalendarID")))
            if calendar is None:
                self.report(entry_key, f"time entry {entry['id']} of {who}: Xero employee has no payroll calendar; "
                                       "set one in Xero Payroll")
                continue
            day = entry_day(entry, self.scope.location.timezone or self.scope.tenant.timezone)
            try:
                period = calendar.period_of(day)
            except PeriodError as exc:
                self.report(entry_key,
                            f"time entry {entry['id']} of {who} on {day}: outside any open pay period: {exc}")
                continue
            work_type = entry.get("workType") or {}
            mapped = work_type_map.get(str(work_type.get("name"))) or work_type_map.get(str(work_type.get("id")))
            rate = (mapped.target_id if mapped else None) or rate_by_name.get(str(work_type.get("name")).casefold()) \
                or employee.get("OrdinaryEarningsRateID") or rate_by_name.get("ordinary hours")
            if not rate:
                self.report(entry_key, f"time entry {entry['id']} of {who}: work type {work_type.get('name')!r} has no "
                                       "earnings rate; map it with `cz map work-type`")
                continue
            periods[(employee["EmployeeID"], day)] = period
            rows.append(Row(str(entry["id"]), employee["EmployeeID"], day, str(rate), tracking_item,
                            entry_hours(entry)))
        wanted = grid(rows, periods)
        existing = self.existing_timesheets(since)
        self.ledger.record([(f"{emp}:{start}", stable_hash(comparable(lines)), self.label(employees, emp, start))
                            for (emp, start), lines in wanted.items()])
        creates: list[tuple[str, date, date, list[dict]]] = []
        for (emp, start), lines in sorted(wanted.items()):
            end = periods[next(k for k in periods if k[0] == emp and periods[k][0] == start)][1]
            if existing.get((emp, start)) is None:
                creates.append((emp, start, end, lines))
            else:
                self.write(employees, emp, start, end, lines, existing[(emp, start)])
        for batch in chunked(creates, self.xero_res.batch_size):
            self.create_many(employees, batch)
        self.ledger.mark_error_many(self.errors)
        self.counts["failed"] = sum(1 for k in self.errors if not k[0].startswith("entry-"))
        return {**self.counts, "moved": self.moved, "errors": self.errors}

    def report(self, key: tuple[str, str], message: str) -> None:
        self.ledger.record([(key[0], key[1], key[0])])
        self.errors[key] = message
        self.counts["entries_reported"] += 1

    @staticmethod
    def label(employees: dict[str, dict], emp: str, start: date) -> str:
        e = employees.get(emp, {})
        return f"{e.get('FirstName', '')} {e.get('LastName', '')} {start}".strip()

    def tracking_item(self) -> str | None:
        """The tracking option this location's hours carry: `cz map location-tracking`, else the option named
        like the location in a tracking category."""
        st, t, loc = self.scope.store, self.scope.tenant.slug, self.scope.location.slug
        mapped = Mappings(st, t, loc, LOCATION_TRACKING_OPTION).all().get(loc)
        wanted = (mapped.target_id if mapped else self.scope.location.name).casefold()
        for category in reads.tracking_categories(self.xc, Surface.PAYROLL):
            for option in category.options or []:
                if str(option.name).casefold() == wanted and enum_name(option.status) == "ACTIVE":
                    return str(option.tracking_option_id)
        return None

    def existing_timesheets(self, since: date) -> dict[tuple[str, date], Any]:
        return {(str(ts.employee_id), _day(ts.start_date)): ts
                for ts in reads.timesheets_from(self.xc, since - timedelta(days=31))}

    def rejected(self, employees: dict, emp: str, start: date, end: date, why: str) -> str:
        return f"timesheet of {self.label(employees, emp, start)} ({start} to {end}): Xero rejected it: {why}"

    def create_many(self, employees: dict, batch: list[tuple[str, date, date, list[dict]]], retry: bool = True
                    ) -> None:
        """New timesheets go to Xero many per call (the minute limit is 60 calls per organisation, and a first
        sync has a timesheet per employee per period). Xero refuses the whole request when one element is
        invalid: the refused elements get their own error and the rest are sent again, once."""
        keys = [(f"{emp}:{start}", stable_hash(comparable(lines))) for emp, start, _end, lines in batch]
        docs = [{"EmployeeID": emp, "StartDate": ms_date(start), "EndDate": ms_date(end), "Status": "DRAFT",
                 "TimesheetLines": lines} for emp, start, end, lines in batch]
        self.ledger.mark_sending(keys, f"timesheets-{keys[0][0]}-{keys[0][1]}-{len(keys)}")
        try:
            saved = writes.create_timesheets(self.xc, docs)
        except XeroApiError as exc:
            refused = _element_errors(exc, len(batch))
            whole = not any(refused) or not retry  # the request as a whole was refused: every element says why
            again: list[tuple[tuple[str, date, date, list[dict]], tuple[str, str]]] = []
            for item, key, own in zip(batch, keys, refused, strict=True):
                if own or whole:
                    emp, start, end, _lines = item
                    self.errors[key] = self.rejected(employees, emp, start, end, own or _errors_of(exc))
                else:
                    again.append((item, key))
            if again:
                self.ledger.mark_pending([key for _, key in again], "sent again without the timesheets Xero refused")
                self.create_many(employees, [item for item, _ in again], retry=False)
            return
        done = {}
        for (emp, start, end, lines), key, ts in zip(batch, keys, saved, strict=False):
            done[key] = str(getattr(ts, "timesheet_id", ""))
            self.counts["created"] += 1
            self.moved.append({"employee": self.label(employees, emp, start).rsplit(" ", 1)[0],
                               "period": f"{start} to {end}", "how": "created",
                               "hours": round(sum(sum(x["NumberOfUnits"]) for x in lines), 2)})
        self.ledger.mark_done_many(done)
        # an answer with fewer elements than sent: the rest stay 'sending' and the next run looks them up

    def write(self, employees: dict, emp: str, start: date, end: date, lines: list[dict], current: Any) -> None:
        key = (f"{emp}:{start}", stable_hash(comparable(lines)))
        who = self.label(employees, emp, start)
        doc = {"EmployeeID": emp, "StartDate": ms_date(start), "EndDate": ms_date(end), "Status": "DRAFT",
               "TimesheetLines": lines}
        if current is not None:
            held = comparable([serialize(x) for x in (current.timesheet_lines or [])])
            if held == comparable(lines):
                self.ledger.mark_done_many({key: str(current.timesheet_id)})
                self.counts["unchanged"] += 1
                return
            status = enum_name(current.status)
            if status != "DRAFT":
                self.errors[key] = (f"timesheet of {who}: Xero holds it as {status}; only DRAFT timesheets can be "
                                    "updated, so the newly approved hours were not added: revert it to draft in "
                                    "Xero, or pay the difference in the next period")
                return
            doc["TimesheetID"] = str(current.timesheet_id)
        self.ledger.mark_sending([key], f"timesheet-{key[0]}-{key[1]}")
        try:
            if current is None:
                answer = writes.create_timesheets(self.xc, [doc])
            else:
                answer = writes.update_timesheet(self.xc, str(current.timesheet_id), doc)
        except XeroApiError as exc:
            self.errors[key] = self.rejected(employees, emp, start, end, _errors_of(exc))
            return
        saved = (answer or [None])[0]
        self.ledger.mark_done_many({key: str(getattr(saved, "timesheet_id", ""))})
        how = "created" if current is None else "updated"
        self.counts[how] += 1
        self.moved.append({"employee": who.rsplit(" ", 1)[0], "period": f"{start} to {end}",
                           "hours": round(sum(sum(x["NumberOfUnits"]) for x in lines), 2), "how": how})


@writer_asset(
    TIMESHEETS_KEY,
    flow=Surface.TIMESHEETS,
    deps=[STAFF_KEY, AssetKey(["xero", "earnings_rates"]), AssetKey(["xero", "payroll_calendars"])],
    check="No timesheet or time entry of this tenant-location sits in error",
    description="Approved ConnectWise time entries -> one DRAFT Xero Payroll AU timesheet per employee per pay "
                "period (hours per day per earnings rate, tracked by location); re-runs update the same DRAFT.",
)
def timesheets(scope: SyncScope, connectwise_api: ConnectWiseResource, xero_api: XeroResource,
               log: Any) -> FlowOutcome:
    out = TimesheetSync(scope, connectwise_api, xero_api, log).run()
    metadata = {**{k: v for k, v in out.items() if isinstance(v, int)},
                "moved": md_table(out["moved"], ["employee", "period", "hours", "how"])}
    if out.get("note"):
        metadata["note"] = out["note"]
    return FlowOutcome(out["errors"], metadata)
