"""``xero/invoices``: a location's unposted ConnectWise invoices -> ACCREC invoices in its Xero organisation,
exactly once, then marked posted in ConnectWise with an accounting batch (DESIGN section 7)."""


from typing import Any

from dagster import AssetCheckSpec, AssetExecutionContext, AssetKey, MaterializeResult, asset

from cz_dagster.assets.common import (
    SyncScope,
    connectwise,
    in_error_check,
    md_table,
    skipped_result,
    sync_scope,
    xero,
)
from cz_dagster.assets.contacts import CONTACTS_KEY, MAPPING_KIND
from cz_dagster.partitions import tenant_location
from cz_dagster.resources import ConnectWiseResource, StoreResource, XeroResource
from cz_dagster.resources.xero import XeroClient, XeroDailyLimitReached
from cz_dagster.store.ledger import Key, Ledger, LedgerRow
from cz_dagster.store.mappings import Mappings
from cz_dagster.sync.hashing import chunked, idempotency_key, stable_hash
from cz_dagster.sync.invoices import RecordError, SourceInvoice, source_invoices, to_xero_invoice, totals_match

INVOICES_KEY = AssetKey(["xero", "invoices"])
LOOKUP_CHUNK = 40  # invoice numbers per lookup call; Xero's URLs get long past ~50 ids
UNIQUE_NUMBER = "must be unique"
NO_GL = "no-gl-entries"
NO_GL_MESSAGE = ("ConnectWise has no GL entries for this invoice, so its Accounting Interface cannot export it: check "
                 "the GL account mapping of its products and work types, then set the invoice to an open billing "
                 "status and back to closed to regenerate them")


def _status(value: Any) -> str:
    return str(value or "").split(".")[-1].upper()


def lookup_by_number(xc: XeroClient, numbers: list[str]) -> dict[str, Any]:
    """Existing, live ACCREC invoices by number (a crashed run's writes, or a number already taken)."""
    found: dict[str, Any] = {}
    for chunk in chunked(sorted(set(numbers)), LOOKUP_CHUNK):
        result = xc.call("invoices", xc.accounting.get_invoices, invoice_numbers=chunk, page=1, page_size=1000)
        for inv in result.invoices or []:
            if _status(inv.type) == "ACCREC" and _status(inv.status) not in ("DELETED", "VOIDED"):
                found[inv.invoice_number] = inv
    return found


