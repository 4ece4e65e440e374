"""``xero/contacts``: the ConnectWise companies a location's unposted invoices need, matched to Xero contacts
or created there, so that ``xero/invoices`` never posts to a guessed customer."""


from typing import Any

from dagster import AssetKey

from cz_dagster.assets.common import FlowOutcome, SyncScope, connectwise, md_table, writer_asset, xero
from cz_dagster.resources import ConnectWiseResource, XeroResource
from cz_dagster.resources.xero import XeroDailyLimitReached, reads, writes
from cz_dagster.store.ledger import Ledger
from cz_dagster.store.mappings import Mappings
from cz_dagster.sync.contacts import match_companies, to_xero_contact
from cz_dagster.sync.hashing import chunked, idempotency_key, stable_hash
from cz_dagster.sync.invoices import company_ref
from cz_dagster.sync.vocabulary import COMPANY_CONTACT, Surface

CONTACTS_KEY = AssetKey(["xero", "contacts"])
MAPPING_KIND = COMPANY_CONTACT
NAME_TAKEN = "is already assigned to another contact"


def ensure_contacts(scope: SyncScope, cw_res: ConnectWiseResource, xero_res: XeroResource,
                    needed: dict[int, dict[str, Any]], surface: str) -> dict[str, Any]:
    """Every ConnectWise company in ``needed`` (id -> the reference the export carried) gets a Xero contact in
    this location's organisation: matched, or created; failures go to the ledger of ``surface``. Only companies
    without a mapping cost API calls, so a steady state costs none."""
    store, tenant, loc = scope.store, scope.tenant.slug, scope.location.slug
    mappings = Mappings(store, tenant, loc, MAPPING_KIND)
    known = mappings.all()
    missing = sorted(cid for cid in needed if str(cid) not in known)
    ledger = Ledger(store, tenant, loc, surface, scope.run_id)
    # a run killed between storing a contact's mapping and marking its row done left the row open ('pending' when
    # matched, 'sending' when created); so does a mapping set by hand after an error: the mapping says what
    # became of it (found by the random crash test: such rows stayed open for ever)
    ledger.mark_done_many({r.key: known[r.source_id].target_id for r in ledger.in_state("pending", "sending", "error")
                           if r.source_id in known})
    moved: list[dict[str, Any]] = []
    errors: dict[tuple[str, str], str] = {}
    counts = {"matched": 0, "created": 0, "failed": 0, "deferred": 0,
              "already_mapped": len(needed) - len(missing)}
    if not missing:
        return {**counts, "moved": moved, "errors": errors}

    cw = connectwise(scope, cw_res)
    companies = {int(c["id"]): c for c in cw.get_by_ids("company/companies", missing, surface=surface)}
    versions = {cid: stable_hash(companies.get(cid) or needed[cid]) for cid in missing}
    ledger.record([(str(cid), versions[cid], str(needed[cid].get("name") or cid)) for cid in missing])
    for cid in missing:
        if cid not in companies:
            ref = needed[cid]
            errors[(str(cid), versions[cid])] = (
                f"unknown company: ConnectWise company {ref.get('name') or ref.get('identifier')!r} (id {cid}) is on "
                "an unposted document but does not exist in ConnectWise company/companies")

    try:
        xc = xero(scope, xero_res)
        found = [companies[cid] for cid in missing if cid in companies]
        matches = match_companies(found, reads.contacts(xc, surface)) if found else []
        to_create: list[dict[str, Any]] = []
        taken: dict[tuple[str, str], dict[str, Any]] = {}
        done: dict[tuple[str, str], str] = {}
        for m in matches:
            key = (str(m.company_id), versions[m.company_id])
            if m.how == "archived":
                errors[key] = m.detail
            elif m.how == "create":
                to_create.append(companies[m.company_id])
            else:
                mappings.put(str(m.company_id), m.contact_id or "", m.contact_name, "matched")
                done[key] = m.contact_id or ""
                counts["matched"] += 1
                moved.append({"company": companies[m.company_id].get("name"), "contact": m.contact_name,
                              "how": f"matched by {m.how.replace('_', ' ')}", "contact_id": m.contact_id})
        ledger.mark_done_many(done)

        for batch in chunked(to_create, xero_res.batch_size):
            keys = [(str(c["id"]), versions[int(c["id"])]) for c in batch]
            docs = []
            for company, key in zip(batch, keys, strict=True):
                try:
                    docs.append((company, key, to_xero_contact(company)))
                except ValueError as exc:
                    errors[key] = str(exc)
            if not docs:
                continue
            attempt = 1 + max(r.attempts for r in ledger.rows([k[0] for _, k, _ in docs]))
            idem = idempotency_key(f"contacts-{surface}", loc, [k for _, k, _ in docs], attempt)
            ledger.mark_sending([k for _, k, _ in docs], idem)
            answer = writes.create_contacts(xc, surface, [d for _, _, d in docs], idem)
            created: dict[tuple[str, str], str] = {}
            for (company, key, _doc), element in zip(docs, answer or [], strict=False):
                if str(element.status_attribute_string or "OK").upper().endswith("ERROR"):
                    messages = "; ".join(v.message for v in (element.validation_errors or []) if v.message)
                    if NAME_TAKEN in messages:  # made meanwhile (by a run of another location into this org)
                        taken[key] = company
                        continue
                    errors[key] = f"Xero rejected contact {company.get('name')!r}: {messages or 'no reason given'}"
                    continue
                mappings.put(str(company["id"]), str(element.contact_id), element.name, "created")
                created[key] = str(element.contact_id)
                counts["created"] += 1
                moved.append({"company": company.get("name"), "contact": element.name, "how": "created",
                              "contact_id": str(element.contact_id)})
            ledger.mark_done_many(created)
        if taken:  # matched now, as they would have been had they existed when the contacts were read
            rematched = {m.company_id: m for m in match_companies(list(taken.values()),
                                                                  reads.contacts(xc, surface))}
            adopted: dict[tuple[str, str], str] = {}
            for key, company in taken.items():
                m = rematched.get(int(company["id"]))
                if m is None or m.how in ("create", "archived"):
                    errors[key] = (f"Xero rejected contact {company.get('name')!r}: the name is taken but no "
                                   "contact with it could be matched")
                    continue
                mappings.put(str(company["id"]), m.contact_id or "", m.contact_name, "matched")
                adopted[key] = m.contact_id or ""
                counts["matched"] += 1
                moved.append({"company": company.get("name"), "contact": m.contact_name,
                              "how": "matched (made meanwhile by another run)", "contact_id": m.contact_id})
            ledger.mark_done_many(adopted)
    except XeroDailyLimitReached:
        # the day's budget is spent: what is not done waits for the next run (and so do its invoices)
        waiting = [r.key for r in ledger.in_state("pending", "sending") if r.source_id in {str(c) for c in missing}]
        ledger.mark_pending(waiting, "deferred: the organisation's daily Xero call budget was spent")
        counts["deferred"] = len(waiting)
    ledger.mark_error_many(errors)
    counts["failed"] = len(errors)
    return {**counts, "moved": moved, "errors": errors}


