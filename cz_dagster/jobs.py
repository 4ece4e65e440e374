"""One asset job per family; schedules and force-sync launch these, one partition (tenant-location) a run. The
families and their job names are spelled in sync/vocabulary.py; each asset's group is its family."""

from dagster import AssetSelection, define_asset_job

from cz_dagster.sync.vocabulary import FAMILIES, MONEY, REFERENCE, REPORTS, STAFF, TIME

DESCRIPTIONS = {
    MONEY: "Invoices (with their contacts), bills and payments for one tenant-location.",
    TIME: "Approved time entries of one tenant-location -> Xero payroll timesheets.",
    STAFF: "Map one tenant-location's ConnectWise members to Xero payroll employees.",
    REFERENCE: "Mirror the Xero reference data of one tenant-location's organisation; update the catalogue.",
    REPORTS: "Reconcile one tenant-location: does what was posted agree in ConnectWise and Xero?",
}
JOBS = {family: define_asset_job(job, selection=AssetSelection.groups(family), description=DESCRIPTIONS[family])
        for family, job in FAMILIES.items()}
money_job, time_job, staff_job, reference_job, reports_job = (JOBS[f] for f in (MONEY, TIME, STAFF, REFERENCE,
                                                                                REPORTS))

all_jobs = list(JOBS.values())