class InvoiceSync:
    """One run of the invoice flow for one tenant-location."""

    def __init__(self, scope: SyncScope, cw_res: ConnectWiseResource, xero_res: XeroResource, log: Any):
        self.scope, self.cw_res, self.xero_res, self.log = scope, cw_res, xero_res, log
        self.ledger = Ledger(scope.store, scope.tenant.slug, scope.location.slug, "invoices", scope.run_id)
        self.moved: list[dict[str, Any]] = []
        self.errors: dict[Key, str] = {}
        self.counts = {"posted": 0, "skipped": 0, "failed": 0, "recovered": 0, "deferred": 0, "marked_posted": 0,
                       "failed_in_connectwise": 0}
        self.by_key: dict[Key, SourceInvoice] = {}
        self.contact_ids: dict[str, str] = {}

    @property
    def xc(self) -> XeroClient:
        return xero(self.scope, self.xero_res)

    def run(self) -> dict[str, Any]:
        cw = connectwise(self.scope, self.cw_res)
        invoices = source_invoices(cw.export_invoices(self.scope.location.cw_location_id))
        self.by_key = {(i.id, i.version): i for i in invoices}
        self.ledger.record([(i.id, i.version, i.number) for i in invoices])
        rows = {r.key: r for r in self.ledger.rows([i.id for i in invoices]) if r.key in self.by_key}
        stuck = self.find_stuck(len(invoices))  # counted now: posting changes what ConnectWise counts
        self.contact_ids = {k: m.target_id for k, m in
                            Mappings(self.scope.store, self.scope.tenant.slug, self.scope.location.slug,
                                     MAPPING_KIND).all().items()}
        try:
            self.recover([r for r in rows.values() if r.state == "sending"])
            rows = {r.key: r for r in self.ledger.rows([i.id for i in invoices]) if r.key in self.by_key}
            self.send([rows[k] for k in self.by_key if rows[k].state in ("pending", "error")])
        except XeroDailyLimitReached as exc:
            self.log.warning(f"{exc}: the remaining invoices wait for the next run")
            self.counts["deferred"] = len(self.ledger.in_state("pending", "sending"))
        self.ledger.mark_error_many(self.errors)
        self.acknowledge()
        self.ledger.close_missing([i.id for i in invoices] + stuck, "no longer unposted in ConnectWise")
        self.counts["failed"] = len(self.errors)
        self.counts["skipped"] = sum(1 for k, r in rows.items() if r.state == "done")
        return {**self.counts, "moved": self.moved, "errors": self.errors, "unposted_seen": len(invoices)}

    # -- invoices ConnectWise cannot export (no GL entries) are reported, not silently left behind --------
    def find_stuck(self, exported: int) -> list[str]:
        """One count call; the list is read only when the count shows unexported invoices not yet reported."""
        cw = connectwise(self.scope, self.cw_res)
        condition = f"locationId={self.scope.location.cw_location_id}"
        total = cw.count("finance/accounting/unpostedinvoices", surface="invoices", conditions=condition)
        known = [r for r in self.ledger.in_state("error") if r.source_version == NO_GL]
        if total == exported + len(known):
            return [r.source_id for r in known]
        exported_ids = set(i.id for i in self.by_key.values())
        unposted = cw.get_all("finance/accounting/unpostedinvoices", surface="invoices", conditions=condition,
                              fields="id,invoiceNumber,company")
        stuck = [u for u in unposted if str(u["id"]) not in exported_ids]
        self.ledger.record([(str(u["id"]), NO_GL, str(u.get("invoiceNumber") or u["id"])) for u in stuck])
        self.ledger.mark_error_many({(str(u["id"]), NO_GL): f"invoice {u.get('invoiceNumber')}: {NO_GL_MESSAGE}"
                                     for u in stuck})
        self.counts["failed_in_connectwise"] = len(stuck)
        return [str(u["id"]) for u in stuck]

    # -- 4. a crashed run's 'sending' rows are looked up in Xero before anything is re-sent ----------------
    def recover(self, sending: list[LedgerRow]) -> None:
        if not sending:
            return
        found = lookup_by_number(self.xc, [self.by_key[r.key].number for r in sending])
        done: dict[Key, str] = {}
        for row in sending:
            inv = self.by_key[row.key]
            existing = found.get(inv.number)
            if existing is None:
                self.ledger.mark_pending([row.key], "not found in Xero after an interrupted run; will be re-sent")
                continue
            if self._same(inv, existing):
                done[row.key] = str(existing.invoice_id)
                self.counts["recovered"] += 1
                self._moved(inv, existing, "recovered")
            else:
                self.errors[row.key] = self._conflict(inv, existing)
        self.ledger.mark_done_many(done)

    def _same(self, inv: SourceInvoice, existing: Any) -> bool:
        contact = str(getattr(existing.contact, "contact_id", "") or "")
        want = self.contact_ids.get(str(inv.company_id))
        return (want is None or contact == want) and totals_match(inv, existing.total)

    def _conflict(self, inv: SourceInvoice, existing: Any) -> str:
        name = getattr(existing.contact, "name", None)
        return (f"invoice number {inv.number} is already used in Xero by a different invoice (contact {name!r}, "
                f"total {existing.total}); void or renumber one of them, then re-run")

    def _moved(self, inv: SourceInvoice, xero_inv: Any, how: str) -> None:
        self.moved.append({"invoice": inv.number, "customer": inv.company_name, "total": inv.raw.get("total"),
                           "xero_total": getattr(xero_inv, "total", None), "how": how,
                           "xero_invoice_id": str(getattr(xero_inv, "invoice_id", ""))})

    # -- 1-3. pre-flight, mark sending, PUT in batches of 50, each element's result -------------------------
    def send(self, rows: list[LedgerRow]) -> None:
        ready: list[tuple[LedgerRow, dict[str, Any]]] = []
        for row in rows:
            inv = self.by_key[row.key]
            try:
                ready.append((row, to_xero_invoice(inv, self.contact_ids.get(str(inv.company_id)))))
            except RecordError as exc:
                self.errors[row.key] = f"invoice {inv.number}: {exc}"
        for batch in chunked(ready, self.xero_res.batch_size):
            self.send_batch(batch)

    def send_batch(self, batch: list[tuple[LedgerRow, dict[str, Any]]]) -> None:
        keys = [row.key for row, _ in batch]
        attempt = 1 + max(row.attempts for row, _ in batch)
        idem = idempotency_key("invoices", self.scope.location.slug, keys, attempt)
        self.ledger.mark_sending(keys, idem)
        try:
            result = self.xc.call("invoices", self.xc.accounting.create_invoices,
                                  invoices={"Invoices": [doc for _, doc in batch]},
                                  summarize_errors=False, idempotency_key=idem)
        except XeroDailyLimitReached:
            self.ledger.mark_pending(keys, "deferred: the organisation's daily Xero call budget was spent")
            raise
        elements = list(result.invoices or [])
        done: dict[Key, str] = {}
        taken: list[tuple[Key, SourceInvoice]] = []
        for (row, doc), element in zip(batch, elements, strict=False):
            inv = self.by_key[row.key]
            if element.invoice_number and element.invoice_number != doc["InvoiceNumber"]:
                self.errors[row.key] = f"invoice {inv.number}: Xero answered for {element.invoice_number} instead"
                continue
            if _status(element.status_attribute_string) == "ERROR" or element.has_errors:
                messages = [v.message for v in (element.validation_errors or []) if v.message]
                if any(UNIQUE_NUMBER in m for m in messages):
                    taken.append((row.key, inv))
                    continue
                self.errors[row.key] = f"invoice {inv.number}: Xero rejected it: {'; '.join(messages) or '?'}"
                continue
            done[row.key] = str(element.invoice_id)
            self.counts["posted"] += 1
            self._moved(inv, element, "posted")
            if not totals_match(inv, element.total):
                self.log.warning(f"invoice {inv.number}: ConnectWise total {inv.raw.get('total')} but Xero computed "
                                 f"{element.total} (rounding per line); check the tax settings")
        for row, _ in batch[len(elements):]:
            self.ledger.mark_pending([row.key], "Xero's answer did not include this element; will be looked up")
        self.ledger.mark_done_many(done)
        if taken:
            self.adopt(taken)

    def adopt(self, taken: list[tuple[Key, SourceInvoice]]) -> None:
        """'Invoice # must be unique': if the existing one is ours (same customer and total), it is done."""
        found = lookup_by_number(self.xc, [inv.number for _, inv in taken])
        done: dict[Key, str] = {}
        for key, inv in taken:
            existing = found.get(inv.number)
            if existing is not None and self._same(inv, existing):
                done[key] = str(existing.invoice_id)
                self.counts["recovered"] += 1
                self._moved(inv, existing, "already in Xero")
            else:
                self.errors[key] = (self._conflict(inv, existing) if existing is not None else
                                    f"invoice {inv.number}: Xero says the number is taken but no live invoice has it")
        self.ledger.mark_done_many(done)

    # -- 5. ConnectWise is told: one accounting batch for everything now in Xero ---------------------------
    def acknowledge(self) -> None:
        rows = [r for r in self.ledger.in_state("done") if r.key in self.by_key and not r.ack_ref]
        if not rows:
            return
        gl_ids = sorted(g for r in rows for g in self.by_key[r.key].gl_entry_ids)
        identifier = f"CZ-{self.scope.location.slug[:12]}-{stable_hash(gl_ids, 20)}"
        cw = connectwise(self.scope, self.cw_res)
        batch = cw.create_batch(identifier, gl_ids, surface="invoices")
        self.ledger.mark_acked([r.key for r in rows], str(batch.get("batchIdentifier") or identifier))
        self.counts["marked_posted"] = len(rows)


