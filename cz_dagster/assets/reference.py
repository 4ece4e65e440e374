"""Reference mirrors: Xero's accounts, currencies, tax rates, invoice statuses, tracking categories and items
of each location's organisation, stored with what changed, for mapping and pre-flight checks."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult, asset

from cz_dagster.assets.common import md_table, sync_scope, xero
from cz_dagster.partitions import tenant_location
from cz_dagster.resources import StoreResource, XeroResource
from cz_dagster.resources.xero import XeroClient, reads
from cz_dagster.store.reference import ReferenceMirror
from cz_dagster.sync.vocabulary import REFERENCE


@dataclass(frozen=True)
class MirrorSpec:
    name: str
    description: str
    fetch: Callable[[XeroClient | None], list[dict[str, Any]]]
    key: str
    label: str


# Xero's invoice statuses are a fixed enumeration (Invoice.Status in xero_accounting.yaml); no API serves them.
INVOICE_STATUSES = {
    "DRAFT": "Draft: not yet submitted", "SUBMITTED": "Awaiting approval", "AUTHORISED": "Awaiting payment",
    "PAID": "Paid in full", "VOIDED": "Voided (was authorised)", "DELETED": "Deleted (was draft or submitted)",
}


def _invoice_statuses(_xc: XeroClient | None) -> list[dict[str, Any]]:
    return [{"Status": k, "Description": v} for k, v in INVOICE_STATUSES.items()]


def _xero_list(name: str) -> Callable[[XeroClient | None], list[dict[str, Any]]]:
    return lambda xc: reads.MIRRORS[name](xc)


ACCOUNTING_MIRRORS = [
    MirrorSpec("accounts", "The organisation's chart of accounts (codes, types, status).", _xero_list("accounts"),
               "Code", "Name"),
    MirrorSpec("currencies", "The currencies enabled in the organisation.", _xero_list("currencies"), "Code",
               "Description"),
    MirrorSpec("tax_rates", "Tax rates (tax types, status, effective rate).", _xero_list("tax_rates"), "TaxType",
               "Name"),
    MirrorSpec("invoice_statuses", "Xero's invoice statuses, for status mapping.", _invoice_statuses, "Status",
               "Description"),
]

OTHER_MIRRORS = [
    MirrorSpec("tracking_categories", "Tracking categories and their options (location mapping).",
               _xero_list("tracking_categories"), "TrackingCategoryID", "Name"),
    MirrorSpec("items", "The organisation's items (feeds the ConnectWise product catalogue).", _xero_list("items"),
               "Code", "Name"),
    MirrorSpec("earnings_rates", "Payroll earnings rates (work type -> earnings rate mapping).",
               _xero_list("earnings_rates"), "EarningsRateID", "Name"),
    MirrorSpec("leave_types", "Payroll leave types.", _xero_list("leave_types"), "LeaveTypeID", "Name"),
    MirrorSpec("leave_applications", "Payroll leave applications.", _xero_list("leave_applications"),
               "LeaveApplicationID", "Title"),
    MirrorSpec("payroll_calendars", "Payroll calendars (the pay periods timesheets must match).",
               _xero_list("payroll_calendars"), "PayrollCalendarID", "Name"),
]


def build_mirror_asset(spec: MirrorSpec) -> AssetsDefinition:
    key = AssetKey(["xero", spec.name])

    @asset(key=key, group_name=REFERENCE, partitions_def=tenant_location, kinds={"xero"},
           description=f"{spec.description} Mirrored per location's Xero organisation.")
    def _mirror(context: AssetExecutionContext, store: StoreResource, xero_api: XeroResource) -> MaterializeResult:
        st = store.get()
        with sync_scope(context, st) as scope:
            if scope.disabled:
                return MaterializeResult(metadata={"skipped_reason": scope.skip_reason})
            records = spec.fetch(xero(scope, xero_api)) if spec.name != "invoice_statuses" else spec.fetch(None)
            current = {str(r.get(spec.key)): r for r in records if r.get(spec.key) is not None}
            names = {k: str(r.get(spec.label) or "") for k, r in current.items()}
            mirror = ReferenceMirror(st, scope.tenant.slug, scope.location.slug, spec.name)
            before = mirror.items(include_removed=True)
            changes = mirror.apply(current, names)
            rows = ([{"key": k, "name": names.get(k), "change": "added"} for k in changes.added]
                    + [{"key": k, "name": names.get(k), "change": "changed"} for k in changes.changed]
                    + [{"key": k, "name": (before.get(k) or {}).get(spec.label), "change": "removed"}
                       for k in changes.removed])
            return MaterializeResult(metadata={
                "xero_organisation": scope.org_label,
                "records": len(current), "added": len(changes.added), "changed": len(changes.changed),
                "removed": len(changes.removed), **scope.recorder.summary(),
                "changes": md_table(rows, ["key", "name", "change"]),
            })

    return _mirror


reference_assets = [build_mirror_asset(spec) for spec in ACCOUNTING_MIRRORS + OTHER_MIRRORS]
