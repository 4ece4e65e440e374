"""The Dagster resource that builds a Xero client per tenant-location from the stored, encrypted connection;
its fields are the knobs a deployment (or a test scaling Xero's minute down) turns."""

from __future__ import annotations

from dagster import ConfigurableResource

from cz_dagster.resources.recorder import CallRecorder
from cz_dagster.resources.retry import RetryPolicy
from cz_dagster.resources.xero.client import XeroClient
from cz_dagster.store.db import Store, StoreError


def no_organisation_message(tenant: str, location: str) -> str:
    return (f"configuration error: location {location!r} of tenant {tenant!r} has no Xero organisation; connect one "
            f"with `cz xero connect --tenant {tenant} --location {location}`")


class XeroResource(ConfigurableResource):
    """Builds Xero clients for a tenant's locations from the stored, encrypted connection."""

    timeout_seconds: float = 60.0
    retry_attempts: int = 6
    retry_base_delay: float = 0.5
    retry_max_delay: float = 30.0
    minute_budget: int = 55
    minute_window_seconds: float = 60.0  # Xero's minute; tests scale it (and the sandbox's) down together
    max_in_flight: int = 5
    day_reserve: int = 0
    batch_size: int = 50

    def client(self, store: Store, tenant: str, xero_tenant_id: str | None, location: str,
               recorder: CallRecorder) -> XeroClient:
        if not xero_tenant_id:
            raise StoreError(no_organisation_message(tenant, location))
        t = store.tenant(tenant)
        return XeroClient(store=store, tenant=tenant, xero_tenant_id=xero_tenant_id, api_url=t.xero_api_url,
                          identity_url=t.xero_identity_url, recorder=recorder, timeout=self.timeout_seconds,
                          minute_budget=self.minute_budget, day_reserve=self.day_reserve,
                          minute_window=self.minute_window_seconds, max_in_flight=self.max_in_flight,
                          retry=RetryPolicy(attempts=self.retry_attempts, base_delay=self.retry_base_delay,
                                            max_delay=self.retry_max_delay))