@asset(
    key=INVOICES_KEY,
    group_name="money",
    partitions_def=tenant_location,
    kinds={"connectwise", "xero"},
    deps=[CONTACTS_KEY],
    check_specs=[AssetCheckSpec("nothing_in_error", asset=INVOICES_KEY,
                                description="No invoice of this tenant-location sits in error")],
    description="Unposted ConnectWise invoices of the location -> ACCREC invoices in its Xero organisation "
                "(batches of 50, Idempotency-Key, per-element results in the ledger), then marked posted in "
                "ConnectWise with an accounting batch.",
)
def invoices(context: AssetExecutionContext, store: StoreResource, connectwise_api: ConnectWiseResource,
             xero_api: XeroResource) -> MaterializeResult:
    st = store.get()
    with sync_scope(context, st) as scope:
        if scope.disabled:
            return skipped_result(context, scope, ["invoices"])
        out = InvoiceSync(scope, connectwise_api, xero_api, context.log).run()
        for (_sid, _v), message in out["errors"].items():
            context.log.warning(message)
        metadata = {
            "xero_organisation": scope.location.xero_org_name or scope.location.xero_tenant_id,
            "unposted_seen": out["unposted_seen"],
            **{k: out[k] for k in ("posted", "skipped", "failed", "recovered", "deferred", "marked_posted",
                                    "failed_in_connectwise")},
            **scope.recorder.summary(),
            "moved": md_table(out["moved"], ["invoice", "customer", "total", "xero_total", "how", "xero_invoice_id"]),
            "errors": md_table([{"invoice": scope_label, "error": msg} for (scope_label, _), msg
                                in out["errors"].items()], ["invoice", "error"]),
        }
        check = in_error_check(st, scope.tenant.slug, scope.location.slug, ["invoices"])
        return MaterializeResult(metadata=metadata, check_results=[check])
