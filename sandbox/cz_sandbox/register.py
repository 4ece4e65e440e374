"""Register the sandbox's demo tenant in the store, the way a real MSP would be onboarded with the CLI:
tenant, locations, ConnectWise credentials, then the Xero authorization-code flow against the sandbox.

The one module of the sandbox that imports the product (to onboard through the product's own code path); the
product never imports the sandbox."""

from __future__ import annotations

from cz_dagster.resources.xero.connect import ConnectResult, connect, follow_in_process
from cz_dagster.store.db import Store, StoreError
from cz_dagster.store.secrets import Secrets
from cz_sandbox import demo


def register_demo(store: Store, cw_url: str, xero_url: str, tenant: str = demo.TENANT) -> ConnectResult:
    """Idempotent: an existing demo tenant is re-pointed at these sandbox URLs and reconnected. ``tenant`` lets
    the soak register several MSPs, each against its own pair of simulators."""
    urls = {"cw_url": cw_url, "cw_company_id": demo.CW_COMPANY_ID, "cw_codebase": demo.CW_CODEBASE,
            "xero_api_url": xero_url, "xero_identity_url": xero_url, "xero_login_url": xero_url}
    try:
        store.tenant(tenant)
        store.update_tenant(tenant, **urls)
    except StoreError:
        name = demo.TENANT_NAME if tenant == demo.TENANT else f"{demo.TENANT_NAME} ({tenant})"
        store.add_tenant(tenant, name, timezone="Australia/Adelaide", **urls)
    for slug, info in demo.LOCATIONS.items():
        try:
            store.location(tenant, slug)
        except StoreError:
            store.add_location(tenant, slug, info["name"], info["cw_location_id"],
                               xero_org_name=info["xero_org"], timezone=info.get("timezone"))
    Secrets(store, tenant).put("connectwise", {"public_key": demo.CW_PUBLIC_KEY,
                                               "private_key": demo.CW_PRIVATE_KEY,
                                               "client_id": demo.CW_CLIENT_ID})
    return connect(store, tenant, client_id=demo.XERO_CLIENT_ID, client_secret=demo.XERO_CLIENT_SECRET,
                   open_url=follow_in_process)
