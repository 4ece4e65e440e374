"""Approved ConnectWise time entries -> Xero Payroll AU timesheets: pay periods and the hours grid. Pure logic.

Payroll-eligible statuses (a tenant setting; this is the default): a ConnectWise time entry is paid when its
hours were approved, which ConnectWise records as ``ApprovedByTierTwo`` and every later state of an approved
entry: ``ReadyToBill``, ``Billed``, ``BilledAgreement``, and ``WrittenOff`` (written off for billing, still worked
and approved). ``ApprovedByTierOne`` is not enough where two tiers are configured (the second tier may still
reject), and ``Open``, ``PendingApproval``, ``PendingProjectApproval``, ``ErrorsCorrected`` (resubmitted, awaiting
approval), ``Rejected`` and ``RejectBySecondTier`` are not approved. A tenant with one approval tier adds
``ApprovedByTierOne``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from cz_dagster.errors import RecordFailure

TIME_STATUSES = ("Open", "Rejected", "PendingApproval", "ErrorsCorrected", "PendingProjectApproval",
                 "ApprovedByTierOne", "RejectBySecondTier", "ApprovedByTierTwo", "ReadyToBill", "Billed",
                 "WrittenOff", "BilledAgreement")
DEFAULT_PAYROLL_STATUSES = ("ApprovedByTierTwo", "ReadyToBill", "Billed", "BilledAgreement", "WrittenOff")
PERIOD_DAYS = {"WEEKLY": 7, "FORTNIGHTLY": 14, "FOURWEEKLY": 28}


class PeriodError(RecordFailure):
    """A date has no pay period in the employee's calendar; the message says why."""


@dataclass(frozen=True)
class Calendar:
    id: str
    name: str
    calendar_type: str
    start: date

    def period_of(self, day: date) -> tuple[date, date]:
        if day < self.start:
            raise PeriodError(f"{day} is before the first pay period of payroll calendar {self.name!r} "
                              f"(which starts {self.start})")
        kind = self.calendar_type.upper()
        if kind in PERIOD_DAYS:
            n = PERIOD_DAYS[kind]
            first = self.start + timedelta(days=((day - self.start).days // n) * n)
            return first, first + timedelta(days=n - 1)
        if kind == "MONTHLY":
            months = (day.year - self.start.year) * 12 + day.month - self.start.month
            first = _add_months(self.start, months)
            if first > day:
                first = _add_months(self.start, months - 1)
            return first, _add_months(self.start, _months_between(self.start, first) + 1) - timedelta(days=1)
        raise PeriodError(f"payroll calendar {self.name!r} is {kind}, which this version does not split into "
                          "periods yet (WEEKLY, FORTNIGHTLY, FOURWEEKLY and MONTHLY are supported)")


def _months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(d.day, last))


def entry_day(entry: dict[str, Any], timezone: str = "UTC") -> date:
    """The day the work was done, where it was done: ConnectWise gives UTC, and 08:30 in Adelaide is the
    previous day in UTC."""
    start = datetime.fromisoformat(str(entry["timeStart"]).replace("Z", "+00:00"))
    if start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo("UTC"))
    return start.astimezone(ZoneInfo(timezone)).date()


def entry_hours(entry: dict[str, Any]) -> float:
    hours = entry.get("actualHours")
    if hours is None:
        start = datetime.fromisoformat(str(entry["timeStart"]).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(entry["timeEnd"]).replace("Z", "+00:00"))
        hours = (end - start).total_seconds() / 3600 - float(entry.get("hoursDeduct") or 0)
    return float(hours)


@dataclass(frozen=True)
class Row:
    """One payroll-eligible entry, resolved: who, which day, which rate, which tracking option, how long."""

    entry_id: str
    employee_id: str
    day: date
    earnings_rate_id: str
    tracking_item_id: str | None
    hours: float


def grid(rows: list[Row], periods: dict[tuple[str, date], tuple[date, date]]) -> dict[tuple[str, date], list[dict]]:
    """Timesheet lines per (employee, period start): hours per day per (earnings rate, tracking option).
    ``periods`` maps (employee, day) -> (period start, period end)."""
    if not rows:
        return {}
    df = pd.DataFrame([r.__dict__ for r in rows])
    df["period_start"] = [periods[(r.employee_id, r.day)][0] for r in rows]
    df["period_end"] = [periods[(r.employee_id, r.day)][1] for r in rows]
    df["tracking_item_id"] = df["tracking_item_id"].fillna("")
    df["offset"] = [(d - s).days for d, s in zip(df["day"], df["period_start"], strict=True)]
    summed = df.groupby(["employee_id", "period_start", "period_end", "earnings_rate_id", "tracking_item_id",
                         "offset"], as_index=False)["hours"].sum()
    out: dict[tuple[str, date], list[dict]] = {}
    for (emp, start, end, rate, tracking), part in summed.groupby(
            ["employee_id", "period_start", "period_end", "earnings_rate_id", "tracking_item_id"]):
        units = [0.0] * ((end - start).days + 1)
        for offset, hours in zip(part["offset"], part["hours"], strict=True):
            units[int(offset)] = round(float(hours), 2)
        line: dict[str, Any] = {"EarningsRateID": rate, "NumberOfUnits": units}
        if tracking:
            line["TrackingItemID"] = tracking
        out.setdefault((emp, start), []).append(line)
    for lines in out.values():
        lines.sort(key=lambda x: (x["EarningsRateID"], x.get("TrackingItemID", "")))
    return out


def comparable(lines: list[dict[str, Any]]) -> list[tuple]:
    """Lines as a sortable, rounding-insensitive value, to tell whether Xero already holds them."""
    return sorted((str(x.get("EarningsRateID", "")).lower(), str(x.get("TrackingItemID") or "").lower(),
                   tuple(round(float(u), 2) for u in x.get("NumberOfUnits") or [])) for x in lines)
