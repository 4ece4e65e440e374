"""The Xero OAuth 2.0 authorization-code flow with a local callback (``cz xero connect``).

The identity URLs come from the tenant's settings, so the same code connects to real Xero or the sandbox.
After the code exchange, ``/connections`` tells which organisations the grant covers; each location is
matched to its organisation by tenant id, else by organisation name (the location's Xero org name or name).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx

from cz_dagster.resources.xero.tokens import XeroTokens
from cz_dagster.store.db import Store, StoreError

DEFAULT_SCOPES = ("offline_access accounting.invoices accounting.payments accounting.settings accounting.contacts "
                  "payroll.employees payroll.timesheets payroll.settings")
TOKEN_FIELDS = ("access_token", "refresh_token", "expires_in", "token_type", "scope", "id_token")


class XeroConnectError(StoreError):
    """The authorization did not complete; the message says why."""


@dataclass
class ConnectResult:
    organisations: list[dict[str, Any]]
    assigned: dict[str, str]  # location slug -> xero tenant id
    unassigned_locations: list[str]


class _CallbackServer(http.server.ThreadingHTTPServer):
    result: dict[str, str]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        self.server.result.update(query)  # type: ignore[attr-defined]
        ok = "code" in query
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        self.wfile.write(b"cz_dagster: Xero connected, you can close this window.\n" if ok else
                         f"cz_dagster: Xero authorization failed: {query.get('error', 'no code')}\n".encode())

    def log_message(self, *args: Any) -> None:
        return


def connect(store: Store, tenant: str, *, client_id: str, client_secret: str, open_url: Callable[[str], Any],
            location: str | None = None, port: int = 0, scopes: str = DEFAULT_SCOPES,
            timeout: float = 300.0) -> ConnectResult:
    t = store.tenant(tenant)
    locations = store.locations(tenant)
    if location is not None:
        locations = [store.location(tenant, location)]
    server = _CallbackServer(("127.0.0.1", port), _Handler)
    server.result = {}
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/callback"
    state = secrets.token_urlsafe(16)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    url = f"{t.xero_login_url.rstrip('/')}/identity/connect/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scopes,
        "state": state, "code_challenge": challenge, "code_challenge_method": "S256"})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        open_url(url)
        waited = 0.0
        while "code" not in server.result and "error" not in server.result and waited < timeout:
            threading.Event().wait(0.05)
            waited += 0.05
    finally:
        server.shutdown()
        server.server_close()
    result = server.result
    if "error" in result:
        raise XeroConnectError(f"Xero refused the authorization: {result['error']}")
    if "code" not in result:
        raise XeroConnectError(f"no answer from Xero within {timeout:.0f} s; open the URL and approve the app")
    if result.get("state") != state:
        raise XeroConnectError("the authorization answer had the wrong state parameter; try again")

    with httpx.Client(timeout=30) as http:
        response = http.post(f"{t.xero_identity_url.rstrip('/')}/connect/token", auth=(client_id, client_secret),
                             data={"grant_type": "authorization_code", "code": result["code"],
                                   "redirect_uri": redirect_uri, "code_verifier": verifier})
        if response.status_code != 200:
            raise XeroConnectError(f"Xero did not exchange the code ({response.status_code}): "
                                   f"{response.json().get('error', '?') if _is_json(response) else '?'}")
        token = {k: v for k, v in response.json().items() if k in TOKEN_FIELDS}
        conns = http.get(f"{t.xero_api_url.rstrip('/')}/connections",
                         headers={"Authorization": f"Bearer {token['access_token']}"})
        if conns.status_code != 200:
            raise XeroConnectError(f"Xero /connections answered {conns.status_code}")
        organisations = conns.json()
    XeroTokens(store, tenant).save(client_id, client_secret, token)

    by_id = {o["tenantId"]: o for o in organisations}
    by_name = {str(o.get("tenantName", "")).casefold(): o for o in organisations}
    assigned: dict[str, str] = {}
    unassigned: list[str] = []
    for loc in locations:
        org = by_id.get(loc.xero_tenant_id or "") or by_name.get((loc.xero_org_name or "").casefold()) \
            or by_name.get(loc.name.casefold())
        if org is None and location is not None and len(organisations) == 1:
            org = organisations[0]
        if org is None:
            unassigned.append(loc.slug)
            continue
        store.update_location(tenant, loc.slug, xero_tenant_id=org["tenantId"], xero_org_name=org.get("tenantName"))
        assigned[loc.slug] = org["tenantId"]
    return ConnectResult(organisations=organisations, assigned=assigned, unassigned_locations=unassigned)


def _is_json(response: httpx.Response) -> bool:
    try:
        response.json()
        return True
    except ValueError:
        return False


def follow_in_process(url: str) -> None:
    """For the sandbox, whose authorize endpoint approves at once: follow its redirect to our callback."""
    with httpx.Client(timeout=30, follow_redirects=True) as http:
        http.get(url)
