"""The `cz` command: onboarding, clear errors, the sync log, and `cz xero connect` against the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
from click.testing import CliRunner

from cz_dagster.cli import main
from cz_dagster.resources.xero.tokens import XeroTokens
from cz_dagster.store.secrets import Secrets
from cz_dagster.store.synclog import SyncLog
from cz_sandbox import demo


def cz(store_env, *args: str):  # noqa: ANN001, ANN201
    return CliRunner().invoke(main, list(args), env=store_env.env, catch_exceptions=False)


def test_onboarding_and_errors(store_env):
    r = cz(store_env, "tenant", "add", "acme", "--name", "Acme IT", "--timezone", "Australia/Adelaide")
    assert r.exit_code == 0 and "tenant acme added" in r.output
    r = cz(store_env, "tenant", "add", "acme", "--name", "Again")
    assert r.exit_code == 1 and "tenant 'acme' already exists" in r.output
    r = cz(store_env, "tenant", "add", "bad", "--name", "Bad", "--timezone", "Mars/Olympus")
    assert r.exit_code == 2 and "is not an IANA time zone" in r.output
    r = cz(store_env, "location", "add", "--tenant", "nope", "perth", "--name", "Perth", "--cw-location-id", "13")
    assert r.exit_code == 1 and "unknown tenant 'nope'" in r.output and "cz tenant add" in r.output
    r = cz(store_env, "location", "add", "--tenant", "acme", "perth", "--name", "Perth", "--cw-location-id", "x")
    assert r.exit_code == 2 and "'x' is not a valid integer" in r.output
    r = cz(store_env, "location", "add", "--tenant", "acme", "perth", "--name", "Perth", "--cw-location-id", "13",
           "--xero-tenant-id", "not-a-uuid")
    assert r.exit_code == 2 and "UUID" in r.output
    r = cz(store_env, "location", "add", "--tenant", "acme", "perth", "--name", "Perth", "--cw-location-id", "13")
    assert r.exit_code == 0 and "acme__perth" in r.output
    r = cz(store_env, "connectwise", "credentials", "--tenant", "acme", "--site", "api-au.myconnectwise.net",
           "--company", "acme", "--public-key", "p", "--private-key", "k", "--client-id", "c")
    assert r.exit_code == 2 and "as a URL" in r.output
    r = cz(store_env, "connectwise", "credentials", "--tenant", "acme", "--site", "https://api-au.myconnectwise.net",
           "--company", "acme", "--public-key", "pub", "--private-key", "priv-123", "--client-id", "cid")
    assert r.exit_code == 0 and "encrypted" in r.output and "priv-123" not in r.output
    assert Secrets(store_env.store, "acme").get("connectwise")["private_key"] == "priv-123"
    r = cz(store_env, "tenant", "list")
    assert "acme__perth" in r.output and "(no Xero organisation)" in r.output
    r = cz(store_env, "log", "--tenant", "acme", "--since", "yesterday-ish")
    assert r.exit_code == 2 and "give an ISO time" in r.output


def test_missing_configuration_is_clear(tmp_path):
    env = {"CZ_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nothing", "CZ_SECRET_KEYS": ""}
    r = CliRunner().invoke(main, ["tenant", "list"], env=env)
    assert r.exit_code == 1 and "cannot open the store" in r.output and "CZ_DATABASE_URL" in r.output
    env = {"CZ_DATA_DIR": str(tmp_path), "CZ_SECRET_KEYS": "not-a-key"}
    r = CliRunner().invoke(main, ["tenant", "add", "x", "--name", "X"], env=env)
    assert r.exit_code == 1 and "CZ_SECRET_KEYS key #1 is not a valid Fernet key" in r.output


def test_log_reads_scoped_entries(store_env):
    store_env.store.add_tenant("acme", "Acme")
    store_env.store.add_location("acme", "perth", "Perth", 13)
    SyncLog(store_env.store, "acme").write(location="perth", surface="invoices", system="xero", method="PUT",
                                           url="http://x/api.xro/2.0/Invoices", status=200, duration_ms=12,
                                           request='{"a": 1}', response='{"b": 2}')
    r = cz(store_env, "log", "--tenant", "acme", "--location", "perth", "--surface", "invoices", "--since", "1h",
           "--full")
    assert r.exit_code == 0 and "PUT" in r.output and '{"b": 2}' in r.output
    r = cz(store_env, "log", "--tenant", "acme", "--surface", "payments")
    assert r.exit_code == 0 and r.output == ""
    r = cz(store_env, "log", "--tenant", "acme", "--location", "nowhere")
    assert r.exit_code == 1 and "unknown location 'nowhere'" in r.output


def test_xero_connect_authorization_code_flow(store_env, sandbox):
    """The real flow: the CLI prints Xero's consent URL and waits on its local callback; a 'browser' follows it."""
    store = store_env.store
    store.add_tenant("acme", "Acme", xero_api_url=sandbox.xero_url, xero_identity_url=sandbox.xero_url,
                     xero_login_url=sandbox.xero_url)
    store.add_location("acme", "adelaide", "Adelaide", 11)
    store.add_location("acme", "perth", "Perth", 13)
    env = {**os.environ, **store_env.env, "CZ_XERO_CLIENT_ID": demo.XERO_CLIENT_ID,
           "CZ_XERO_CLIENT_SECRET": demo.XERO_CLIENT_SECRET}
    proc = subprocess.Popen([sys.executable, "-m", "cz_dagster.cli", "xero", "connect", "--tenant", "acme",
                             "--no-browser"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = None
    for line in proc.stdout:
        if "/identity/connect/authorize?" in line:
            url = line.strip()
            break
    assert url is not None
    httpx.get(url, follow_redirects=True, timeout=30)  # the sandbox approves at once and redirects to the callback
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"acme__adelaide -> Xero organisation {demo.LOCATIONS['adelaide']['xero_tenant_id']}" in out
    assert "acme__perth: no organisation of this grant matches" in err
    assert store.location("acme", "adelaide").xero_org_name == "Adelaide"
    assert XeroTokens(store, "acme").load().status == "active"


def test_cz_sandbox_serves_and_registers_the_demo(store_env, tmp_path):
    """`cz sandbox` (what `make demo` runs): both simulators up, the demo tenant in the store, partitions in
    DAGSTER_HOME."""
    import socket
    import time

    from dagster import DagsterInstance

    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, **store_env.env, "DAGSTER_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "cz_dagster.cli", "sandbox", "--cw-port", str(ports[0]),
                             "--xero-port", str(ports[1])], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 90
        for line in proc.stdout:
            lines.append(line)
            if "serving;" in line or time.monotonic() > deadline:
                break
        assert any("demo tenant registered" in line and "demo__adelaide, demo__melbourne" in line for line in lines)
        state = httpx.get(f"http://127.0.0.1:{ports[1]}/_sandbox/state", timeout=10).json()
        assert [o["name"] for o in state["organisations"]] == ["Adelaide", "Melbourne"]
        assert store_env.store.location("demo", "melbourne").xero_tenant_id == demo.LOCATIONS["melbourne"][
            "xero_tenant_id"]
        with DagsterInstance.from_config(str(home)) as instance:
            assert instance.get_dynamic_partitions("tenant_location") == ["demo__adelaide", "demo__melbourne"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            raise AssertionError("`cz sandbox` did not stop within 30 s of SIGTERM") from None
    assert proc.returncode == 0  # stopped cleanly (KeyboardInterrupt path), not killed by the signal


def test_tenant_settings(store_env):
    store_env.store.add_tenant("acme", "Acme")
    r = cz(store_env, "tenant", "set", "acme", "--payroll-statuses", "ApprovedByTierOne,ApprovedByTierTwo")
    assert r.exit_code == 0 and store_env.store.tenant("acme").payroll_statuses == "ApprovedByTierOne,ApprovedByTierTwo"
    r = cz(store_env, "tenant", "set", "acme", "--payroll-statuses", "Approved")
    assert r.exit_code == 2 and "unknown time entry status(es) Approved" in r.output
    r = cz(store_env, "tenant", "set", "acme", "--disabled", "--payroll-statuses", "default")
    assert r.exit_code == 0 and "disabled" in r.output and store_env.store.tenant("acme").payroll_statuses is None
    r = cz(store_env, "tenant", "set", "acme")
    assert r.exit_code == 2 and "nothing to change" in r.output


def test_location_time_zone(store_env, tmp_path):
    """A location's people may work in another time zone than the tenant: `cz location add|set --timezone`."""
    from click.testing import CliRunner

    from cz_dagster.cli import main

    env = store_env.env
    runner = CliRunner()
    assert runner.invoke(main, ["tenant", "add", "acme", "--name", "Acme", "--timezone", "Australia/Adelaide"],
                         env=env).exit_code == 0
    out = runner.invoke(main, ["location", "add", "--tenant", "acme", "perth", "--name", "Perth",
                               "--cw-location-id", "14", "--timezone", "Australia/Perth"], env=env)
    assert out.exit_code == 0, out.output
    assert store_env.store.location("acme", "perth").timezone == "Australia/Perth"
    bad = runner.invoke(main, ["location", "set", "--tenant", "acme", "perth", "--timezone", "Mars/Olympus"], env=env)
    assert bad.exit_code != 0 and "not an IANA time zone" in bad.output
    ok = runner.invoke(main, ["location", "set", "--tenant", "acme", "perth", "--timezone", "Australia/Darwin"],
                       env=env)
    assert ok.exit_code == 0 and "Australia/Darwin" in ok.output
    assert store_env.store.location("acme", "perth").timezone == "Australia/Darwin"


def test_tenant_show_and_location_list(store_env):
    """What is configured, without reading the database: a tenant's settings and its locations, with their Xero
    organisation, time zone (and where it comes from), ConnectWise location id and connection state."""
    import json

    cz(store_env, "tenant", "add", "acme", "--name", "Acme IT", "--timezone", "Australia/Adelaide")
    cz(store_env, "location", "add", "--tenant", "acme", "adelaide", "--name", "Adelaide", "--cw-location-id", "11",
       "--xero-tenant-id", "7b0c1d5e-0000-4000-8000-000000000011", "--xero-org", "Adelaide Pty")
    cz(store_env, "location", "add", "--tenant", "acme", "perth", "--name", "Perth", "--cw-location-id", "13",
       "--timezone", "Australia/Perth")
    cz(store_env, "connectwise", "credentials", "--tenant", "acme", "--site", "https://api-au.myconnectwise.net",
       "--company", "acme", "--public-key", "pub", "--private-key", "priv-123", "--client-id", "cid")
    cz(store_env, "schedule", "set", "--tenant", "acme", "--family", "money", "--cron", "0 */4 * * *")
    r = cz(store_env, "location", "list", "--tenant", "acme")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert ("acme__adelaide\tCW location 11\t-> Adelaide Pty\tAustralia/Adelaide (tenant)\tXero: not connected"
            in lines[0])
    assert "acme__perth\tCW location 13\t-> (no Xero organisation)\tAustralia/Perth (location)" in lines[1]
    views = json.loads(cz(store_env, "location", "list", "--tenant", "acme", "--json").output)
    assert [(v["location"], v["connectwise_location_id"], v["timezone"]) for v in views] == [
        ("adelaide", 11, "Australia/Adelaide"), ("perth", 13, "Australia/Perth")]
    shown = cz(store_env, "tenant", "show", "acme")
    assert shown.exit_code == 0 and "credentials set" in shown.output and "priv-123" not in shown.output
    assert "schedule money      0 */4 * * *" in shown.output
    assert "schedule time       0 2 * * * (default)" in shown.output
    data = json.loads(cz(store_env, "tenant", "show", "acme", "--json").output)
    assert data["timezone"] == "Australia/Adelaide" and data["xero"]["connection"] == "not connected"
    assert data["schedules"]["money"] == {"cron": "0 */4 * * *", "default": False} and len(data["locations"]) == 2
    listed = json.loads(cz(store_env, "tenant", "list", "--json").output)
    assert [t["tenant"] for t in listed] == ["acme"]
    assert cz(store_env, "tenant", "show", "nope").exit_code == 1
