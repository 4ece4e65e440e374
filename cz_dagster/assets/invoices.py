"""``xero/invoices``: a location's unposted ConnectWise invoices -> ACCREC invoices in its Xero organisation,
exactly once, then marked posted in ConnectWise with an accounting batch (see ``posting``)."""

from typing import Any

from dagster import AssetKey

from cz_dagster.assets.common import FlowOutcome, SyncScope, writer_asset
from cz_dagster.assets.contacts import CONTACTS_KEY
from cz_dagster.assets.posting import PREFLIGHT_MIRRORS, DocKind, PostingSync, posting_metadata
from cz_dagster.resources import ConnectWiseResource, XeroResource
from cz_dagster.sync.invoices import source_invoices, to_xero_invoice
from cz_dagster.sync.vocabulary import Surface

INVOICES_KEY = AssetKey(["xero", "invoices"])

INVOICE_KIND = DocKind(
    surface=Surface.INVOICES, label="invoice", xero_type="ACCREC",
    export=lambda cw, location_id: cw.export_invoices(location_id),
    sources=source_invoices, keep=lambda doc: not doc.credit, to_xero=to_xero_invoice, batch_flags={"invoices": True},
    unique_numbers=True,
    unposted_path="finance/accounting/unpostedinvoices",
)


@writer_asset(
    INVOICES_KEY,
    flow=Surface.INVOICES,
    deps=[CONTACTS_KEY, *(AssetKey(["xero", m]) for m in PREFLIGHT_MIRRORS)],
    check="No invoice of this tenant-location sits in error",
    description="Unposted ConnectWise invoices of the location -> ACCREC invoices in its Xero organisation "
                "(batches of 50, Idempotency-Key, per-element results in the ledger), then marked posted in "
                "ConnectWise with an accounting batch.",
)
def invoices(scope: SyncScope, connectwise_api: ConnectWiseResource, xero_api: XeroResource, log: Any) -> FlowOutcome:
    out = PostingSync(scope, INVOICE_KIND, connectwise_api, xero_api, log).run()
    return FlowOutcome(out["errors"], posting_metadata(out, "invoice"))
