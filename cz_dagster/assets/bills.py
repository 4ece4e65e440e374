"""``xero/bills``: a location's unposted ConnectWise procurement -> ACCPAY bills against the matching supplier
contact (matched or created), exactly once, then marked posted in ConnectWise; negative procurement (a vendor
return or credit) -> an ACCPAYCREDIT credit note against the same supplier, by the same protocol."""

from typing import Any

from dagster import AssetKey

from cz_dagster.assets.common import FlowOutcome, SyncScope, connectwise, md_table, writer_asset
from cz_dagster.assets.contacts import companies_on, ensure_contacts
from cz_dagster.assets.posting import PREFLIGHT_MIRRORS, DocKind, PostingSync, posting_metadata
from cz_dagster.resources import ConnectWiseResource, XeroResource
from cz_dagster.resources.xero.reads import Collection
from cz_dagster.sync.bills import source_bills, to_xero_bill, to_xero_supplier_credit
from cz_dagster.sync.vocabulary import Surface

BILLS_KEY = AssetKey(["xero", "bills"])

BILL_KIND = DocKind(
    surface=Surface.BILLS, label="bill", xero_type="ACCPAY",
    export=lambda cw, location_id: cw.export_procurement(location_id),
    sources=source_bills, keep=lambda doc: not doc.credit, to_xero=to_xero_bill,
    batch_flags={"invoices": False, "products": True}, unique_numbers=False, detail_key="purchaseDetail",
    contact_surface=Surface.SUPPLIERS, confirm_after_batch=True,
)
SUPPLIER_CREDIT_KIND = DocKind(
    surface=Surface.SUPPLIER_CREDITS, label="supplier credit", xero_type="ACCPAYCREDIT", export=BILL_KIND.export,
    sources=source_bills, keep=lambda doc: doc.credit, to_xero=to_xero_supplier_credit,
    batch_flags=BILL_KIND.batch_flags, unique_numbers=False, detail_key="purchaseDetail",
    contact_surface=Surface.SUPPLIERS, confirm_after_batch=True, collection=Collection.CREDIT_NOTES,
)


@writer_asset(
    BILLS_KEY,
    flow=Surface.BILLS,
    surfaces=[Surface.BILLS, Surface.SUPPLIER_CREDITS, Surface.SUPPLIERS],
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
    credits = PostingSync(scope, SUPPLIER_CREDIT_KIND, connectwise_api, xero_api, log).run(export)
    return FlowOutcome({**out["errors"], **credits["errors"], **suppliers["errors"]}, {
        **posting_metadata(out, "bill"),
        "supplier_credits_posted": credits["posted"], "supplier_credits_failed": credits["failed"],
        "supplier_credits": md_table(credits["moved"], ["supplier credit", "contact", "total", "xero_total", "how",
                                                        "xero_id"]),
        "suppliers_matched": suppliers["matched"], "suppliers_created": suppliers["created"],
        "suppliers_failed": suppliers["failed"],
        "suppliers": md_table(suppliers["moved"], ["company", "contact", "how", "contact_id"]),
    })
