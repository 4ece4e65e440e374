"""Security (issue 5): a tenant's data is reachable only through that tenant's database (on PostgreSQL, as that
tenant's own role); secrets are encrypted at rest and survive a key rotation with no downtime; no secret in
logs, the sync log, metadata, emails or exceptions; sync-log retention deletes old payloads. Both backends."""

from __future__ import annotations

import base64
import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from dagster import DagsterInstance, DagsterRunStatus, build_run_status_sensor_context
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from cz_dagster.resources.xero.tokens import XeroTokens
from cz_dagster.sensors.alerts import run_failure_alerts, send_daily, send_error_summaries
from cz_dagster.store import schema as s
from cz_dagster.store.cursors import Cursors
from cz_dagster.store.db import Store
from cz_dagster.store.ledger import Ledger
from cz_dagster.store.provision import scram_verifier
from cz_dagster.store.recipients import Recipients
from cz_dagster.store.secrets import Secrets
from cz_dagster.store.settings import Settings
from cz_dagster.store.synclog import SyncLog
from cz_sandbox import demo
from tests.conftest import StoreEnv
from tests.dagster_helpers import run_assets
from tests.pg import drop_databases
from tests.test_alerts import smtp  # noqa: F401  (the fixture)
from tests.test_invoices_e2e import ADL, MONEY
from tests.test_store import dump_all_text


def _reopen(store_env: StoreEnv, keys: str | None = None, **settings) -> Store:  # noqa: ANN003
    st = store_env.settings
    return Store(Settings(data_dir=st.data_dir, database_url=st.database_url,
                          secret_keys=keys or st.secret_keys, **settings))


def _role(store: Store, slug: str) -> str | None:
    with store.control.connect() as conn:
        return conn.execute(select(s.tenants.c.db_role).where(s.tenants.c.slug == slug)).scalar()


def _files_bytes(directory: Path) -> bytes:
    """Every byte of the SQLite files (and their WAL) under a directory."""
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file() and ".db" in p.name)


def _two_tenants(store: Store) -> None:
    for slug in ("one", "two"):
        store.add_tenant(slug, slug.title())
        Cursors(store, slug, "perth").put("marker", f"ROW-OF-{slug.upper()}")


# -- isolation -------------------------------------------------------------------------------------------------
def test_tenant_engine_reaches_only_its_own_database(store_env):
    store = store_env.store
    _two_tenants(store)
    one = store.tenant_engine("one")
    assert Cursors(store, "one", "perth").get("marker") == "ROW-OF-ONE"
    assert Cursors(store, "two", "perth").get("marker") == "ROW-OF-TWO"
    with one.connect() as conn:
        assert conn.execute(text("SELECT value FROM cursors")).scalars().all() == ["ROW-OF-ONE"]
    if store.backend == "sqlite":
        data = store_env.settings.data_dir
        assert Path(one.url.database) == data / "tenants" / "one.db"
        assert b"ROW-OF-ONE" in _files_bytes(data / "tenants") and "two" not in str(one.url)
        one.dispose()
        assert b"ROW-OF-TWO" not in b"".join(p.read_bytes() for p in (data / "tenants").glob("one.db*"))
        return

    control_user = make_url(store_env.settings.database_url).username
    role_one, role_two = _role(store, "one"), _role(store, "two")
    assert role_one and role_two and len({role_one, role_two, control_user}) == 3
    with one.begin() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == role_one
        assert conn.execute(text("SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles "
                                 "WHERE rolname = current_user")).scalar() is False
        conn.execute(text("INSERT INTO cursors (location, name, value, updated_at) "
                          "VALUES ('perth', 'written', 'x', now())"))
        conn.execute(text("CREATE TEMP TABLE scratch (x int)"))  # TEMP is granted
    assert Cursors(store, "one", "perth").get("written") == "x"

    # one's own credentials against two's database, and the control database
    two_db = store.tenant_engine("two").url.database
    stolen = create_engine(one.url.set(database=two_db))
    with pytest.raises(OperationalError, match="permission denied for database"):
        stolen.connect()
    stolen.dispose()
    control = create_engine(one.url.set(database=make_url(store_env.settings.database_url).database))
    with control.connect() as conn:  # CONNECT to the control database is PUBLIC's, but not its tables
        for table in ("tenants", "locations", "notification_prefs"):
            with pytest.raises(ProgrammingError, match=f"permission denied for table {table}"):
                conn.execute(text(f"SELECT * FROM {table}"))
            conn.rollback()
    control.dispose()
    with store.control.connect() as conn:  # nobody but the role (and superusers) may connect to its database
        assert conn.execute(text("SELECT pg_get_userbyid(datdba), has_database_privilege('public', :d, 'CONNECT') "
                                 "FROM pg_database WHERE datname = :d"), {"d": two_db}).one() == (role_two, False)


