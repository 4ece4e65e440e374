"""The API clients against the sandbox over HTTP: ConnectWise paging, incremental reads, retry rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cz_dagster.resources.connectwise import ConnectWiseClient, ConnectWiseError
from cz_dagster.resources.recorder import CallRecorder
from cz_dagster.resources.retry import RetryPolicy, TransientError
from cz_sandbox import demo


@pytest.fixture
def cw(demo_env):  # noqa: ANN001, ANN201
    recorder = CallRecorder(demo_env.store, "demo", "adelaide", "test")
    client = ConnectWiseClient(site_url=demo_env.sandbox.cw_url, codebase=demo.CW_CODEBASE,
                               company_id=demo.CW_COMPANY_ID, public_key=demo.CW_PUBLIC_KEY,
                               private_key=demo.CW_PRIVATE_KEY, client_id=demo.CW_CLIENT_ID, recorder=recorder,
                               retry=RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05), page_size=25)
    yield client
    client.close()


def test_paging_follows_link_headers(cw, demo_env):
    companies = cw.get_all("company/companies", surface="reference")
    assert len(companies) == len(demo_env.sandbox.cw_state()["companies"]) > 25
    assert len({c["id"] for c in companies}) == len(companies)
    assert cw.recorder.calls["connectwise"] == -(-len(companies) // 25)


def test_incremental_condition_with_overlap(cw):
    assert cw.since_condition(None, timedelta(minutes=10)) is None
    since = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert cw.since_condition(since, timedelta(minutes=10)) == "_info/lastUpdated >= [2026-01-01T11:50:00Z]"
    everything = cw.get_all("finance/accounting/unpostedinvoices", surface="invoices",
                            conditions=cw.since_condition(datetime(2000, 1, 1, tzinfo=UTC), timedelta(0)))
    nothing = cw.get_all("finance/accounting/unpostedinvoices", surface="invoices",
                         conditions=cw.since_condition(datetime.now(UTC) + timedelta(days=1), timedelta(0)))
    assert len(everything) == sum(demo.DEFAULT_INVOICES_PER_LOCATION.values()) and nothing == []


def test_retries_transient_not_validation_errors(cw, demo_env):
    sandbox = demo_env.sandbox
    sandbox.fault("connectwise", path="*/company/companies", kind="status", status=429, count=1,
                  headers={"Retry-After": "0"})
    sandbox.fault("connectwise", path="*/company/companies", kind="drop", when="before", count=1)
    sandbox.fault("connectwise", path="*/company/companies", kind="status", status=502, count=1)
    assert cw.get_all("company/companies", surface="reference", conditions="id=250")[0]["id"] == 250
    assert cw.recorder.retries["connectwise"] == 3 and cw.recorder.rate_limited["connectwise"] == 1
    with pytest.raises(ConnectWiseError, match="400 InvalidObject"):
        cw.get_all("company/companies", surface="reference", conditions="nosuchfield=1")
    assert cw.recorder.retries["connectwise"] == 3  # a validation error is not retried
    sandbox.fault("connectwise", path="*/company/companies", kind="status", status=503, count=10)
    with pytest.raises(TransientError, match="503"):
        cw.get_all("company/companies", surface="reference")


def test_each_xero_client_has_its_own_token(demo_env):
    """Regression: xero-python's Configuration returns a copy of the first instance made in the process and
    ignores its arguments, so two clients (two tenants) shared one token object, refreshing the wrong one."""
    from xero_python.api_client.configuration import Configuration
    from xero_python.api_client.oauth2 import OAuth2Token

    from cz_dagster.resources.xero import XeroResource

    Configuration(oauth2_token=OAuth2Token(client_id="someone-else", client_secret="x"))  # another user first
    store = demo_env.store
    recorder = CallRecorder(store, "demo", "adelaide", "t")
    adelaide = XeroResource().client(store, "demo", demo.LOCATIONS["adelaide"]["xero_tenant_id"], "adelaide",
                                     recorder)
    melbourne = XeroResource().client(store, "demo", demo.LOCATIONS["melbourne"]["xero_tenant_id"], "melbourne",
                                      recorder)
    token_a = adelaide.api_client.configuration.oauth2_token
    token_m = melbourne.api_client.configuration.oauth2_token
    assert token_a is not token_m
    assert token_a._owner is adelaide and token_m._owner is melbourne
    assert token_a.client_id == demo.XERO_CLIENT_ID
    assert adelaide.call("reference", adelaide.accounting.get_organisations).organisations[0].name == "Adelaide"