def companies_on(export: dict[str, Any], collection: str, *ref_keys: str) -> dict[int, dict[str, Any]]:
    """The company references the export's documents carry (customers on invoices, vendors on procurement)."""
    needed: dict[int, dict[str, Any]] = {}
    for txn in export.get(collection) or []:
        ref = company_ref(next((txn.get(k) for k in ref_keys if txn.get(k)), None))[0]  # a bad one fails its record
        if ref.get("id") is not None:
            needed[int(ref["id"])] = ref
    return needed


def sync_contacts(scope: SyncScope, cw_res: ConnectWiseResource, xero_res: XeroResource) -> dict[str, Any]:
    cw = connectwise(scope, cw_res)
    export = cw.export_invoices(scope.location.cw_location_id, surface=Surface.CONTACTS)
    return ensure_contacts(scope, cw_res, xero_res, companies_on(export, "transactions", "company"), Surface.CONTACTS)


@writer_asset(
    CONTACTS_KEY,
    flow=Surface.CONTACTS,
    check="No company of this tenant-location sits in error",
    description="ConnectWise companies on unposted invoices, matched (contact number, account number, name) or "
                "created as Xero contacts in the location's organisation.",
)
def contacts(scope: SyncScope, connectwise_api: ConnectWiseResource, xero_api: XeroResource,
             _log: Any) -> FlowOutcome:
    out = sync_contacts(scope, connectwise_api, xero_api)
    return FlowOutcome(out["errors"], {
        **{k: out[k] for k in ("matched", "created", "failed", "already_mapped", "deferred")},
        "moved": md_table(out["moved"], ["company", "contact", "how", "contact_id"]),
    })