def test_role_password_encrypted_and_only_its_verifier_on_the_server(store_env):
    store = store_env.store
    store.add_tenant("acme", "Acme")
    Secrets(store, "acme").put("connectwise", {"private_key": "PRIVATE-at-rest"})
    if store.backend == "sqlite":
        assert _role(store, "acme") is None
        store.dispose()
        raw = _files_bytes(store_env.settings.data_dir)
        assert b"PRIVATE-at-rest" not in raw and store_env.settings.secret_keys.encode() not in raw
        return
    password = store.tenant_engine("acme").url.password
    assert password and len(password) >= 32
    assert password not in dump_all_text(store, "acme")
    # the server holds a SCRAM verifier of that password, which the store computed itself (the password was
    # never sent); the verifier function agrees with PostgreSQL's own for a password PostgreSQL hashed
    admin = create_engine(store_env.settings.database_url, isolation_level="AUTOCOMMIT")
    probe = f"{make_url(store_env.settings.database_url).database}_probe"
    with admin.connect() as conn:
        conn.exec_driver_sql("SET password_encryption = 'scram-sha-256'")
        conn.exec_driver_sql(f'CREATE ROLE "{probe}" PASSWORD \'probe-password\'')
        for role, plain in ((probe, "probe-password"), (_role(store, "acme"), password)):
            stored = conn.execute(text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": role}).scalar()
            iterations, salt = stored.split("$")[1].split(":")
            assert stored == scram_verifier(plain, base64.b64decode(salt), int(iterations))
    admin.dispose()


def test_tenant_made_before_roles_gets_one_on_first_use(store_env):
    """A tenant database created by an earlier version (owned by the control user, open to PUBLIC, no role)."""
    if store_env.backend == "sqlite":
        pytest.skip("roles are PostgreSQL's")
    store = store_env.store
    store.add_tenant("acme", "Acme")
    Secrets(store, "acme").put("connectwise", {"private_key": "kept"})
    role, db = _role(store, "acme"), store.tenant_engine("acme").url.database
    store.dispose()
    admin_url = make_url(store_env.settings.database_url)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # back to how earlier versions left it
        conn.exec_driver_sql(f'ALTER DATABASE "{db}" OWNER TO CURRENT_USER')
        conn.exec_driver_sql(f'GRANT ALL ON DATABASE "{db}" TO PUBLIC')
        conn.exec_driver_sql(f'REVOKE ALL ON DATABASE "{db}" FROM "{role}"')
        conn.execute(update(s.tenants).values(db_role=None, db_password_enc=None))
        conn.exec_driver_sql("ALTER TABLE tenants DROP COLUMN db_role, DROP COLUMN db_password_enc")
    tenant_admin = create_engine(admin_url.set(database=db), isolation_level="AUTOCOMMIT")
    with tenant_admin.connect() as conn:
        for table in s.tenant_metadata.tables:
            conn.exec_driver_sql(f'ALTER TABLE "{table}" OWNER TO CURRENT_USER')
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP ROLE "{role}"')

    upgraded = _reopen(store_env)  # adds the columns; the role is made on first use
    assert Secrets(upgraded, "acme").get("connectwise") == {"private_key": "kept"}
    Cursors(upgraded, "acme", "perth").put("after-upgrade", "ok")
    with upgraded.tenant_engine("acme").connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == role
    with tenant_admin.connect() as conn:
        owners = set(conn.execute(text("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"))
                     .scalars())
    assert owners == {role}
    upgraded.dispose()
    tenant_admin.dispose()
    admin.dispose()


def test_control_user_without_superuser(pg_server_url, tmp_path):
    """A managed server gives CREATEDB and CREATEROLE, not superuser: provisioning must still work."""
    name = f"czt_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{name}_admin" LOGIN CREATEDB CREATEROLE')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" OWNER "{name}_admin"')
    url = make_url(pg_server_url).set(database=name, username=f"{name}_admin")
    store = Store(Settings(data_dir=tmp_path, database_url=url.render_as_string(hide_password=False),
                           secret_keys=Fernet.generate_key().decode()))
    try:
        _two_tenants(store)
        with store.tenant_engine("one").connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == _role(store, "one")
        assert Cursors(store, "two", "perth").get("marker") == "ROW-OF-TWO"
    finally:
        store.dispose()
        drop_databases(pg_server_url, name)
    with admin.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM pg_roles WHERE rolname LIKE :p"), {"p": name + "%"})
        assert left.scalar() == 0
    admin.dispose()


