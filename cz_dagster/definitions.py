"""The one composition root: assets, checks, jobs, sensors and resources."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job

from cz_dagster.assets.bills import bills
from cz_dagster.assets.catalogue import product_catalogue
from cz_dagster.assets.contacts import contacts
from cz_dagster.assets.invoices import invoices
from cz_dagster.assets.payments import invoice_payments
from cz_dagster.assets.reference import reference_assets
from cz_dagster.assets.staff import staff
from cz_dagster.assets.timesheets import timesheets
from cz_dagster.resources import ConnectWiseResource, StoreResource, XeroResource
from cz_dagster.sensors.tenants import tenants_sensor

money_job = define_asset_job(
    "money_job",
    selection=AssetSelection.groups("money"),
    description="Invoices (and their contacts) for one tenant-location.",
)

all_assets = [contacts, invoices, bills, invoice_payments, staff, timesheets, product_catalogue,
              *reference_assets]

time_job = define_asset_job(
    "time_job",
    selection=AssetSelection.groups("time"),
    description="Approved time entries of one tenant-location -> Xero payroll timesheets.",
)

staff_job = define_asset_job(
    "staff_job",
    selection=AssetSelection.groups("staff"),
    description="Map one tenant-location's ConnectWise members to Xero payroll employees.",
)

reference_job = define_asset_job(
    "reference_job",
    selection=AssetSelection.groups("reference"),
    description="Mirror the Xero reference data of one tenant-location's organisation.",
)

defs = Definitions(
    assets=all_assets,
    jobs=[money_job, time_job, staff_job, reference_job],
    sensors=[tenants_sensor],
    resources={
        "store": StoreResource(),
        "connectwise_api": ConnectWiseResource(),
        "xero_api": XeroResource(),
    },
)
