"""``xero/staff``: the location's active ConnectWise members mapped to Xero Payroll AU employees (matched by
email, employee identifier, then name; by hand with `cz map member`); the unmatched are reported."""

from typing import Any

from dagster import AssetKey

from cz_dagster.assets.common import FlowOutcome, SyncScope, connectwise, md_table, writer_asset, xero
from cz_dagster.resources import ConnectWiseResource, XeroResource
from cz_dagster.resources.xero import reads
from cz_dagster.store.ledger import Ledger
from cz_dagster.store.mappings import Mappings
from cz_dagster.sync.hashing import stable_hash
from cz_dagster.sync.staff import match_members
from cz_dagster.sync.vocabulary import MEMBER_EMPLOYEE, Surface

STAFF_KEY = AssetKey(["xero", "staff"])
MEMBER_KIND = MEMBER_EMPLOYEE


def sync_staff(scope: SyncScope, cw_res: ConnectWiseResource, xero_res: XeroResource) -> dict[str, Any]:
    store, tenant, loc = scope.store, scope.tenant.slug, scope.location.slug
    members = connectwise(scope, cw_res).get_all(
        "system/members", surface=Surface.PAYROLL,
        conditions=f"inactiveFlag=False AND defaultLocation/id={scope.location.cw_location_id}")
    employees = reads.employees(xero(scope, xero_res))
    mappings = Mappings(store, tenant, loc, MEMBER_KIND)
    manual = {k: m.target_id for k, m in mappings.all().items() if m.origin == "manual"}
    matches = match_members(members, employees, manual)
    ledger = Ledger(store, tenant, loc, Surface.STAFF, scope.run_id)
    versions = {m.member_id: stable_hash([m.employee_id, m.how]) for m in matches}
    ledger.record([(m.member_id, versions[m.member_id], m.member_name) for m in matches])
    done, errors = {}, {}
    counts: dict[str, int] = {"matched": 0, "unmatched": 0}
    for m in matches:
        key = (m.member_id, versions[m.member_id])
        if m.employee_id and m.how not in ("terminated",):
            if m.how != "manual":
                mappings.put(m.member_id, m.employee_id, m.employee_name, "matched")
            done[key] = m.employee_id
            counts["matched"] += 1
            counts[f"matched_by_{m.how}"] = counts.get(f"matched_by_{m.how}", 0) + 1
        else:
            errors[key] = m.detail
            counts["unmatched"] += 1
    ledger.mark_done_many(done)
    ledger.mark_error_many(errors)
    ledger.close_missing([m.member_id for m in matches], "no longer an active member of this location")
    rows = [{"member": m.member_name, "employee": m.employee_name, "how": m.how, "detail": m.detail} for m in matches]
    return {**counts, "rows": rows, "errors": errors, "members": len(members), "employees": len(employees)}


@writer_asset(
    STAFF_KEY,
    flow=Surface.STAFF,
    check="Every active member of this location maps to a Xero employee",
    description="Active ConnectWise members of the location -> Xero Payroll AU employees (email, employee "
                "identifier, then name; `cz map member` by hand); the unmatched are reported, never invented.",
)
def staff(scope: SyncScope, connectwise_api: ConnectWiseResource, xero_api: XeroResource, _log: Any) -> FlowOutcome:
    out = sync_staff(scope, connectwise_api, xero_api)
    return FlowOutcome(out["errors"], {**{k: v for k, v in out.items() if isinstance(v, int)},
                                       "mapping": md_table(out["rows"], ["member", "employee", "how", "detail"])})
