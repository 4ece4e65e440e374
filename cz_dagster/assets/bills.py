"""``xero/bills``: a location's unposted ConnectWise procurement -> ACCPAY bills against the matching supplier
contact (matched or created), exactly once, then marked posted in ConnectWise."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult

from cz_dagster.assets.common import connectwise, md_table, skipped_result, sync_scope, writer_asset, writer_result
from cz_dagster.assets.contacts import companies_on, ensure_contacts
from cz_dagster.assets.posting import PREFLIGHT_MIRRORS, DocKind, PostingSync, posting_metadata
from cz_dagster.resources import ConnectWiseResource, StoreResource, XeroResource
from cz_dagster.sync.bills import source_bills, to_xero_bill
from cz_dagster.sync.vocabulary import MONEY, Surface

BILLS_KEY = AssetKey(["xero", "bills"])

BILL_KIND = DocKind(
    surface=Surface.BILLS, label="bill", xero_type="ACCPAY",
    export=lambda cw, location_id: cw.export_procurement(location_id),
    sources=source_bills, to_xero=to_xero_bill, batch_flags={"invoices": False, "products": True},
    unique_numbers=False, detail_key="purchaseDetail", contact_surface=Surface.SUPPLIERS, confirm_after_batch=True,
)


@writer_asset(
    BILLS_KEY,
    group=MONEY,
    deps=[AssetKey(["xero", m]) for m in PREFLIGHT_MIRRORS],
    check="No procurement or supplier of this tenant-location sits in error",
    description="Unposted ConnectWise procurement of the location -> ACCPAY bills against the supplier contact "
                "(Reference CW-PROC-<id> makes re-runs find a bill instead of duplicating it), then marked posted.",
)
def bills(context: AssetExecutionContext, store: StoreResource, connectwise_api: ConnectWiseResource,
          xero_api: XeroResource) -> MaterializeResult:
    st = store.get()
    with sync_scope(context, st, flow=Surface.BILLS) as scope:
        if scope.disabled:
            return skipped_result(context, scope, [Surface.BILLS, Surface.SUPPLIERS])
        export = BILL_KIND.export(connectwise(scope, connectwise_api), scope.location.cw_location_id)
        vendors = companies_on(export, "purchaseTransactions", "vendor", "company")
        suppliers = ensure_contacts(scope, connectwise_api, xero_api, vendors, Surface.SUPPLIERS)
        out = PostingSync(scope, BILL_KIND, connectwise_api, xero_api, context.log).run(export)
        metadata = posting_metadata(scope, out, "bill")
        metadata.update({"suppliers_matched": suppliers["matched"], "suppliers_created": suppliers["created"],
                         "suppliers_failed": suppliers["failed"],
                         "suppliers": md_table(suppliers["moved"], ["company", "contact", "how", "contact_id"])})
        return writer_result(context, scope, {**out["errors"], **suppliers["errors"]}, metadata,
                             [Surface.BILLS, Surface.SUPPLIERS])
