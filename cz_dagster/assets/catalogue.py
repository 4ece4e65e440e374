"""``connectwise/product_catalogue``: the location organisation's Xero items -> ConnectWise catalogue items,
created or updated by item code (= catalogue identifier), idempotently."""

from typing import Any

from dagster import AssetKey

from cz_dagster.assets.common import FlowOutcome, SyncScope, connectwise, md_table, writer_asset
from cz_dagster.resources import ConnectWiseResource
from cz_dagster.resources.connectwise import ConnectWiseError
from cz_dagster.store.ledger import Ledger
from cz_dagster.store.reference import ReferenceMirror
from cz_dagster.sync.hashing import stable_hash
from cz_dagster.sync.vocabulary import Surface

CATALOGUE_KEY = AssetKey(["connectwise", "product_catalogue"])
COMPARED = ("description", "customerDescription", "price", "cost", "inactiveFlag")


def catalog_fields(item: dict[str, Any]) -> dict[str, Any]:
    """The ConnectWise catalogue fields a Xero item determines (ConnectWise's length limits applied)."""
    name = str(item.get("Name") or item.get("Code"))
    return {
        "description": name[:60],
        "customerDescription": str(item.get("Description") or name)[:6000],
        "price": float((item.get("SalesDetails") or {}).get("UnitPrice") or 0),
        "cost": float((item.get("PurchaseDetails") or {}).get("UnitPrice") or 0),
        "inactiveFlag": False,
        "integrationXRef": str(item.get("ItemID") or "")[:50] or None,
    }


def sync_catalogue(scope: SyncScope, cw_res: ConnectWiseResource) -> dict[str, Any]:
    st, t, loc = scope.store, scope.tenant.slug, scope.location.slug
    items = ReferenceMirror(st, t, loc, "items").items()
    ledger = Ledger(st, t, loc, Surface.CATALOGUE, scope.run_id)
    counts = {"items": len(items), "created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    moved: list[dict[str, Any]] = []
    errors: dict[tuple[str, str], str] = {}
    if not items:
        return {**counts, "moved": moved, "errors": errors}
    versions = {code: stable_hash(catalog_fields(item)) for code, item in items.items()}
    ledger.record([(code, versions[code], code) for code in items])
    done_rows = {r.key for r in ledger.in_state("done")}
    todo = {code: item for code, item in items.items() if (code, versions[code]) not in done_rows}
    if not todo:
        counts["unchanged"] = len(items)
        return {**counts, "moved": moved, "errors": errors}
    cw = connectwise(scope, cw_res)
    listed = cw.get_all("procurement/catalog", surface=Surface.CATALOGUE)
    existing = {str(c.get("identifier")).casefold(): c for c in listed}
    subcategory = type_ = None
    for code, item in sorted(todo.items()):
        key = (code, versions[code])
        fields = catalog_fields(item)
        if len(code) > 75:
            errors[key] = f"item code {code!r} is longer than ConnectWise's 75-character catalogue identifier"
            continue
        current = existing.get(code.casefold())
        try:
            if current is None:
                if subcategory is None:
                    subcategory = cw.get_all("procurement/subcategories", surface=Surface.CATALOGUE)[0]
                    type_ = cw.get_all("procurement/types", surface=Surface.CATALOGUE)[0]
                body = {"identifier": code, **{k: v for k, v in fields.items() if v is not None},
                        "subcategory": {"id": subcategory["id"]}, "type": {"id": type_["id"]}}
                ledger.mark_sending([key], f"catalogue-{code}")
                try:
                    created = cw.request("POST", "procurement/catalog", surface=Surface.CATALOGUE, json=body).json()
                except ConnectWiseError as exc:
                    if "ObjectExists" not in str(exc.body):
                        raise
                    created = cw.get_all("procurement/catalog", surface=Surface.CATALOGUE,
                                         conditions=f'identifier="{code}"')[0]
                ledger.mark_done_many({key: str(created["id"])})
                counts["created"] += 1
                moved.append({"code": code, "description": fields["description"], "how": "created"})
                continue
            changes = [{"op": "replace", "path": k, "value": fields[k]} for k in COMPARED
                       if fields[k] is not None and current.get(k) != fields[k]]
            if changes:
                cw.patch(f"procurement/catalog/{current['id']}", changes, surface=Surface.CATALOGUE)
                counts["updated"] += 1
                moved.append({"code": code, "description": fields["description"],
                              "how": "updated " + ", ".join(c["path"] for c in changes)})
            else:
                counts["unchanged"] += 1
            ledger.mark_done_many({key: str(current["id"])})
        except ConnectWiseError as exc:
            errors[key] = f"item {code}: ConnectWise refused the catalogue write: {exc}"
    ledger.mark_error_many(errors)
    ledger.close_missing(list(items), "no longer an item in Xero")
    counts["failed"] = len(errors)
    return {**counts, "moved": moved, "errors": errors}


@writer_asset(
    CATALOGUE_KEY,
    flow=Surface.CATALOGUE,
    uses_xero=False,
    deps=[AssetKey(["xero", "items"])],
    check="No catalogue item of this tenant-location sits in error",
    description="The mirrored Xero items of the location's organisation -> ConnectWise product catalogue items, "
                "created or updated by item code.",
)
def product_catalogue(scope: SyncScope, connectwise_api: ConnectWiseResource, _xero: None, _log: Any) -> FlowOutcome:
    out = sync_catalogue(scope, connectwise_api)
    return FlowOutcome(out["errors"], {**{k: v for k, v in out.items() if isinstance(v, int)},
                                       "moved": md_table(out["moved"], ["code", "description", "how"])})
