"""The one composition root: assets, checks, jobs, sensors and resources."""

from __future__ import annotations

from dagster import Definitions

from cz_dagster.assets.bills import bills
from cz_dagster.assets.catalogue import product_catalogue
from cz_dagster.assets.contacts import contacts
from cz_dagster.assets.credit_notes import credit_notes
from cz_dagster.assets.invoices import invoices
from cz_dagster.assets.payments import invoice_payments
from cz_dagster.assets.reconciliation import reconciliation
from cz_dagster.assets.reference import reference_assets
from cz_dagster.assets.staff import staff
from cz_dagster.assets.timesheets import timesheets
from cz_dagster.jobs import all_jobs
from cz_dagster.resources import ConnectWiseResource, StoreResource, XeroResource
from cz_dagster.resources.mailer import smtp_from_env
from cz_dagster.sensors.alerts import alerts_sensor, run_failure_alerts
from cz_dagster.sensors.dispatch import sync_dispatcher
from cz_dagster.sensors.tenants import tenants_sensor

all_assets = [contacts, invoices, credit_notes, bills, invoice_payments, staff, timesheets, product_catalogue,
              reconciliation, *reference_assets]

defs = Definitions(
    assets=all_assets,
    jobs=all_jobs,
    sensors=[tenants_sensor, sync_dispatcher, run_failure_alerts, alerts_sensor],
    resources={
        "store": StoreResource(),
        "connectwise_api": ConnectWiseResource(),
        "xero_api": XeroResource(),
        "mailer": smtp_from_env(),
    },
)