# -- keys ------------------------------------------------------------------------------------------------------
def test_key_rotation_without_downtime(store_env):
    """Deploy new,old everywhere; rotate; then drop old: a process on new,old reads everything before and after
    the rotation, one on the new key alone everything after it -- including, on PostgreSQL, the tenant role."""
    from click.testing import CliRunner

    from cz_dagster.cli import main

    store = store_env.store
    _two_tenants(store)
    for slug in ("one", "two"):
        Secrets(store, slug).put("connectwise", {"private_key": f"priv-{slug}"})
        XeroTokens(store, slug).save("cid", f"csecret-{slug}", {
            "access_token": f"at-{slug}", "refresh_token": f"rt-{slug}", "expires_in": 1800,
            "token_type": "Bearer", "scope": "x"})
    old, new = store_env.settings.secret_keys, Fernet.generate_key().decode()

    def reads_everything(st: Store) -> None:
        for slug in ("one", "two"):
            assert Secrets(st, slug).get("connectwise") == {"private_key": f"priv-{slug}"}
            assert XeroTokens(st, slug).load().token["refresh_token"] == f"rt-{slug}"
            assert Cursors(st, slug, "perth").get("marker") == f"ROW-OF-{slug.upper()}"

    both = _reopen(store_env, f"{new},{old}")
    reads_everything(both)  # a long-running process, already on new,old, with engines open
    r = CliRunner().invoke(main, ["keys", "rotate"], env={**store_env.env, "CZ_SECRET_KEYS": f"{new},{old}"})
    assert r.exit_code == 0, r.output
    reads_everything(both)
    for st in (_reopen(store_env, f"{new},{old}"), _reopen(store_env, new)):
        reads_everything(st)
        st.dispose()
    both.dispose()
    raw = dump_all_text(store, "one")
    assert "priv-one" not in raw and "csecret-one" not in raw and "rt-one" not in raw


# -- retention -------------------------------------------------------------------------------------------------
def _aged_entries(store: Store, days_old: dict[str, int]) -> None:
    log = SyncLog(store, "demo" if "demo" in {t.slug for t in store.tenants()} else "acme", run_id="old")
    for marker, age in days_old.items():
        log.write(location="adelaide", surface="invoices", system="xero", method="PUT", url="http://x/Invoices",
                  status=200, duration_ms=1, request=f'{{"payload": "{marker}"}}', response=f"RESP-{marker}")
        with store.tenant_tx(log.tenant) as conn:
            conn.execute(update(s.sync_log).where(s.sync_log.c.response == f"RESP-{marker}")
                         .values(ts=datetime.now(UTC) - timedelta(days=age, minutes=1)))


def test_sync_log_retention_deletes_old_payloads(store_env):
    store = store_env.store
    store.add_tenant("acme", "Acme")
    _aged_entries(store, {"OLD-A": 45, "OLD-B": 31, "NEW-A": 29, "NEW-B": 0})
    assert SyncLog(store, "acme").purge(30) == 2
    raw = dump_all_text(store, "acme")
    assert "OLD-A" not in raw and "OLD-B" not in raw and "NEW-A" in raw and "NEW-B" in raw


def test_sync_log_retention_through_a_run(demo_env, monkeypatch):
    monkeypatch.setenv("CZ_SYNC_LOG_RETENTION_DAYS", "7")
    _aged_entries(demo_env.store, {"PAST-RETENTION": 8, "WITHIN-RETENTION": 6})
    run_assets(demo_env.store_env, MONEY, ADL)
    raw = dump_all_text(demo_env.store, "demo")
    assert "PAST-RETENTION" not in raw and "WITHIN-RETENTION" in raw
    assert {e.run_id for e in SyncLog(demo_env.store, "demo").read(limit=100000)} >= {"old"}


