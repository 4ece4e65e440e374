"""One asset job per family; schedules and force-sync launch these, one partition (tenant-location) a run."""

from dagster import AssetSelection, define_asset_job

money_job = define_asset_job(
    "money_job", selection=AssetSelection.groups("money"),
    description="Invoices (with their contacts), bills and payments for one tenant-location.")
time_job = define_asset_job(
    "time_job", selection=AssetSelection.groups("time"),
    description="Approved time entries of one tenant-location -> Xero payroll timesheets.")
staff_job = define_asset_job(
    "staff_job", selection=AssetSelection.groups("staff"),
    description="Map one tenant-location's ConnectWise members to Xero payroll employees.")
reference_job = define_asset_job(
    "reference_job", selection=AssetSelection.groups("reference"),
    description="Mirror the Xero reference data of one tenant-location's organisation; update the catalogue.")

all_jobs = [money_job, time_job, staff_job, reference_job]
