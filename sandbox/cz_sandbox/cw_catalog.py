"""The product catalogue (procurement/catalog) and its reference lists (categories, subcategories, types).

Validation as the 2025.1 spec states it: identifier (<=75), description (<=60), subcategory, type and
customerDescription (<=6000) are required on POST and PUT; integrationXRef <=50; a second item with the same
identifier (case-insensitive) is 400 ObjectExists. Errors list every failing field, like the real API.
Seeded: the first four demo.XERO_ITEMS codes with stale descriptions and prices (so a sync updates them) and
demo.CW_CATALOG_ITEMS (ConnectWise-only items, one inactive). Ids from 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from cz_sandbox import demo
from cz_sandbox.cw_common import API_MEMBER, CwError, info, not_found, now, patch_ops, verror
from cz_sandbox.cw_seed import World, drop_nulls, fmt

CATEGORIES = [{"id": 1, "name": "Hardware"}, {"id": 2, "name": "Software"}, {"id": 3, "name": "Services"}]
SUBCATEGORIES = [
    {"id": 1, "name": "General", "category": {"id": 3, "name": "Services"}},
    {"id": 2, "name": "Laptops", "category": {"id": 1, "name": "Hardware"}},
    {"id": 3, "name": "Networking", "category": {"id": 1, "name": "Hardware"}},
    {"id": 4, "name": "Licences", "category": {"id": 2, "name": "Software"}},
    {"id": 5, "name": "Managed Services", "category": {"id": 3, "name": "Services"}},
]
TYPES = [{"id": 1, "name": "Non-Inventory"}, {"id": 2, "name": "Service"}, {"id": 3, "name": "Inventory"}]
PRODUCT_CLASSES = ("Agreement", "Bundle", "Inventory", "NonInventory", "Service")
REQUIRED = ("identifier", "description", "subcategory", "type", "customerDescription")
LIMITS = {"identifier": 75, "description": 60, "customerDescription": 6000, "integrationXRef": 50}
WRITABLE = {"identifier", "description", "customerDescription", "subcategory", "type", "productClass", "price",
            "cost", "taxableFlag", "inactiveFlag", "unitOfMeasure", "integrationXRef", "vendor", "category",
            "manufacturer", "manufacturerPartNumber", "vendorSku", "billableOption", "notes"}
RESOURCE = "catalogItem"

KNOWN = {
    "catalog": "id identifier description customerDescription category/* subcategory/* type/* productClass price cost "
               "taxableFlag inactiveFlag unitOfMeasure/* integrationXRef vendor/* manufacturer/* "
               "manufacturerPartNumber vendorSku billableOption",
    "subcategories": "id name category/* inactiveFlag",
    "categories": "id name inactiveFlag",
    "types": "id name inactiveFlag",
}


def _ref(table: list[dict[str, Any]], value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    if value.get("id") is not None:
        return next((dict(r) for r in table if r["id"] == value["id"]), None)
    return next((dict(r) for r in table if r["name"].casefold() == str(value.get("name", "")).casefold()), None)


@dataclass
class Catalog:
    world: World
    items: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1

    def seed(self) -> None:
        stamp = self.world.anchor - timedelta(days=120)
        for item in (getattr(demo, "XERO_ITEMS", None) or [])[:4]:
            self._store({"identifier": item["Code"], "description": f"{item['Name']} (old)"[:60],
                         "customerDescription": item["Name"], "price": 1.0, "cost": 0.5,
                         "subcategory": SUBCATEGORIES[4], "type": TYPES[1]}, stamp)
        for spec in demo.CW_CATALOG_ITEMS:
            service = spec["type"] == "Service"
            self._store({"identifier": spec["identifier"], "description": spec["description"],
                         "customerDescription": spec["description"], "price": spec["price"], "cost": spec["cost"],
                         "subcategory": SUBCATEGORIES[0] if service else SUBCATEGORIES[2],
                         "type": _ref(TYPES, {"name": spec["type"]}),
                         "productClass": "Service" if service else "NonInventory",
                         "inactiveFlag": spec.get("inactiveFlag", False)}, stamp)

    def _store(self, body: dict[str, Any], stamp: Any, item_id: int | None = None) -> dict[str, Any]:
        if item_id is None:
            item_id, self.next_id = self.next_id, self.next_id + 1
            entered = info(stamp, API_MEMBER)
        else:
            old = self.items[item_id]["_info"]
            entered = {**old, "lastUpdated": fmt(stamp), "updatedBy": API_MEMBER}
        item = {"id": item_id, "productClass": "NonInventory", "taxableFlag": True, "inactiveFlag": False,
                "price": 0.0, "cost": 0.0, "unitOfMeasure": {"id": 1, "name": "Each"}, "billableOption": "Billable",
                **{k: v for k, v in body.items() if k in WRITABLE}}
        sub = item.get("subcategory")
        if sub and "category" in sub:
            item["category"] = dict(sub["category"])
        item["_info"] = entered
        self.items[item_id] = drop_nulls(item)
        return self.items[item_id]

    def get(self, raw: str) -> dict[str, Any]:
        item = self.items.get(int(raw)) if raw.isdigit() else None
        if item is None:
            raise not_found("CatalogItem", raw)
        return item

    def _validate(self, body: dict[str, Any], item_id: int | None) -> dict[str, Any]:
        errors = []
        for name in REQUIRED:
            value = body.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                errors.append(verror("MissingRequiredField", f"The {name} field is required.", RESOURCE, name))
        for name, limit in LIMITS.items():
            value = body.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > limit):
                errors.append(verror("InvalidField", f"The field {name} must be a string with a maximum length of "
                                     f"{limit}.", RESOURCE, name))
        out = dict(body)
        for name, table in (("subcategory", SUBCATEGORIES), ("type", TYPES), ("category", CATEGORIES)):
            if body.get(name) is not None:
                ref = _ref(table, body[name])
                if ref is None:
                    errors.append(verror("InvalidField", f"{name} {body[name]!r} was not found.", RESOURCE, name))
                out[name] = ref
        if body.get("productClass") is not None and body["productClass"] not in PRODUCT_CLASSES:
            errors.append(verror("InvalidField", f"productClass must be one of {', '.join(PRODUCT_CLASSES)}.",
                                 RESOURCE, "productClass"))
        for name in ("price", "cost"):
            value = body.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                errors.append(verror("InvalidField", f"{name} must be a number.", RESOURCE, name))
        if errors:
            raise CwError(400, {"code": "InvalidObject", "message": f"{RESOURCE} object is invalid",
                                "errors": errors})
        ident = str(body["identifier"]).casefold()
        if any(str(c["identifier"]).casefold() == ident and c["id"] != item_id for c in self.items.values()):
            raise CwError(400, {"code": "InvalidObject", "message": f"{RESOURCE} object is invalid", "errors": [
                verror("ObjectExists", f"A product with identifier {body['identifier']!r} already exists.",
                       RESOURCE, "identifier")]})
        return out

    def create(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise CwError(400, {"code": "InvalidObject", "message": "The request body must be a CatalogItem object.",
                                "errors": []})
        return self._store(self._validate(body, None), now())

    def put(self, raw: str, body: Any) -> dict[str, Any]:
        """PUT replaces the item: fields not sent go back to their defaults."""
        item = self.get(raw)
        if not isinstance(body, dict):
            raise CwError(400, {"code": "InvalidObject", "message": "The request body must be a CatalogItem object.",
                                "errors": []})
        return self._store(self._validate(body, item["id"]), now(), item["id"])

    def patch(self, raw: str, body: Any) -> dict[str, Any]:
        item = self.get(raw)
        merged = {k: v for k, v in item.items() if k not in ("id", "_info")}
        for op, path, value in patch_ops(body, RESOURCE):
            if path not in WRITABLE:
                raise CwError(400, {"code": "InvalidObject", "message": f"{RESOURCE} object is invalid", "errors": [
                    verror("InvalidField", f"{path} is not a field of a catalog item that can be patched.",
                           RESOURCE, path)]})
            if op == "remove":
                merged.pop(path, None)
            else:
                merged[path] = value
        return self._store(self._validate(merged, item["id"]), now(), item["id"])

    def state(self) -> dict[str, Any]:
        return {"catalog": [self.items[k] for k in sorted(self.items)]}


__all__ = ["CATEGORIES", "KNOWN", "SUBCATEGORIES", "TYPES", "Catalog"]
