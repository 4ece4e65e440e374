"""``reports/reconciliation``: do the two books agree for a tenant-location? Daily (the reports family) and on
demand. It writes to neither system: it reads what the ledger says we posted, our documents in Xero (one paged
sweep per kind of document: a thousand documents a call) and the ConnectWise invoices behind them (two hundred a
call), and hands them to ``sync.reconcile``. The counts are numeric metadata (plotted over time in the UI), every
difference is a table row with its likely cause and fix, ``books_agree`` is the asset check, and the last count is
kept (a cursor, no accounting record) for the daily summary email.
"""

import json
from decimal import Decimal
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    asset,
)

from cz_dagster.assets.bills import BILLS_KEY
from cz_dagster.assets.common import connectwise, md_table, sync_scope, xero
from cz_dagster.assets.contacts import MAPPING_KIND
from cz_dagster.assets.credit_notes import CREDIT_NOTES_KEY
from cz_dagster.assets.invoices import INVOICES_KEY
from cz_dagster.assets.payments import PAYMENTS_KEY
from cz_dagster.assets.posting import xero_id, xero_number
from cz_dagster.partitions import tenant_location
from cz_dagster.resources import ConnectWiseResource, StoreResource, XeroResource
from cz_dagster.resources.xero import reads
from cz_dagster.resources.xero.reads import Collection
from cz_dagster.store.cursors import Cursors
from cz_dagster.store.ledger import Ledger, LedgerRow
from cz_dagster.store.mappings import Mappings
from cz_dagster.store.schema import utcnow
from cz_dagster.sync.enums import enum_name
from cz_dagster.sync.reconcile import CwSide, Posted, XeroSide, compare
from cz_dagster.sync.vocabulary import REPORTS, Surface

RECONCILIATION_KEY = AssetKey(["reports", "reconciliation"])
CURSOR = "reconciliation"  # {"at": ISO time, "differences": n}: what the daily summary says

# (ledger surface, what the finance lead calls it, Xero collection, Xero type, our Reference prefix, read back
# from ConnectWise's invoices)
KINDS = (
    (Surface.INVOICES, "invoice", Collection.INVOICES, "ACCREC", "CW-INV-", True),
    (Surface.CREDIT_NOTES, "credit note", Collection.CREDIT_NOTES, "ACCRECCREDIT", "CW-INV-", True),
    (Surface.BILLS, "bill", Collection.INVOICES, "ACCPAY", "CW-PROC-", False),
    (Surface.SUPPLIER_CREDITS, "supplier credit", Collection.CREDIT_NOTES, "ACCPAYCREDIT", "CW-PROC-", False),
)


def _dec(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def _xero_side(doc: Any, credit: bool) -> XeroSide:
    contact = getattr(doc, "contact", None)
    return XeroSide(
        xero_id=str(xero_id(doc)), number=xero_number(doc),
        status=enum_name(doc.status), total=_dec(doc.total), tax=_dec(doc.total_tax),
        due=_dec(doc.remaining_credit if credit else doc.amount_due),
        contact_id=str(contact.contact_id) if contact is not None and contact.contact_id else None,
        reference=doc.reference)


def _latest_done(rows: list[LedgerRow]) -> list[LedgerRow]:
    """The newest posted version of each record (an edit after posting keeps both versions)."""
    out: dict[str, LedgerRow] = {}
    for r in rows:
        if r.target_id and (r.source_id not in out or r.updated_at > out[r.source_id].updated_at):
            out[r.source_id] = r
    return list(out.values())


def reconcile(scope: Any, cw_res: ConnectWiseResource, xero_res: XeroResource) -> dict[str, Any]:
    st, t, loc = scope.store, scope.tenant.slug, scope.location.slug
    xc = xero(scope, xero_res)
    contacts = {k: m.target_id for k, m in Mappings(st, t, loc, MAPPING_KIND).all().items()}
    differences, checked = [], 0
    for surface, kind, collection, xero_type, prefix, from_cw in KINDS:
        rows = _latest_done(Ledger(st, t, loc, surface).in_state("done"))
        credit = collection == Collection.CREDIT_NOTES
        in_xero = [_xero_side(d, credit) for d in reads.ours(xc, Surface.RECONCILIATION, collection, xero_type,
                                                              prefix)]
        if not rows and not in_xero:
            continue
        xero_side = {x.xero_id: x for x in in_xero}
        made = {r.target_id for r in rows}
        strays = [x for x in xero_side.values() if x.xero_id not in made and x.status not in ("VOIDED", "DELETED")]
        cw_side = None
        if from_cw:
            cw_side = {}
            for inv in connectwise(scope, cw_res).get_by_ids(
                    "finance/invoices", [int(r.source_id) for r in rows], surface=Surface.RECONCILIATION,
                    fields="id,invoiceNumber,total,salesTax,balance,company/id"):
                company = str((inv.get("company") or {}).get("id") or "")
                cw_side[str(inv["id"])] = CwSide(str(inv["id"]), str(inv.get("invoiceNumber")), _dec(inv.get("total")),
                                                 _dec(inv.get("salesTax")), _dec(inv.get("balance")),
                                                 contacts.get(company))
        posted = [Posted(kind, r.source_id, r.label or r.source_id, str(r.target_id), credit=credit) for r in rows]
        differences += compare(posted, xero_side, cw_side, strays)
        checked += len(posted)
    return {"checked": checked, "differences": differences}


@asset(key=RECONCILIATION_KEY, group_name=REPORTS, partitions_def=tenant_location, kinds={"connectwise", "xero"},
       deps=[INVOICES_KEY, CREDIT_NOTES_KEY, BILLS_KEY, PAYMENTS_KEY],
       description="Does what was posted agree in both books? Every posted invoice, credit note, bill and supplier "
                   "credit against Xero and ConnectWise (number, customer, total, tax, what is due, voided or "
                   "deleted on either side) and every Xero document with our reference the ledger does not know.",
       check_specs=[AssetCheckSpec("books_agree", asset=RECONCILIATION_KEY,
                                   description="ConnectWise and Xero agree on every document this product posted")])
def reconciliation(context: AssetExecutionContext, store: StoreResource, connectwise_api: ConnectWiseResource,
                   xero_api: XeroResource) -> MaterializeResult:
    st = store.get()
    with sync_scope(context, st) as scope:
        if scope.disabled:
            return MaterializeResult(metadata={"skipped_reason": scope.skip_reason}, check_results=[
                AssetCheckResult(check_name="books_agree", passed=True, metadata={"skipped": scope.skip_reason})])
        out = reconcile(scope, connectwise_api, xero_api)
        rows = [d.row() for d in out["differences"]]
        Cursors(st, scope.tenant.slug, scope.location.slug).put(CURSOR, json.dumps(
            {"at": utcnow().isoformat(), "differences": len(rows), "checked": out["checked"]}))
        table = md_table(rows, ["record", "difference", "likely cause", "fix"])
        return MaterializeResult(
            metadata={"xero_organisation": scope.org_label, "checked": out["checked"], "differences": len(rows),
                      **scope.recorder.summary(), "table": table},
            check_results=[AssetCheckResult(check_name="books_agree", passed=not rows,
                                            severity=AssetCheckSeverity.ERROR,
                                            metadata={"differences": len(rows), "records": table})])
