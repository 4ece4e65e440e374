"""The product's vocabularies, each spelled once: asset families (and their jobs), ledger surfaces, the family
each asset and surface belongs to, and the kinds of mapping a person can set. Everything else imports these, so
a new surface or family cannot be missing from one place (the daily summary once listed ``payment_status`` as a
family of its own because one dict lacked it). Pure data; ``Ledger`` and ``Mappings`` refuse a name not here."""

from __future__ import annotations

from dataclasses import dataclass

MONEY, TIME, STAFF, REFERENCE, REPORTS = "money", "time", "staff", "reference", "reports"


@dataclass(frozen=True)
class Family:
    """An asset family: its job, its default schedule (each tenant may set its own cron), and the asset whose
    materialization says the family last succeeded for a location (the staleness alert reads it)."""

    name: str
    job: str
    default_cron: str
    freshness_asset: str


FAMILY_TABLE = {f.name: f for f in (
    Family(MONEY, "money_job", "0 */6 * * *", "xero/invoices"),  # money every 6 h
    Family(TIME, "time_job", "0 2 * * *", "xero/timesheets"),  # time entries daily
    Family(STAFF, "staff_job", "0 3 * * *", "xero/staff"),  # members on schedule (and on demand)
    Family(REFERENCE, "reference_job", "0 1 * * *", "xero/tax_rates"),  # reference data daily
    Family(REPORTS, "reports_job", "0 5 * * *", "reports/reconciliation"),  # do the books agree: daily
)}
FAMILIES = {f.name: f.job for f in FAMILY_TABLE.values()}  # family -> job
JOB_FAMILY = {job: family for family, job in FAMILIES.items()}
DEFAULT_CRONS = {f.name: f.default_cron for f in FAMILY_TABLE.values()}

class Surface:
    """Integration surfaces: what the sync log files a call under, and (all but the last four) a ledger of records
    the product writes and the flow whose lease guards those writes. Plain strings, so they bind to SQL as is."""

    INVOICES = "invoices"
    CREDIT_NOTES = "credit_notes"  # ConnectWise credit memos -> Xero ACCRECCREDIT credit notes
    ALLOCATIONS = "allocations"  # credit applied to an invoice in ConnectWise -> a credit note allocation in Xero
    CONTACTS = "contacts"  # the customers invoices need
    BILLS = "bills"
    SUPPLIER_CREDITS = "supplier_credits"  # negative procurement (vendor returns) -> ACCPAYCREDIT credit notes
    SUPPLIERS = "suppliers"  # the suppliers bills need
    PAYMENTS = "payments"
    TIMESHEETS = "timesheets"
    STAFF = "staff"
    CATALOGUE = "catalogue"
    PAYROLL = "payroll"  # reads of Xero Payroll and ConnectWise members and time: logged, no ledger of their own
    REFERENCE = "reference"  # reads of the reference mirrors
    AUTH = "auth"  # Xero token refreshes
    RECONCILIATION = "reconciliation"  # the reconciliation's reads of both systems


LEGACY_PAYMENT_STATUS = "payment_status"  # a ledger surface of an earlier version, closed when met (issue 9)

# ledger surfaces (one per kind of record the product writes) -> the family whose runs write them
SURFACE_FAMILY = {Surface.INVOICES: MONEY, Surface.CREDIT_NOTES: MONEY, Surface.ALLOCATIONS: MONEY,
                  Surface.CONTACTS: MONEY, Surface.BILLS: MONEY, Surface.SUPPLIER_CREDITS: MONEY,
                  Surface.SUPPLIERS: MONEY, Surface.PAYMENTS: MONEY,
                  Surface.TIMESHEETS: TIME, Surface.STAFF: STAFF, Surface.CATALOGUE: REFERENCE}
LOG_SURFACES = (*SURFACE_FAMILY, Surface.PAYROLL, Surface.REFERENCE, Surface.AUTH, Surface.RECONCILIATION)

# every asset that is not a reference mirror -> its family (mirrors are REFERENCE); each asset's group is this
ASSET_FAMILY = {"xero/contacts": MONEY, "xero/invoices": MONEY, "xero/credit_notes": MONEY, "xero/bills": MONEY,
                "connectwise/invoice_payments": MONEY, "xero/staff": STAFF, "xero/timesheets": TIME,
                "connectwise/product_catalogue": REFERENCE, "reports/reconciliation": REPORTS}


def family_of_asset(key: str) -> str:
    return ASSET_FAMILY.get(key, REFERENCE)


# kinds of mapping: what the store calls them, and what `cz map` calls them with the help it shows
MEMBER_EMPLOYEE = "member_employee"
COMPANY_CONTACT = "company_contact"
TAX_CODE_TAX_TYPE = "tax_code_tax_type"
WORK_TYPE_EARNINGS_RATE = "work_type_earnings_rate"
LOCATION_TRACKING_OPTION = "location_tracking_option"


@dataclass(frozen=True)
class MapKind:
    stored: str
    source_help: str
    target_help: str


MAP_KINDS = {
    "member": MapKind(MEMBER_EMPLOYEE, "ConnectWise member (id or identifier)", "Xero EmployeeID"),
    "company": MapKind(COMPANY_CONTACT, "ConnectWise company id", "Xero ContactID"),
    "tax-code": MapKind(TAX_CODE_TAX_TYPE, "ConnectWise tax code identifier", "Xero TaxType"),
    "work-type": MapKind(WORK_TYPE_EARNINGS_RATE, "ConnectWise work type name or id", "Xero EarningsRateID"),
    "location-tracking": MapKind(LOCATION_TRACKING_OPTION, "ConnectWise location slug", "Xero tracking option name"),
}
STORED_MAPPINGS = {k.stored for k in MAP_KINDS.values()}


def check_surface(surface: str) -> str:
    if surface not in SURFACE_FAMILY:
        raise ValueError(f"unknown ledger surface {surface!r}: add it to sync/vocabulary.py SURFACE_FAMILY")
    return surface


def check_mapping(kind: str) -> str:
    if kind not in STORED_MAPPINGS:
        raise ValueError(f"unknown mapping kind {kind!r}: add it to sync/vocabulary.py")
    return kind
