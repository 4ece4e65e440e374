"""``xero/bills``: a location's unposted ConnectWise procurement -> ACCPAY bills against the matching supplier
contact (matched or created), exactly once, then marked posted in ConnectWise."""

from typing import Any

from dagster import AssetKey

from cz_dagster.assets.common import FlowOutcome, SyncScope, connectwise, md_table, writer_asset
from cz_dagster.assets.contacts import companies_on, ensure_contacts
from cz_dagster.assets.posting import PREFLIGHT_MIRRORS, DocKind, PostingSync, posting_metadata
from cz_dagster.resources import ConnectWiseResource, XeroResource
from cz_dagster.sync.bills import source_bills, to_xero_bill
from cz_dagster.sync.vocabulary import Surface

BILLS_KEY = AssetKey(["xero", "bills"])

BILL_KIND = DocKind(
    surface=Surface.BILLS, label="bill", xero_type="ACCPAY",
    export=lambda cw, location_id: cw.export_procurement(location_id),
    sources=source_bills, to_xero=to_xero_bill, batch_flags={"invoices": False, "products": True},
    unique_numbers=False, detail_key="purchaseDetail", contact_surface=Surface.SUPPLIERS, confirm_after_batch=True,
)


@writer_asset(
    BILLS_KEY,
    flow=Surface.BILLS,
    surfaces=[Surface.BILLS, Surface.SUPPLIERS],
    deps=[AssetKey(["xero", m]) for m in PREFLIGHT_MIRRORS],
    check="No procurement or supplier of this tenant-location sits in error",
    description="Unposted ConnectWise procurement of the location -> ACCPAY bills against the supplier contact "
                "(Reference CW-PROC-<id> makes re-runs find a bill instead of duplicating it), then marked posted.",
)
def bills(scope: SyncScope, connectwise_api: ConnectWiseResource, xero_api: XeroResource, log: Any) -> FlowOutcome:
    export = BILL_KIND.export(connectwise(scope, connectwise_api), scope.location.cw_location_id)
    vendors = companies_on(export, "purchaseTransactions", "vendor", "company")
    suppliers = ensure_contacts(scope, connectwise_api, xero_api, vendors, Surface.SUPPLIERS)
    out = PostingSync(scope, BILL_KIND, connectwise_api, xero_api, log).run(export)
    return FlowOutcome({**out["errors"], **suppliers["errors"]}, {
        **posting_metadata(out, "bill"),
        "suppliers_matched": suppliers["matched"], "suppliers_created": suppliers["created"],
        "suppliers_failed": suppliers["failed"],
        "suppliers": md_table(suppliers["moved"], ["company", "contact", "how", "contact_id"]),
    })
