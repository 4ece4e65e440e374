"""A client of a running pair of simulators, for whatever drives them from outside -- the tests, the soak: their
admin routes (state, faults, what a user does in either UI) and ConnectWise's own API as the demo's integrator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from cz_sandbox import demo


@dataclass
class SandboxClient:
    cw_url: str
    xero_url: str

    def _base(self, system: str) -> str:
        return self.cw_url if system == "connectwise" else self.xero_url

    # -- admin routes ----------------------------------------------------------------------------------------
    def cw_state(self) -> dict[str, Any]:
        return httpx.get(f"{self.cw_url}/_sandbox/state", timeout=60).json()

    def xero_state(self) -> dict[str, Any]:
        return httpx.get(f"{self.xero_url}/_sandbox/state", timeout=60).json()

    def org(self, slug: str) -> dict[str, Any]:
        """One demo location's Xero organisation, as the sandbox holds it."""
        tid = demo.LOCATIONS[slug]["xero_tenant_id"]
        return next(o for o in self.xero_state()["organisations"] if o["tenant_id"] == tid)

    def post(self, system: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.post(f"{self._base(system)}{path}", json=body or {}, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else {}

    def fault(self, system: str, **spec: Any) -> dict[str, Any]:
        return self.post(system, "/_sandbox/faults", spec)

    def faults(self, system: str) -> list[dict[str, Any]]:
        """The fault rules still in force (a spent rule is gone)."""
        return httpx.get(f"{self._base(system)}/_sandbox/faults", timeout=10).json()

    def clear_faults(self) -> None:
        for system in ("connectwise", "xero"):
            httpx.delete(f"{self._base(system)}/_sandbox/faults", timeout=10).raise_for_status()

    # -- ConnectWise's own API, with the demo's credentials --------------------------------------------------
    def _cw_api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.cw_url}/{demo.CW_CODEBASE}apis/3.0/{path}",
                                 auth=(f"{demo.CW_COMPANY_ID}+{demo.CW_PUBLIC_KEY}", demo.CW_PRIVATE_KEY),
                                 headers={"clientId": demo.CW_CLIENT_ID}, timeout=60, **kwargs)
        response.raise_for_status()
        return response.json()

    def cw_delete(self, path: str) -> None:
        response = httpx.delete(f"{self.cw_url}/{demo.CW_CODEBASE}apis/3.0/{path}",
                                auth=(f"{demo.CW_COMPANY_ID}+{demo.CW_PUBLIC_KEY}", demo.CW_PRIVATE_KEY),
                                headers={"clientId": demo.CW_CLIENT_ID}, timeout=60)
        response.raise_for_status()

    def cw_get(self, path: str, **params: Any) -> Any:
        return self._cw_api("GET", path, params={"pageSize": 1000, **params})

    def accounting_export(self, location: str, *, invoices: bool = False, products: bool = False) -> dict[str, Any]:
        """What ConnectWise holds unposted for a location, through its Accounting Interface export."""
        body = {"locationId": demo.LOCATIONS[location]["cw_location_id"]}
        if invoices:
            body["exportInvoicesFlag"] = True
        if products:
            body["exportProductsFlag"] = True
        return self._cw_api("POST", "finance/accounting/export", json=body)

    def cw_export(self, location: str) -> list[dict[str, Any]]:
        """A location's unposted invoices."""
        return self.accounting_export(location, invoices=True)["transactions"]

    def cw_procurement(self, location: str) -> list[dict[str, Any]]:
        """A location's unposted procurement."""
        return self.accounting_export(location, products=True)["purchaseTransactions"]
