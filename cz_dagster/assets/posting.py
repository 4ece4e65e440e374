"""Posting ConnectWise documents into Xero exactly once (DESIGN section 7), shared by invoices and bills.

1. ledger rows for every exported document; 2. a crashed run's ``sending`` rows are looked up in Xero first;
3. pre-flight, ``sending`` before each batch of 50, PUT with an Idempotency-Key and summarizeErrors=false, each
element's own result to the ledger; 4. one ConnectWise accounting batch marks what reached Xero as posted.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from xero_python.accounting import CreditNote, Invoice

from cz_dagster.assets.common import SyncScope, connectwise, md_table, xero
from cz_dagster.assets.contacts import MAPPING_KIND
from cz_dagster.resources import ConnectWiseResource, XeroResource
from cz_dagster.resources.connectwise import ConnectWiseClient
from cz_dagster.resources.xero import (
    XeroApiError,
    XeroClient,
    XeroDailyLimitReached,
    XeroMalformedAnswer,
    reads,
    writes,
)
from cz_dagster.resources.xero.reads import Collection
from cz_dagster.store.ledger import Key, Ledger, LedgerRow
from cz_dagster.store.mappings import Mappings
from cz_dagster.store.reference import ReferenceMirror
from cz_dagster.sync.enums import enum_name
from cz_dagster.sync.hashing import chunked, idempotency_key, stable_hash
from cz_dagster.sync.invoices import RecordError, SourceDoc, expected_total, totals_match
from cz_dagster.sync.preflight import ReferenceData, apply_tax_code_map, check_document, settle_tax
from cz_dagster.sync.vocabulary import LOCATION_TRACKING_OPTION, TAX_CODE_TAX_TYPE, Surface

UNIQUE_NUMBER = "must be unique"
NO_GL = "no-gl-entries"
STILL_LISTED = "still-unposted"  # the ledger version of "ConnectWise still lists it after the batch named it"
NO_GL_MESSAGE = ("ConnectWise has no GL entries for this invoice, so its Accounting Interface cannot export it: check "
                 "the GL account mapping of its products and work types, then set the invoice to an open billing "
                 "status and back to closed to regenerate them")


@dataclass(frozen=True)
class DocKind:
    """What differs between invoices and bills; the protocol itself is the same."""

    surface: str
    label: str
    xero_type: str
    export: Callable[[ConnectWiseClient, int], dict[str, Any]]
    sources: Callable[[dict[str, Any]], list[SourceDoc]]
    to_xero: Callable[[SourceDoc, str | None], dict[str, Any]]
    batch_flags: dict[str, bool]
    unique_numbers: bool
    detail_key: str = "detail"  # where the export keeps a document's lines
    unposted_path: str | None = None  # listed unposted records, to find ones the export cannot include
    contact_surface: str = Surface.CONTACTS  # the ledger where a company's contact matching failures are kept
    confirm_after_batch: bool = False  # re-export after the batch to see the records really left (procurement)
    keep: Callable[[SourceDoc], bool] = lambda _doc: True  # which of the export's documents are this kind's
    collection: str = Collection.INVOICES  # where the documents go in Xero: invoices (and bills), or credit notes


def xero_id(doc: Any) -> str | None:
    """The Xero id of an invoice, bill or credit note model."""
    return getattr(doc, "invoice_id", None) or getattr(doc, "credit_note_id", None)


def xero_number(doc: Any) -> str | None:
    return getattr(doc, "invoice_number", None) or getattr(doc, "credit_note_number", None)


def id_field(kind: DocKind, xero_doc_id: str) -> dict[str, str]:
    return {"CreditNoteID" if kind.collection == Collection.CREDIT_NOTES else "InvoiceID": xero_doc_id}


def posted_before(rows: list[LedgerRow], current: dict[Key, SourceDoc]) -> dict[str, LedgerRow]:
    """Source id -> the row of an earlier version that is in Xero (done, with its document's id), for records
    whose current version is not: these are edits after posting, updated in place rather than posted again."""
    done_now = {r.source_id for r in rows if r.key in current and r.state == "done"}
    out: dict[str, LedgerRow] = {}
    for r in rows:
        earlier = (r.key not in current and r.state == "done" and r.target_id and r.source_id not in done_now
                   and r.source_version not in (NO_GL, STILL_LISTED))
        if earlier and (r.source_id not in out or r.updated_at > out[r.source_id].updated_at):
            out[r.source_id] = r
    return out


def not_editable(live: Any) -> str | None:
    """Why Xero would refuse to change a document in place, or None when it allows it."""
    status = enum_name(live.status)
    if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
        return f"it is {status.lower()}"
    paid = Decimal(str(getattr(live, "amount_paid", None) or 0))
    credited = Decimal(str(getattr(live, "amount_credited", None) or 0))
    if paid:
        return f"{paid:.2f} is paid on it"
    if credited:
        return f"{credited:.2f} of credit is allocated to it"
    if getattr(live, "allocations", None) or getattr(live, "payments", None):
        return "it is allocated or refunded"
    return None


PREFLIGHT_MIRRORS = ("tax_rates", "accounts", "currencies", "tracking_categories")


def reference_data(scope: SyncScope) -> ReferenceData:
    st, t, loc = scope.store, scope.tenant.slug, scope.location.slug
    ref = ReferenceData(org=scope.location.xero_org_name or str(scope.location.xero_tenant_id),
                        **{kind: ReferenceMirror(st, t, loc, kind).items() for kind in PREFLIGHT_MIRRORS})
    ref.tax_code_map = {k: m.target_id for k, m in Mappings(st, t, loc, TAX_CODE_TAX_TYPE).all().items()}
    return ref


def location_tracking(scope: SyncScope, ref: ReferenceData) -> list[dict[str, str]]:
    """The tracking a location's documents carry: `cz map location-tracking` ("Category/Option" or an option
    name), else an active option named like the location in an active category; none when neither exists."""
    st, t, loc = scope.store, scope.tenant.slug, scope.location.slug
    mapped = Mappings(st, t, loc, LOCATION_TRACKING_OPTION).all().get(loc)
    wanted = mapped.target_id if mapped else scope.location.name
    category_name, _, option_name = wanted.rpartition("/")
    for category in ref.tracking_categories.values():
        if category_name and str(category.get("Name", "")).casefold() != category_name.casefold():
            continue
        if str(category.get("Status", "ACTIVE")).upper() != "ACTIVE" and not mapped:
            continue
        for option in category.get("Options") or []:
            active = str(option.get("Status", "ACTIVE")).upper() == "ACTIVE"
            if str(option.get("Name", "")).casefold() == option_name.casefold() and (mapped or active):
                return [{"Name": category["Name"], "Option": option["Name"]}]
    if mapped:  # mapped by hand to something Xero does not have: pre-flight says so on every document
        return [{"Name": category_name or "Location", "Option": option_name}]
    return []


def lookup(xc: XeroClient, kind: DocKind, docs: list[SourceDoc]) -> dict[str, Any]:
    """Live Xero documents of ours, by source id: sales invoices by InvoiceNumber (unique in Xero, and a list
    parameter), credit notes by CreditNoteNumber, bills and supplier credits by the Reference we set (their
    numbers are the supplier's, not unique)."""
    if kind.unique_numbers and kind.collection == Collection.INVOICES:
        by_number = {d.number: d.id for d in docs}
        found = reads.live_by_number(xc, kind.surface, kind.xero_type, by_number)
        return {by_number[number]: inv for number, inv in found.items()}
    field = "CreditNoteNumber" if kind.unique_numbers else "Reference"
    by_key = {(d.number if kind.unique_numbers else d.reference): d.id for d in docs}
    found = reads.live_where(xc, kind.surface, kind.collection, kind.xero_type, field, by_key)
    return {by_key[k]: doc for k, doc in found.items()}


class PostingSync:
    """One run of a posting flow for one tenant-location."""

    def __init__(self, scope: SyncScope, kind: DocKind, cw_res: ConnectWiseResource, xero_res: XeroResource,
                 log: Any):
        self.scope, self.kind, self.cw_res, self.xero_res, self.log = scope, kind, cw_res, xero_res, log
        self.ledger = Ledger(scope.store, scope.tenant.slug, scope.location.slug, kind.surface, scope.run_id)
        self.moved: list[dict[str, Any]] = []
        self.errors: dict[Key, str] = {}
        self.counts = {"posted": 0, "updated": 0, "skipped": 0, "failed": 0, "recovered": 0, "deferred": 0,
                       "marked_posted": 0,
                       "failed_in_connectwise": 0, "still_unposted_in_connectwise": 0}
        self.by_key: dict[Key, SourceDoc] = {}
        self.contact_ids: dict[str, str] = {}
        self.reference = reference_data(scope)
        self.tracking = location_tracking(scope, self.reference)

    @property
    def xc(self) -> XeroClient:
        return xero(self.scope, self.xero_res)

    def run(self, export: dict[str, Any] | None = None) -> dict[str, Any]:
        cw = connectwise(self.scope, self.cw_res)
        if export is None:
            export = self.kind.export(cw, self.scope.location.cw_location_id)
        every = self.kind.sources(export)
        self.exported_ids = {d.id for d in every}  # all the export holds, whichever kind posts them
        docs = [d for d in every if self.kind.keep(d)]
        self.by_key = {(d.id, d.version): d for d in docs}
        self.ledger.record([(d.id, d.version, d.number) for d in docs])
        every_row = self.ledger.rows([d.id for d in docs])
        rows = {r.key: r for r in every_row if r.key in self.by_key}
        self.prior = posted_before(every_row, self.by_key)
        stuck = self.find_stuck(len(every))  # counted now: posting changes what ConnectWise counts
        self.contact_ids = {k: m.target_id for k, m in
                            Mappings(self.scope.store, self.scope.tenant.slug, self.scope.location.slug,
                                     MAPPING_KIND).all().items()}
        try:
            # an interrupted update in place is simply sent again: it sets the same content on the same document
            self.ledger.mark_pending([k for k, r in rows.items() if r.state == "sending" and r.source_id in self.prior],
                                     "an update in place was interrupted: it is sent again")
            self.recover([r for r in self.ledger.rows([d.id for d in docs])
                          if r.key in self.by_key and r.state == "sending"])
            self.recheck([r for r in rows.values() if r.state == "error" and r.target_id])
            current = {r.key: r for r in self.ledger.rows([d.id for d in docs]) if r.key in self.by_key}
            self.send([current[k] for k in self.by_key if current[k].state == "pending"
                       or (current[k].state == "error" and not current[k].target_id)])
        except XeroDailyLimitReached as exc:
            self.log.warning(f"{exc}: the remaining {self.kind.label}s wait for the next run")
            self.counts["deferred"] = len(self.ledger.in_state("pending", "sending"))
        else:  # documents waiting for a contact the day's budget did not leave room to make
            self.counts["deferred"] = sum(1 for r in self.ledger.in_state("pending")
                                          if r.key in self.by_key and r.key not in self.errors)
        self.ledger.mark_error_many(self.errors)
        self.acknowledge()
        self.ledger.close_missing([d.id for d in docs] + stuck, "no longer unposted in ConnectWise")
        self.counts["failed"] = len(self.errors)
        self.counts["skipped"] = sum(1 for r in rows.values() if r.state == "done")
        return {**self.counts, "moved": self.moved, "errors": self.errors, "unposted_seen": len(docs)}

    # -- records ConnectWise cannot export (no GL entries) are reported, not silently left behind ------------
    def find_stuck(self, exported: int) -> list[str]:
        """One count call; the list is read only when the count shows unexported records not yet reported."""
        if self.kind.unposted_path is None:
            return []
        cw = connectwise(self.scope, self.cw_res)
        condition = f"locationId={self.scope.location.cw_location_id}"
        total = cw.count(self.kind.unposted_path, surface=self.kind.surface, conditions=condition)
        known = [r for r in self.ledger.in_state("error") if r.source_version == NO_GL]
        if total == exported + len(known):
            return [r.source_id for r in known]
        exported_ids = self.exported_ids
        unposted = cw.get_all(self.kind.unposted_path, surface=self.kind.surface, conditions=condition,
                              fields="id,invoiceNumber,company")
        stuck = [u for u in unposted if str(u["id"]) not in exported_ids]
        self.ledger.record([(str(u["id"]), NO_GL, str(u.get("invoiceNumber") or u["id"])) for u in stuck])
        self.ledger.mark_error_many({(str(u["id"]), NO_GL): f"invoice {u.get('invoiceNumber')}: {NO_GL_MESSAGE}"
                                     for u in stuck})
        self.counts["failed_in_connectwise"] = len(stuck)
        return [str(u["id"]) for u in stuck]

    # -- a crashed run's 'sending' rows are looked up in Xero before anything is re-sent -------------------
    def recover(self, sending: list[LedgerRow]) -> None:
        if not sending:
            return
        found = lookup(self.xc, self.kind, [self.by_key[r.key] for r in sending])
        done: dict[Key, str] = {}
        for row in sending:
            doc = self.by_key[row.key]
            existing = found.get(doc.id)
            if existing is None:
                self.ledger.mark_pending([row.key], "not found in Xero after an interrupted run; will be re-sent")
            elif self._same(doc, existing):
                done[row.key] = str(xero_id(existing))
                self.counts["recovered"] += 1
                self._moved(doc, existing, "recovered")
            else:
                self.errors[row.key] = self._conflict(doc, existing)
        self.ledger.mark_done_many(done)

    # -- a document in Xero whose total disagrees with ConnectWise's: in error, never sent again -------------
    def mismatch(self, doc: SourceDoc, xero_doc: Any) -> str:
        number = xero_number(xero_doc) or getattr(xero_doc, "reference", None) or doc.number
        return (f"{self.kind.label} {doc.number}: in Xero as {number} at {xero_doc.total}, but ConnectWise says "
                f"{doc.raw.get('total')}: the tax on its lines is worked out differently (check the tax code "
                "mapping and each line's tax rate). Correct the Xero document so the totals agree, or void it "
                "to have it posted again; until then it is not posted twice and not marked posted in ConnectWise")

    def recheck(self, rows: list[LedgerRow]) -> None:
        """Documents left in error because Xero's total disagreed: agreed now -> done; voided or deleted in Xero
        -> posted again; still different -> still in error (the same words)."""
        if not rows:
            return
        found = lookup(self.xc, self.kind, [self.by_key[r.key] for r in rows])
        done: dict[Key, str] = {}
        for row in rows:
            doc, existing = self.by_key[row.key], found.get(self.by_key[row.key].id)
            if existing is None:
                self.ledger.set_target({row.key: None})
                self.ledger.mark_pending([row.key], "the Xero document was voided or deleted: posted again")
            elif totals_match(doc, existing.total, len(existing.line_items or []) or 1):
                done[row.key] = str(xero_id(existing))
                self._moved(doc, existing, "corrected in Xero")
            else:
                self.errors[row.key] = self.mismatch(doc, existing)
        self.ledger.mark_done_many(done)

    @staticmethod
    def _other_source(doc: SourceDoc, existing: Any) -> str | None:
        """The Reference of a Xero document another ConnectWise record made (the same number on two ConnectWise
        invoices), else None: same customer and total are not enough to call it ours."""
        ref = str(getattr(existing, "reference", "") or "")
        prefix = doc.reference.rsplit("-", 1)[0] + "-"
        return ref if ref.startswith(prefix) and ref != doc.reference else None

    def _same(self, doc: SourceDoc, existing: Any) -> bool:
        contact = str(getattr(existing.contact, "contact_id", "") or "")
        want = self.contact_ids.get(str(doc.company_id))
        return (self._other_source(doc, existing) is None and (want is None or contact == want)
                and totals_match(doc, existing.total))

    def _conflict(self, doc: SourceDoc, existing: Any) -> str:
        name = getattr(existing.contact, "name", None)
        other = self._other_source(doc, existing)
        if other is not None:
            return (f"{self.kind.label} {doc.number}: the number is already used by another ConnectWise "
                    f"{self.kind.label}, in Xero with Reference {other} (contact {name!r}, total {existing.total}); "
                    "give one of them a new number in ConnectWise, then re-run")
        return (f"{self.kind.label} {doc.number} is already in Xero as a different document (contact {name!r}, "
                f"total {existing.total}); void or renumber one of them, then re-run")

    def _moved(self, doc: SourceDoc, xero_doc: Any, how: str) -> None:
        self.moved.append({self.kind.label: doc.number, "contact": doc.company_name, "total": doc.raw.get("total"),
                           "xero_total": getattr(xero_doc, "total", None), "how": how,
                           "xero_id": str(xero_id(xero_doc) or "")})

    # -- pre-flight, mark sending, PUT in batches of 50, each element's result -----------------------------
    def send(self, rows: list[LedgerRow]) -> None:
        ready: list[tuple[LedgerRow, dict[str, Any]]] = []
        contact_problems = self.contact_problems()
        contact_waiting = self.contacts_deferred()
        for row in rows:
            doc = self.by_key[row.key]
            contact_id = self.contact_ids.get(str(doc.company_id))
            if contact_id is None and str(doc.company_id) in contact_waiting:
                continue  # its contact was deferred (the day's Xero budget): the document waits with it, pending
            if contact_id is None and str(doc.company_id) in contact_problems:
                # the contact step already knows why (an archived contact, a rejected one): say that, not
                # "unknown customer", so the fix is the one the finance lead can act on
                role = "customer" if self.kind.unique_numbers else "supplier"
                self.errors[row.key] = (f"{self.kind.label} {doc.number}: the {role} {doc.company_name!r} has no "
                                        f"usable Xero contact: {contact_problems[str(doc.company_id)]}")
                continue
            try:
                xero_doc = self.kind.to_xero(doc, contact_id)
            except RecordError as exc:
                self.errors[row.key] = f"{self.kind.label} {doc.number}: {exc}"
                continue
            apply_tax_code_map(xero_doc, doc.raw.get(self.kind.detail_key) or [], self.reference)
            if self.tracking:
                for line in xero_doc["LineItems"]:
                    line["Tracking"] = list(self.tracking)
            problems = check_document(xero_doc, self.reference)
            if not problems:
                off = settle_tax(xero_doc, expected_total(doc), self.reference)
                problems = [off] if off else []
            if problems:
                self.errors[row.key] = f"{self.kind.label} {doc.number}: " + "; ".join(problems)
                continue
            if row.source_id in self.prior:
                self.update_in_place(row, self.prior[row.source_id], xero_doc)
            else:
                ready.append((row, xero_doc))
        for batch in chunked(ready, self.xero_res.batch_size):
            self.send_batch(batch)

    # -- a document changed in ConnectWise after it was posted: the same Xero document, updated in place ------
    def update_in_place(self, row: LedgerRow, prior: LedgerRow, xero_doc: dict[str, Any]) -> None:
        """Where Xero still allows it (draft, submitted or approved, nothing paid or allocated on it), the Xero
        document the earlier version made is updated with the new content: same id, the ledger keeping both
        versions. Otherwise the record is in error, naming both documents, and nothing is posted a second time."""
        doc = self.by_key[row.key]
        label = f"{self.kind.label} {doc.number}"
        live = reads.document(self.xc, self.kind.surface, self.kind.collection, str(prior.target_id))
        if live is None or enum_name(live.status) in reads.DEAD:
            self.errors[row.key] = (
                f"{label} changed in ConnectWise after it was posted, and the Xero document it made ({prior.target_id})"
                " is voided or deleted: enter the changed document in Xero by hand, or restore the old one; it is "
                "not posted a second time automatically")
            return
        why_not = not_editable(live)
        if why_not:
            self.errors[row.key] = self.edit_refused(doc, live, why_not)
            return
        idem = idempotency_key(f"{self.kind.surface}-update", self.scope.location.slug, [row.key], row.attempts + 1)
        self.ledger.mark_sending([row.key], idem)
        try:
            answer = writes.update_document(self.xc, self.kind.surface, self.kind.collection, str(prior.target_id),
                                            {**xero_doc, **id_field(self.kind, str(prior.target_id))}, idem)
        except XeroApiError as exc:
            self.errors[row.key] = self.edit_refused(doc, live, f"Xero refused the update: {exc}")
            return
        element = (answer or [None])[0]
        messages = [v.message for v in (getattr(element, "validation_errors", None) or []) if v.message]
        if element is None or messages:
            self.errors[row.key] = self.edit_refused(doc, live, f"Xero refused the update: {'; '.join(messages)}")
            return
        if not totals_match(doc, element.total, len(xero_doc.get("LineItems") or []) or 1):
            self.ledger.set_target({row.key: str(prior.target_id)})
            self.errors[row.key] = self.mismatch(doc, element)
            return
        self.ledger.mark_done_many({row.key: str(prior.target_id)})
        self.counts["updated"] += 1
        self._moved(doc, element, "updated in place")

    def edit_refused(self, doc: SourceDoc, live: Any, why: str) -> str:
        return (f"{self.kind.label} {doc.number} changed in ConnectWise after it was posted (now {doc.raw.get('total')}"
                f"), but Xero {xero_number(live) or ''} ({xero_id(live)}, {live.total}) can no longer be changed: "
                f"{why}. Credit the old document in Xero and re-bill the new one; it is not posted a second time")

    def contacts_deferred(self) -> set[str]:
        """Companies whose contact is still to be made (the contacts step stopped on the day's Xero budget)."""
        ledger = Ledger(self.scope.store, self.scope.tenant.slug, self.scope.location.slug, self.kind.contact_surface)
        return {r.source_id for r in ledger.in_state("pending")}

    def contact_problems(self) -> dict[str, str]:
        """Companies whose contact matching or creation failed, with the reason, by ConnectWise company id."""
        ledger = Ledger(self.scope.store, self.scope.tenant.slug, self.scope.location.slug, self.kind.contact_surface)
        return {r.source_id: r.last_error or "" for r in ledger.in_state("error") if r.last_error}

    def send_batch(self, batch: list[tuple[LedgerRow, dict[str, Any]]]) -> None:
        keys = [row.key for row, _ in batch]
        attempt = 1 + max(row.attempts for row, _ in batch)
        idem = idempotency_key(self.kind.surface, self.scope.location.slug, keys, attempt)
        self.ledger.mark_sending(keys, idem)
        try:
            credit = self.kind.collection == Collection.CREDIT_NOTES
            create = writes.create_credit_notes if credit else writes.create_invoices
            elements = create(self.xc, self.kind.surface, [doc for _, doc in batch], idem)
        except XeroDailyLimitReached:
            self.ledger.mark_pending(keys, "deferred: the organisation's daily Xero call budget was spent")
            raise
        elements = elements or []
        if not isinstance(elements, list) or not all(isinstance(e, (Invoice, CreditNote)) for e in elements):
            # left 'sending': the next run looks the batch up in Xero before anything is re-sent
            raise XeroMalformedAnswer(200, f"Xero answered the {self.kind.label} batch without a list of "
                                           f"{self.kind.label}s: {str(elements)[:120]!r}")
        done: dict[Key, str] = {}
        mismatched: dict[Key, str | None] = {}
        taken: list[tuple[Key, SourceDoc]] = []
        unheard: list[LedgerRow] = [row for row, _ in batch[len(elements):]]
        for (row, sent), element in zip(batch, elements, strict=False):
            doc = self.by_key[row.key]
            label = f"{self.kind.label} {doc.number}"
            answered = xero_number(element)
            if answered and answered != (sent.get("InvoiceNumber") or sent.get("CreditNoteNumber")):
                self.errors[row.key] = f"{label}: Xero answered for {answered} instead"
                continue
            if enum_name(element.status_attribute_string) == "ERROR" or element.has_errors:
                messages = [v.message for v in (element.validation_errors or []) if v.message]
                if self.kind.unique_numbers and any(UNIQUE_NUMBER in m for m in messages):
                    taken.append((row.key, doc))
                    continue
                self.errors[row.key] = f"{label}: Xero rejected it: {'; '.join(messages) or 'no reason given'}"
                continue
            if not xero_id(element):  # 'OK' without an id: whether Xero has it is unknown until looked up
                unheard.append(row)
                continue
            if not totals_match(doc, element.total, len(sent.get("LineItems") or []) or 1):
                # money that does not agree is not "done": in error, with the document named (never re-sent)
                mismatched[row.key] = str(xero_id(element))
                self.errors[row.key] = self.mismatch(doc, element)
                self._moved(doc, element, "in Xero, totals differ")
                continue
            done[row.key] = str(xero_id(element))
            self.counts["posted"] += 1
            self._moved(doc, element, "posted")
        self.ledger.set_target(mismatched)
        self.ledger.mark_done_many(done)
        if unheard:  # Xero's answer did not say what became of these: looked up now, re-sent only if absent
            self.recover(unheard)
        if taken:
            self.adopt(taken)

    def adopt(self, taken: list[tuple[Key, SourceDoc]]) -> None:
        """'Invoice # must be unique': if the existing one is ours (same customer and total), it is done."""
        found = lookup(self.xc, self.kind, [doc for _, doc in taken])
        done: dict[Key, str] = {}
        for key, doc in taken:
            existing = found.get(doc.id)
            if existing is not None and self._same(doc, existing):
                done[key] = str(xero_id(existing))
                self.counts["recovered"] += 1
                self._moved(doc, existing, "already in Xero")
            else:
                self.errors[key] = (self._conflict(doc, existing) if existing is not None else
                                    f"{self.kind.label} {doc.number}: Xero says the number is taken but no live "
                                    "document has it")
        self.ledger.mark_done_many(done)

    # -- ConnectWise is told: one accounting batch for everything now in Xero ------------------------------
    def acknowledge(self) -> None:
        # done and still exported: not yet marked posted, or un-batched in ConnectWise since (an invoice's GL entry
        # ids are certain, so it is batched again; procurement's are an inference, confirmed by confirm_gone)
        rows = [r for r in self.ledger.in_state("done")
                if r.key in self.by_key and (not r.ack_ref or not self.kind.confirm_after_batch)]
        if not rows:
            return
        gl_ids = sorted(g for r in rows for g in self.by_key[r.key].gl_entry_ids)
        prefix = {Surface.INVOICES: "CZ", Surface.CREDIT_NOTES: "CZC", Surface.SUPPLIER_CREDITS: "CZS"}.get(
            self.kind.surface, "CZB")
        identifier = f"{prefix}-{self.scope.location.slug[:12]}-{stable_hash(gl_ids, 20)}"
        cw = connectwise(self.scope, self.cw_res)
        batch = cw.create_batch(identifier, gl_ids, surface=self.kind.surface, **self.kind.batch_flags)
        self.ledger.mark_acked([r.key for r in rows], str(batch.get("batchIdentifier") or identifier))
        self.counts["marked_posted"] = len(rows)
        if self.kind.confirm_after_batch:
            self.confirm_gone(rows, str(batch.get("batchIdentifier") or identifier))

    def confirm_gone(self, rows: list[LedgerRow], identifier: str) -> None:
        """Procurement is marked posted by its detail item ids, which is an inference from the export (it has no
        glEntryIds): the next export shows whether ConnectWise agreed. A record still listed gets an error naming
        the Xero bill already made; the ledger never sends it again."""
        cw = connectwise(self.scope, self.cw_res)
        still = {d.id for d in self.kind.sources(self.kind.export(cw, self.scope.location.cw_location_id))}
        stuck = [r for r in rows if r.source_id in still]
        if not stuck:
            return
        self.ledger.record([(r.source_id, STILL_LISTED, r.label) for r in stuck])
        found = {(r.source_id, STILL_LISTED): (
            f"{self.kind.label} {r.label}: ConnectWise still lists this procurement as unposted after accounting "
            f"batch {identifier} named it. It is in Xero already (Reference {self.by_key[r.key].reference}, "
            f"bill id {r.target_id}) and will not be posted again: mark it posted by hand in ConnectWise's "
            "Accounting Interface (Procurement), so that it stops being exported") for r in stuck}
        self.errors.update(found)
        self.ledger.mark_error_many(found)
        self.counts["still_unposted_in_connectwise"] = len(stuck)


def posting_metadata(out: dict[str, Any], label: str) -> dict[str, Any]:
    return {
        "unposted_seen": out["unposted_seen"],
        **{k: out[k] for k in ("posted", "updated", "skipped", "failed", "recovered", "deferred", "marked_posted",
                               "failed_in_connectwise", "still_unposted_in_connectwise")},
        "moved": md_table(out["moved"], [label, "contact", "total", "xero_total", "how", "xero_id"]),
    }