# -- secrets in failures, logs, metadata and emails ------------------------------------------------------------
def test_no_secret_when_calls_fail(demo_env, smtp, caplog, capfd):  # noqa: F811
    """The APIs fail and echo the credentials back (a 401, a validation error and a ConnectWise error quoting
    the token, the client secret and the key): none of it may reach the event log, run failure, ledger, sync
    log, metadata, Python logs or the alert emails."""
    inbox, mailer = smtp
    store, sandbox = demo_env.store, demo_env.sandbox
    Recipients(store, "demo").replace(["finance@msp.example"])
    caplog.set_level(logging.DEBUG)
    tokens = XeroTokens(store, "demo").load().token

    def echo(token: dict) -> str:  # an API quoting back what it was sent (and more)
        return (f"token {token['access_token']} refresh {token['refresh_token']} "
                f"secret {demo.XERO_CLIENT_SECRET} key {demo.CW_PRIVATE_KEY}")

    instance = DagsterInstance.ephemeral()

    # 1. Xero: a 401 echoing the token (refreshed, retried), then a validation error echoing everything
    sandbox.fault("xero", path="/api.xro/2.0/Invoices", method="PUT", status=401,
                  body={"Title": "Unauthorized", "Detail": echo(tokens)}, count=1)
    sandbox.fault("xero", path="/api.xro/2.0/Invoices", method="PUT", status=400,
                  body={"Type": "ValidationException", "Message": echo(tokens), "Detail": echo(tokens)}, count=1)
    results = [run_assets(demo_env.store_env, MONEY, ADL, instance=instance, raise_on_error=False)]
    # 2. ConnectWise refuses with an error quoting the credentials (the tokens as they are now): the run fails
    current = echo(XeroTokens(store, "demo").load().token)
    sandbox.fault("connectwise", path="*", status=403,
                  body={"code": "Unauthorized", "message": current, "errors": [{"message": current}]}, count=50)
    results.append(run_assets(demo_env.store_env, MONEY, ADL, instance=instance, raise_on_error=False))
    failed = instance.get_run_by_id(results[-1].run_id)
    assert failed.status == DagsterRunStatus.FAILURE

    # the emails those produce
    failure_event = next(e.dagster_event for e in instance.all_logs(failed.run_id)
                         if e.dagster_event and e.dagster_event.event_type_value == "PIPELINE_FAILURE")
    run_failure_alerts(build_run_status_sensor_context(
        sensor_name="run_failure_alerts", dagster_instance=instance, dagster_run=failed,
        dagster_event=failure_event, resources={"store": demo_env.store_env.resource(), "mailer": mailer},
    ).for_run_failure())
    now = datetime.now(UTC)
    send_error_summaries(store, mailer, now)
    send_daily(store, mailer, now.replace(hour=23))
    assert inbox.messages, "no email was sent"

    after = XeroTokens(store, "demo").load().token
    cw_basic = base64.b64encode(f"{demo.CW_COMPANY_ID}+{demo.CW_PUBLIC_KEY}:{demo.CW_PRIVATE_KEY}".encode()).decode()
    secrets = {"ConnectWise private key": demo.CW_PRIVATE_KEY, "ConnectWise public key": demo.CW_PUBLIC_KEY,
               "ConnectWise basic auth": cw_basic, "Xero client secret": demo.XERO_CLIENT_SECRET,
               "access token": tokens["access_token"], "refresh token": tokens["refresh_token"],
               "new access token": after["access_token"], "new refresh token": after["refresh_token"],
               "Fernet key": demo_env.store_env.settings.secret_keys}
    if store.backend == "postgresql":
        secrets["tenant role password"] = store.tenant_engine("demo").url.password
    places = {
        "the database": dump_all_text(store, "demo"),
        "the sync log": "\n".join(f"{e.url} {e.request} {e.response} {e.error}"
                                  for e in SyncLog(store, "demo").read(limit=100000)),
        "the ledger errors": "\n".join(str(r.last_error) for surface in ("invoices", "contacts")
                                       for r in Ledger(store, "demo", "adelaide", surface).rows()),
        "the Dagster event log": "\n".join(str(e) for r in instance.get_runs() for e in instance.all_logs(r.run_id)),
        "the run failure": str(failure_event),
        "asset metadata": "\n".join(str(ev.event_specific_data.materialization.metadata) for result in results
                                    for ev in result.get_asset_materialization_events()),
        "Python logs": caplog.text,
        "stdout/stderr": "".join(capfd.readouterr()),
        "the emails": "\n".join(m.as_string() for m in inbox.messages),
    }
    assert "***" in places["the sync log"]  # the echoes were there to leak
    leaks = [f"{what} in {where}" for where, haystack in places.items() for what, value in secrets.items()
             if value and value in haystack]
    assert not leaks, "\n".join(leaks)


def test_ledger_error_quoting_a_secret_is_masked(store_env):
    """An API's error may quote a credential back, and record-level errors go to the ledger before anything
    else sees them: the ledger masks every secret the process knows (shared with the call recorder)."""
    from cz_dagster.resources.recorder import CallRecorder

    store = store_env.store
    store.add_tenant("acme", "Acme")
    secret = "sk_live_" + uuid.uuid4().hex
    CallRecorder(store, "acme", "hq").add_secret(secret)
    ledger = Ledger(store, "acme", "hq", "invoices")
    ledger.record([("1", "v1", "INV-1"), ("2", "v1", "INV-2")])
    ledger.mark_error_many({("1", "v1"): f"Xero answered 400: invalid client secret {secret}"})
    ledger.mark_pending([("2", "v1")], f"not found after a run that sent {secret}")
    rows = {r.source_id: r.last_error for r in ledger.rows(["1", "2"])}
    assert secret not in rows["1"] and "invalid client secret ***" in rows["1"]
    assert secret not in rows["2"]
    assert secret not in dump_all_text(store, "acme")
