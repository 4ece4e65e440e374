"""ConnectWise members -> Xero Payroll AU employees: matching. Pure logic.

Order: a mapping set by hand (`cz map member`), then email, then employee identifier (ConnectWise's
``employeeIdentifer`` holding the Xero EmployeeID, which is where MSPs keep the payroll id), then full name
when exactly one employee has it. Nothing is created in Xero payroll: an employee record carries tax and super
details a sync must not invent, so the unmatched are reported for a person to resolve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cz_dagster.sync.enums import enum_name


def _norm(text: Any) -> str:
    return " ".join(str(text or "").casefold().split())


@dataclass(frozen=True)
class StaffMatch:
    member_id: str
    member_name: str
    employee_id: str | None
    employee_name: str | None
    how: str  # manual | email | employee_id | name | unmatched | terminated | ambiguous
    detail: str = ""


def member_name(m: dict[str, Any]) -> str:
    return f"{m.get('firstName', '')} {m.get('lastName', '')}".strip() or str(m.get("identifier"))


def employee_name(e: dict[str, Any]) -> str:
    return f"{e.get('FirstName', '')} {e.get('LastName', '')}".strip()


def match_members(members: list[dict[str, Any]], employees: list[dict[str, Any]],
                  manual: dict[str, str]) -> list[StaffMatch]:
    by_id = {str(e["EmployeeID"]).casefold(): e for e in employees}
    by_email: dict[str, dict] = {}
    by_name: dict[str, list[dict]] = {}
    for e in employees:
        if e.get("Email"):
            by_email.setdefault(_norm(e["Email"]), e)
        by_name.setdefault(_norm(employee_name(e)), []).append(e)
    out: list[StaffMatch] = []
    for m in members:
        mid, name = str(m["id"]), member_name(m)
        found, how, detail = None, "unmatched", ""
        if mid in manual:
            found = by_id.get(manual[mid].casefold())
            how = "manual"
            if found is None:
                detail = f"mapped by hand to Xero employee {manual[mid]}, which does not exist in this organisation"
        else:
            emails = [m.get(k) for k in ("primaryEmail", "officeEmail", "defaultEmail") if m.get(k)]
            found = next((by_email[_norm(x)] for x in emails if _norm(x) in by_email), None)
            how = "email" if found else how
            if found is None and m.get("employeeIdentifer"):
                found = by_id.get(str(m["employeeIdentifer"]).casefold())
                how = "employee_id" if found else how
            if found is None:
                candidates = by_name.get(_norm(name), [])
                if len(candidates) == 1:
                    found, how = candidates[0], "name"
                elif len(candidates) > 1:
                    how = "ambiguous"
                    detail = (f"{len(candidates)} Xero employees are called {name!r}; map the member with "
                              f"`cz map member --member {m.get('identifier') or mid} --employee <EmployeeID>`")
        if found is None:
            if not detail:
                detail = (f"no Xero employee matches ConnectWise member {name!r} ({', '.join(emails) or 'no email'}); "
                          f"add them in Xero Payroll or map them with `cz map member --member "
                          f"{m.get('identifier') or mid} --employee <EmployeeID>`")
            out.append(StaffMatch(mid, name, None, None, "unmatched" if how != "ambiguous" else how, detail))
            continue
        status = enum_name(found.get("Status"), "ACTIVE")
        if status == "TERMINATED":
            out.append(StaffMatch(mid, name, str(found["EmployeeID"]), employee_name(found), "terminated",
                                  f"member {name!r} matches Xero employee {employee_name(found)!r}, who is terminated"))
            continue
        out.append(StaffMatch(mid, name, str(found["EmployeeID"]), employee_name(found), how, detail))
    return out
