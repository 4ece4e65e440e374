"""ConnectWise companies -> Xero contacts: matching and the contact documents to create. Pure logic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _norm(text: Any) -> str:
    return " ".join(str(text or "").casefold().split())


@dataclass(frozen=True)
class Match:
    company_id: int
    contact_id: str | None
    contact_name: str | None
    how: str  # contact_number | account_number | name | create | archived
    detail: str = ""


def match_companies(companies: list[dict[str, Any]], contacts: list[dict[str, Any]]) -> list[Match]:
    """Match each company to an existing contact by ContactNumber (our CW identifier), then AccountNumber,
    then name; an archived match is reported rather than used or duplicated."""
    by_number: dict[str, dict] = {}
    by_account: dict[str, dict] = {}
    by_name: dict[str, dict] = {}
    for c in contacts:
        if c.get("ContactNumber"):
            by_number.setdefault(_norm(c["ContactNumber"]), c)
        if c.get("AccountNumber"):
            by_account.setdefault(_norm(c["AccountNumber"]), c)
        if c.get("Name"):
            key = _norm(c["Name"])
            # prefer an active contact of that name over an archived one
            if key not in by_name or by_name[key].get("ContactStatus") == "ARCHIVED":
                by_name[key] = c
    out: list[Match] = []
    for company in companies:
        cid = int(company["id"])
        found, how = None, ""
        for index, key, label in ((by_number, company.get("identifier"), "contact_number"),
                                  (by_account, company.get("accountNumber"), "account_number"),
                                  (by_name, company.get("name"), "name")):
            if key and _norm(key) in index:
                found, how = index[_norm(key)], label
                break
        if found is None:
            out.append(Match(cid, None, None, "create"))
        elif found.get("ContactStatus") == "ARCHIVED":
            out.append(Match(cid, found.get("ContactID"), found.get("Name"), "archived",
                             f"the matching Xero contact {found.get('Name')!r} is archived; restore it in Xero "
                             "or map the company to another contact"))
        else:
            out.append(Match(cid, found.get("ContactID"), found.get("Name"), how))
    return out


def to_xero_contact(company: dict[str, Any]) -> dict[str, Any]:
    """The contact to create for a ConnectWise company; ContactNumber carries the CW identifier so that a
    re-run (or a crashed run) finds it again instead of creating a second one."""
    name = str(company.get("name") or "").strip()
    if not name:
        raise ValueError(f"ConnectWise company {company.get('id')} has no name")
    doc: dict[str, Any] = {"Name": name[:255], "ContactNumber": str(company.get("identifier") or company["id"])[:50]}
    if company.get("accountNumber"):
        doc["AccountNumber"] = str(company["accountNumber"])[:50]
    email = company.get("invoiceToEmailAddress")
    if email:
        doc["EmailAddress"] = str(email)[:255]
    address = {k: company.get(v) for k, v in (("AddressLine1", "addressLine1"), ("AddressLine2", "addressLine2"),
                                               ("City", "city"), ("Region", "state"), ("PostalCode", "zip"))}
    country = (company.get("country") or {}).get("name") if isinstance(company.get("country"), dict) else None
    if any(address.values()):
        doc["Addresses"] = [{"AddressType": "POBOX", **{k: v for k, v in address.items() if v},
                             **({"Country": country} if country else {})}]
    if company.get("phoneNumber"):
        doc["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": str(company["phoneNumber"])[:50]}]
    return doc
