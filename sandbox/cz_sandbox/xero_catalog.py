"""Items (Xero's product and service catalogue), which the product mirrors into the ConnectWise catalogue.

Items are keyed by ItemID but addressed by Code as well (GET /Items/{ItemID or Code}, and POST upserts by Code),
because Code is what a line item's ItemCode refers to and what a user sees. Not paged, as in Xero.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from cz_sandbox import demo
from cz_sandbox.xero_accounting import SEED_TIME, ElementError, Org, stable_id
from cz_sandbox.xero_formats import ZERO_ID, Clock, ms_date, num, to_decimal

_DETAIL_KEYS = ("UnitPrice", "AccountCode", "COGSAccountCode", "TaxType")


def seed_items(org: Org) -> None:
    for raw in demo.XERO_ITEMS:
        item_id = stable_id(org.tenant_id, "item", raw["Code"])
        org.items[item_id] = _new_item(item_id, raw, SEED_TIME)


def _new_item(item_id: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    doc: dict[str, Any] = {"ItemID": item_id, "Code": None, "Name": None, "Description": None,
                           "PurchaseDescription": None, "IsTrackedAsInventory": False, "SalesDetails": {},
                           "PurchaseDetails": {}, "UpdatedDateUTC": now}
    _apply(doc, data)
    return doc


def _apply(doc: dict[str, Any], data: dict[str, Any]) -> None:
    for key in ("Code", "Name", "Description", "PurchaseDescription", "IsTrackedAsInventory"):
        if key in data and data[key] is not None:
            doc[key] = data[key]
    for key in ("SalesDetails", "PurchaseDetails"):
        if isinstance(data.get(key), dict):
            doc[key] = {k: data[key][k] for k in _DETAIL_KEYS if data[key].get(k) is not None}
    # Xero derives IsSold/IsPurchased from whether the details are filled in unless told explicitly.
    doc["IsSold"] = bool(data.get("IsSold", doc.get("IsSold", bool(doc["SalesDetails"]))))
    doc["IsPurchased"] = bool(data.get("IsPurchased", doc.get("IsPurchased", bool(doc["PurchaseDetails"]))))


def find_item(org: Org, key: str) -> dict[str, Any] | None:
    """By ItemID or (case-insensitively) by Code."""
    doc = org.items.get(key.lower())
    if doc is not None:
        return doc
    return next((i for i in org.items.values() if (i.get("Code") or "").lower() == key.lower()), None)


def _validate(org: Org, doc: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    code = doc.get("Code")
    if not code:
        errors.append("Item code must be specified.")
    elif len(str(code)) > 30:
        errors.append("Item code must be 30 characters or less.")
    elif any(i["ItemID"] != doc["ItemID"] and (i.get("Code") or "").lower() == str(code).lower()
             for i in org.items.values()):
        errors.append(f"Item code '{code}' already exists")
    if doc.get("Name") and len(str(doc["Name"])) > 50:
        errors.append("The item name must be 50 characters or less.")
    for key, revenue in (("SalesDetails", True), ("PurchaseDetails", False)):
        details = doc.get(key) or {}
        if details.get("UnitPrice") is not None:
            try:
                details["UnitPrice"] = to_decimal(details["UnitPrice"], "UnitPrice")
            except ValueError as exc:
                errors.append(str(exc))
                details.pop("UnitPrice")  # so the echo of the failed element can still be rendered
        code_ = details.get("AccountCode")
        if code_ not in (None, "") and (str(code_) not in org.accounts
                                        or org.accounts[str(code_)]["Status"] != "ACTIVE"):
            errors.append(f"Account code '{code_}' is not a valid code for this document.")
        tax = details.get("TaxType")
        if tax not in (None, ""):
            rate = org.tax_rates.get(str(tax))
            if rate is None or rate.get("Status", "ACTIVE") != "ACTIVE" or (
                    revenue and not rate.get("CanApplyToRevenue", True)):
                errors.append(f"The TaxType code '{tax}' does not exist or cannot be used for this type of "
                              "transaction.")
    if doc.get("IsTrackedAsInventory"):
        errors.append("Tracked inventory items need an InventoryAssetAccountCode; the sandbox does not model "
                      "tracked inventory.")
    return errors


def save_item(org: Org, element: Any, create_only: bool, clock: Clock) -> dict[str, Any]:
    """Create (PUT) or create-or-update by ItemID or Code (POST) one item; raises ElementError."""
    if not isinstance(element, dict):
        raise ElementError(["An item must be a JSON object."])
    existing = None
    if element.get("ItemID") and element["ItemID"] != ZERO_ID:
        existing = org.items.get(str(element["ItemID"]).lower())
        if existing is None:
            raise ElementError([f"Item with ItemID {element['ItemID']} could not be found."])
    elif element.get("Code") and not create_only:
        existing = find_item(org, str(element["Code"]))
    now = clock.now()
    if existing is None:
        candidate = _new_item(str(uuid.uuid4()), element, now)
    else:
        candidate = {**existing, "SalesDetails": dict(existing["SalesDetails"]),
                     "PurchaseDetails": dict(existing["PurchaseDetails"]), "UpdatedDateUTC": now}
        _apply(candidate, element)
    errors = _validate(org, candidate)
    if errors:
        err = ElementError(errors)
        err.candidate = candidate  # type: ignore[attr-defined]
        raise err
    org.items[candidate["ItemID"]] = candidate
    return candidate


def render_item(doc: dict[str, Any], unitdp: int = 2) -> dict[str, Any]:
    """An item as GET /Items returns it."""
    out: dict[str, Any] = {"ItemID": doc["ItemID"], "Code": doc["Code"]}
    for key in ("Description", "PurchaseDescription"):
        if doc.get(key):
            out[key] = doc[key]
    out["UpdatedDateUTC"] = ms_date(doc["UpdatedDateUTC"])
    for key in ("PurchaseDetails", "SalesDetails"):
        details = dict(doc.get(key) or {})
        if details.get("UnitPrice") is not None:
            details["UnitPrice"] = num(Decimal(str(details["UnitPrice"])).quantize(Decimal(1).scaleb(-unitdp)))
        out[key] = details
    if doc.get("Name"):
        out["Name"] = doc["Name"]
    out.update({"IsTrackedAsInventory": bool(doc.get("IsTrackedAsInventory")), "IsSold": doc["IsSold"],
                "IsPurchased": doc["IsPurchased"]})
    return out


def failed_item(element: Any, messages: list[str], candidate: dict[str, Any] | None) -> dict[str, Any]:
    out = render_item(candidate) if candidate else {"Code": element.get("Code") if isinstance(element, dict) else None}
    out.pop("UpdatedDateUTC", None)
    out["ItemID"] = ZERO_ID
    out["ValidationErrors"] = [{"Message": m} for m in messages]
    return out

