"""Time in the simulated tenant: members (from demo.CW_MEMBERS), work types (demo.CW_WORK_TYPES), time entries
and weekly time sheets, for the payroll flows.

Times are what the real API returns: UTC. An entry is worked in local business hours of the member's location
(07:30-18:00 Adelaide or Melbourne time), so an 08:00 start in Adelaide is 21:30 the previous day in UTC; a client
that takes the date of ``timeStart`` without converting to the location's timezone puts it on the wrong day.

Sheets are Monday-Sunday (local), one per member per week with entries; a sheet's status follows its entries (the
least advanced of them: Open < Rejected < PendingApproval < ErrorsCorrected < ApprovedByTierTwo; a sheet whose
entries are all billed says Billed). Seed: for each active member, weekdays of the three weeks before the anchor
day (1-4 entries a day, quarter hours), older weeks mostly approved or billed, the latest mostly still open.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cz_sandbox import demo
from cz_sandbox.cw_common import API_MEMBER, CwError, info, invalid, not_found, now
from cz_sandbox.cw_seed import World, drop_nulls, fmt

STATUSES = ("Open", "Rejected", "PendingApproval", "ErrorsCorrected", "PendingProjectApproval", "ApprovedByTierOne",
            "RejectBySecondTier", "ApprovedByTierTwo", "ReadyToBill", "Billed", "WrittenOff", "BilledAgreement")
_SHEET_ORDER = ("Open", "Rejected", "RejectBySecondTier", "PendingApproval", "PendingProjectApproval",
                "ErrorsCorrected", "ApprovedByTierOne", "ApprovedByTierTwo")
_BILLED = {"ReadyToBill", "Billed", "WrittenOff", "BilledAgreement"}
# Member fields the 2025.1 spec requires (connectwise-api.md: identifier, licenseClass, firstName, lastName, hireDate,
# defaultEmail, defaultPhone, securityRole); the role's id and name are the simulator's choice.
SECURITY_ROLE = {"id": 4, "name": "Technician"}
FIRST_ENTRY_ID = 90001
FIRST_SHEET_ID = 30001
NOTES = ("Remote support: user login issue", "Patch Tuesday rollout", "Backup job review", "Onsite: printer fault",
         "Firewall rule change", "Microsoft 365 licence changes", "New starter laptop build", "Server health check",
         "Network switch replacement", "Client meeting: quarterly review")

KNOWN = {
    "members": "id identifier firstName lastName officeEmail primaryEmail defaultEmail defaultPhone employeeIdentifer "
               "inactiveFlag hireDate defaultLocation/* defaultDepartment/* securityRole/* timeSheetStartDate type/* "
               "licenseClass dailyCapacity hourlyCost title",
    "worktypes": "id name billTime rate rateType accrualType inactiveFlag utilizationFlag overallDefaultFlag",
    "timeentries": "id company/* companyType/* chargeToId chargeToType member/* locationId location/* workType/* "
                   "workRole/* timeStart timeEnd actualHours hoursDeduct hoursBilled billableOption notes "
                   "internalNotes status timeSheet/* enteredBy dateEntered invoice/* ticket/*",
    "timesheets": "id member/* year period dateStart dateEnd status hours deadline",
}


@dataclass
class Time:
    world: World
    members: dict[int, dict[str, Any]] = field(default_factory=dict)
    entries: dict[int, dict[str, Any]] = field(default_factory=dict)
    sheets: dict[tuple[int, date], dict[str, Any]] = field(default_factory=dict)
    next_entry_id: int = FIRST_ENTRY_ID
    next_sheet_id: int = FIRST_SHEET_ID

    # ------------------------------------------------------------ building

    def location_of(self, member: dict[str, Any]) -> tuple[int, ZoneInfo]:
        loc = demo.LOCATIONS.get(member["defaultLocation"]) or next(iter(demo.LOCATIONS.values()))
        return loc["cw_location_id"], ZoneInfo(loc["timezone"])

    def seed(self, rng: random.Random) -> None:
        anchor = self.world.anchor
        for m in demo.CW_MEMBERS:
            loc_id, _tz = self.location_of(m)
            hired = anchor - timedelta(days=400 + (m["id"] * 37) % 900)
            stamp = anchor - timedelta(days=20 + m["id"] % 40)
            self.members[m["id"]] = drop_nulls({
                "id": m["id"], "identifier": m["identifier"], "firstName": m["firstName"], "lastName": m["lastName"],
                "officeEmail": m.get("primaryEmail"), "primaryEmail": m.get("primaryEmail"),
                "defaultEmail": "Office", "defaultPhone": "Office", "securityRole": dict(SECURITY_ROLE),
                "employeeIdentifer": m.get("employeeIdentifer"),
                "inactiveFlag": bool(m.get("inactiveFlag")), "hireDate": fmt(hired), "licenseClass": "F",
                "defaultLocation": self.world.location_ref(loc_id), "timeSheetStartDate": fmt(hired),
                "dailyCapacity": 7.6, "type": {"id": 1, "name": "Employee"}, "title": "Technician",
                "_info": info(hired, "admin", stamp, "admin")})
        start_day = (anchor - timedelta(days=21)).date()
        weeks = sorted({_monday(start_day + timedelta(days=i)) for i in range(21)})
        for m in demo.CW_MEMBERS:
            if m.get("inactiveFlag"):
                continue
            for week in weeks:
                latest = week == weeks[-1]
                pool = (["PendingApproval"] * 2 + ["Open"] * 2 + ["ApprovedByTierTwo"]) if latest else (
                    ["ApprovedByTierTwo"] * 5 + ["ReadyToBill"] * 3 + ["Billed"] * 3 + ["ErrorsCorrected", "Rejected"])
                week_status = rng.choice(pool)
                for offset in range(7):
                    day = week + timedelta(days=offset)
                    if day < start_day or day >= anchor.date() or day.weekday() >= 5:
                        continue
                    self._seed_day(rng, m, day, week_status)

    def _seed_day(self, rng: random.Random, m: dict[str, Any], day: date, week_status: str) -> None:
        loc_id, tz = self.location_of(m)
        start = datetime.combine(day, time(7, 30), tzinfo=tz) + timedelta(minutes=15 * rng.randint(0, 6))
        for _ in range(rng.randint(1, 4)):
            hours = rng.randint(2, 14) * 0.25
            roll = rng.random()
            work = demo.CW_WORK_TYPES[0] if roll < 0.82 else demo.CW_WORK_TYPES[1] if roll < 0.92 else \
                demo.CW_WORK_TYPES[3]
            status = week_status
            if status in ("ApprovedByTierTwo", "ReadyToBill", "Billed"):
                status = rng.choice(["ApprovedByTierTwo", "ReadyToBill", "Billed"]) if rng.random() < 0.3 else status
            elif status == "PendingApproval" and rng.random() < 0.15:
                status = "Rejected"
            end = start + timedelta(hours=hours)
            entered = min(end + timedelta(minutes=rng.randint(5, 240)), self.world.anchor - timedelta(minutes=1))
            self._add(m, start.astimezone(UTC), hours, work, status, loc_id, rng.choice(NOTES), entered, entered,
                      m["identifier"])
            start = end + timedelta(minutes=15 * rng.randint(0, 2))

    def _add(self, m: dict[str, Any], start: datetime, hours: float, work: dict[str, Any], status: str, loc_id: int,
             notes: str | None, entered: datetime, updated: datetime, by: str) -> dict[str, Any]:
        _loc, tz = self.location_of(m)
        week = _monday(start.astimezone(tz).date())
        sheet = self._sheet(m, week, updated)
        company = self.world.companies.get(250 + (self.next_entry_id * 7) % 32)
        charge_code = work.get("accrualType") is not None
        entry = drop_nulls({
            "id": self.next_entry_id,
            "company": None if charge_code or company is None else self.world.company_ref(company["id"]),
            "chargeToId": (100 + work["id"]) if charge_code else 20000 + (self.next_entry_id * 13) % 4000,
            "chargeToType": "ChargeCode" if charge_code else "ServiceTicket",
            "member": {"id": m["id"], "identifier": m["identifier"], "name": f"{m['firstName']} {m['lastName']}"},
            "locationId": loc_id, "location": self.world.location_ref(loc_id),
            "workType": {"id": work["id"], "name": work["name"]}, "workRole": {"id": 1, "name": "Technician"},
            "timeStart": fmt(start), "timeEnd": fmt(start + timedelta(hours=hours)), "actualHours": hours,
            "hoursDeduct": 0.0, "billableOption": work.get("billTime", "Billable"), "notes": notes,
            "status": status, "timeSheet": _sheet_ref(sheet), "enteredBy": by,
            "dateEntered": fmt(entered), "_info": info(entered, by, updated, by),
        })
        self.entries[entry["id"]] = entry
        self.next_entry_id += 1
        self._refresh_sheet(sheet, updated)
        return entry

    def _sheet(self, m: dict[str, Any], week: date, stamp: datetime) -> dict[str, Any]:
        key = (m["id"], week)
        if key not in self.sheets:
            end = week + timedelta(days=6)
            self.sheets[key] = {
                "id": self.next_sheet_id,
                "member": {"id": m["id"], "identifier": m["identifier"], "name": f"{m['firstName']} {m['lastName']}"},
                "year": week.isocalendar()[0], "period": week.isocalendar()[1],
                "dateStart": f"{week.isoformat()}T00:00:00Z", "dateEnd": f"{end.isoformat()}T00:00:00Z",
                "deadline": f"{(end + timedelta(days=1)).isoformat()}T17:00:00Z", "status": "Open", "hours": 0.0,
                "_info": info(stamp, m["identifier"]),
            }
            self.next_sheet_id += 1
        return self.sheets[key]

    def _refresh_sheet(self, sheet: dict[str, Any], stamp: datetime) -> None:
        mine = [e for e in self.entries.values() if e["timeSheet"]["id"] == sheet["id"]]
        statuses = {e["status"] for e in mine}
        if statuses and statuses <= _BILLED:
            status = "Billed"
        else:
            status = next((s for s in _SHEET_ORDER if s in statuses), "ApprovedByTierTwo")
        hours = round(sum(float(e["actualHours"]) for e in mine), 2)
        if (status, hours) != (sheet["status"], sheet["hours"]):
            sheet["status"], sheet["hours"] = status, hours
            sheet["_info"] = {**sheet["_info"], "lastUpdated": fmt(stamp)}

    # ------------------------------------------------------------ reading

    def work_types(self) -> list[dict[str, Any]]:
        stamp = self.world.anchor - timedelta(days=600)
        return [{**w, "inactiveFlag": False, "overallDefaultFlag": w["id"] == 1, "_info": info(stamp, "admin")}
                for w in demo.CW_WORK_TYPES]

    def sheet_list(self) -> list[dict[str, Any]]:
        return sorted(self.sheets.values(), key=lambda s: s["id"])

    def sheet_by_id(self, raw: str) -> dict[str, Any]:
        found = next((s for s in self.sheets.values() if str(s["id"]) == raw), None)
        if found is None:
            raise not_found("TimeSheet", raw)
        return found

    # ------------------------------------------------------------ writes

    def set_status(self, entry: dict[str, Any], status: str, stamp: datetime, by: str = API_MEMBER) -> None:
        entry["status"] = status
        entry["_info"] = {**entry["_info"], "lastUpdated": fmt(stamp), "updatedBy": by}

    def sheet_action(self, raw: str, action: str) -> dict[str, Any]:
        """POST time/sheets/{id}/submit|approve|reject|reverse: the sheet and its entries move together."""
        sheet = self.sheet_by_id(raw)
        moves = {"submit": ({"Open", "Rejected", "RejectBySecondTier"}, "PendingApproval"),
                 "approve": ({"PendingApproval", "ErrorsCorrected", "ApprovedByTierOne"}, "ApprovedByTierTwo"),
                 "reject": ({"PendingApproval", "ErrorsCorrected", "ApprovedByTierOne"}, "Rejected"),
                 "reverse": ({"ApprovedByTierOne", "ApprovedByTierTwo"}, "PendingApproval")}
        allowed, target = moves[action]
        if sheet["status"] not in allowed:
            raise invalid("timeSheet", f"Time sheet {sheet['id']} is {sheet['status']} and cannot be {action}ed "
                          f"(it must be {' or '.join(sorted(allowed))}).", fld="status")
        stamp = now()
        for entry in self.entries.values():
            if entry["timeSheet"]["id"] == sheet["id"] and entry["status"] not in _BILLED:
                self.set_status(entry, target, stamp)
        self._refresh_sheet(sheet, stamp)
        sheet["_info"] = {**sheet["_info"], "lastUpdated": fmt(stamp), "updatedBy": API_MEMBER}
        return {"success": True, "message": f"Time sheet {sheet['id']} {action} complete: {sheet['status']}."}

    def admin_add(self, body: dict[str, Any]) -> dict[str, Any]:
        """/_sandbox/time/entries {memberId, date, hours, workTypeId?, status?, locationId?, notes?, startHour?}:
        an entry as a technician would key it; ``startHour`` is local time at the member's location (default 18)."""
        member = next((m for m in demo.CW_MEMBERS if m["id"] == int(body["memberId"])), None)
        if member is None:
            raise ValueError(f"memberId {body['memberId']} is not a demo member")
        work = next((w for w in demo.CW_WORK_TYPES if w["id"] == int(body.get("workTypeId") or 1)), None)
        if work is None:
            raise ValueError(f"workTypeId {body.get('workTypeId')} is not one of the work types")
        status = str(body.get("status") or "ApprovedByTierTwo")
        if status not in STATUSES:
            raise ValueError(f"status {status!r} is not one of {STATUSES}")
        hours = float(body["hours"])
        if hours <= 0 or hours > 24:
            raise ValueError("hours must be in (0, 24]")
        loc_id, tz = self.location_of(member)
        loc_id = int(body.get("locationId") or loc_id)
        day = date.fromisoformat(str(body["date"])[:10])
        start = datetime.combine(day, time(0, 0), tzinfo=tz) + timedelta(hours=float(body.get("startHour", 18)))
        stamp = now()
        return self._add(member, start.astimezone(UTC), hours, work, status, loc_id, body.get("notes"), stamp, stamp,
                         API_MEMBER)

    def admin_update(self, raw: str, body: dict[str, Any]) -> dict[str, Any]:
        """/_sandbox/time/entries/{id} {status?, hours?, notes?}: change an entry as a manager would."""
        entry = self.entries.get(int(raw)) if raw.isdigit() else None
        if entry is None:
            raise KeyError(f"no time entry {raw}")
        stamp = now()
        if "status" in body:
            if body["status"] not in STATUSES:
                raise ValueError(f"status {body['status']!r} is not one of {STATUSES}")
            self.set_status(entry, str(body["status"]), stamp)
        if "hours" in body:
            hours = float(body["hours"])
            start = datetime.fromisoformat(entry["timeStart"].replace("Z", "+00:00"))
            entry["actualHours"], entry["timeEnd"] = hours, fmt(start + timedelta(hours=hours))
        if "notes" in body:
            entry["notes"] = body["notes"]
        entry["_info"] = {**entry["_info"], "lastUpdated": fmt(stamp), "updatedBy": API_MEMBER}
        sheet = next(s for s in self.sheets.values() if s["id"] == entry["timeSheet"]["id"])
        self._refresh_sheet(sheet, stamp)
        return entry

    def state(self) -> dict[str, Any]:
        return {"members": [self.members[k] for k in sorted(self.members)],
                "time_entries": [self.entries[k] for k in sorted(self.entries)], "time_sheets": self.sheet_list()}


def _sheet_ref(sheet: dict[str, Any]) -> dict[str, Any]:
    """TimeSheetReference {id, name: "2018-04-30 to 2018-05-06"}: the name is the reference's, a TimeSheet itself
    has none (neither pyconnectwise's model nor the 2025.1 field list)."""
    return {"id": sheet["id"], "name": f"{sheet['dateStart'][:10]} to {sheet['dateEnd'][:10]}"}


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


__all__ = ["KNOWN", "STATUSES", "CwError", "Time"]
