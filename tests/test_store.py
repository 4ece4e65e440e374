"""The app database on SQLite and PostgreSQL: tenants, encryption at rest, the ledger, tokens, the sync log."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from cz_dagster.resources.xero.tokens import XeroConnectionPaused, XeroNotConnected, XeroTokens
from cz_dagster.store.db import StoreError
from cz_dagster.store.ledger import Ledger, errors_for_location
from cz_dagster.store.secrets import Secrets
from cz_dagster.store.synclog import SyncLog


def dump_all_text(store, tenant: str) -> str:  # noqa: ANN001
    """Every value of every table of the control and tenant databases, as text (for secret scans)."""
    out = []
    for engine in (store.control, store.tenant_engine(tenant)):
        with engine.connect() as conn:
            if store.backend == "sqlite":
                tables = [r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))]
            else:
                tables = [r[0] for r in conn.execute(text(
                    "SELECT tablename FROM pg_tables WHERE schemaname='public'"))]
            for table in tables:
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                    out.append(" ".join(str(v) for v in row))
    return "\n".join(out)


def test_tenants_and_locations(store):
    store.add_tenant("acme", "Acme MSP", timezone="Australia/Perth")
    store.add_location("acme", "perth", "Perth", 13)
    assert store.tenant("acme").timezone == "Australia/Perth"
    assert store.enabled_partition_keys() == ["acme__perth"]
    with pytest.raises(StoreError, match="already exists"):
        store.add_tenant("acme", "again")
    with pytest.raises(StoreError, match="unknown tenant 'nope'.*known: acme"):
        store.tenant("nope")
    with pytest.raises(StoreError, match="unknown location 'x' of tenant 'acme'"):
        store.location("acme", "x")
    with pytest.raises(StoreError, match="slug 'Bad__Slug' is invalid"):
        store.add_tenant("Bad__Slug", "x")
    store.update_location("acme", "perth", enabled=False)
    assert store.enabled_partition_keys() == []


def test_tenant_databases_are_separate(store):
    store.add_tenant("one", "One")
    store.add_tenant("two", "Two")
    Secrets(store, "one").put("connectwise", {"private_key": "only-for-one"})
    assert Secrets(store, "two").get("connectwise") is None
    assert store.tenant_engine("one").url != store.tenant_engine("two").url


def test_secrets_encrypted_at_rest(store):
    store.add_tenant("acme", "Acme")
    Secrets(store, "acme").put("connectwise", {"public_key": "pub-visible-key", "private_key": "PRIVATE-s3cr3t-value"})
    XeroTokens(store, "acme").save("client-id", "CLIENT-SECRET-value", {
        "access_token": "ACCESS-token-value", "refresh_token": "REFRESH-token-value", "expires_in": 1800,
        "token_type": "Bearer", "scope": "offline_access"})
    raw = dump_all_text(store, "acme")
    for secret in ("PRIVATE-s3cr3t-value", "CLIENT-SECRET-value", "ACCESS-token-value", "REFRESH-token-value",
                   "pub-visible-key"):
        assert secret not in raw
    assert Secrets(store, "acme").get("connectwise")["private_key"] == "PRIVATE-s3cr3t-value"
    assert XeroTokens(store, "acme").load().token["refresh_token"] == "REFRESH-token-value"


def test_ledger_lifecycle(store):
    store.add_tenant("acme", "Acme")
    ledger = Ledger(store, "acme", "perth", "invoices", run_id="r1")
    ledger.record([("1", "v1", "INV-1"), ("2", "v1", "INV-2"), ("3", "v1", "INV-3")])
    ledger.record([("1", "v1", "INV-1")])  # idempotent
    assert ledger.counts() == {"pending": 3}
    ledger.mark_sending([("1", "v1"), ("2", "v1")], "key-1")
    ledger.mark_done_many({("1", "v1"): "xero-1"})
    ledger.mark_error_many({("2", "v1"): "Xero rejected it: bad tax"})
    rows = {r.source_id: r for r in ledger.rows()}
    assert rows["1"].state == "done" and rows["1"].target_id == "xero-1" and rows["1"].attempts == 1
    assert rows["2"].state == "error" and "bad tax" in rows["2"].last_error
    assert [r.source_id for r in errors_for_location(store, "acme", "perth")] == ["2"]
    # a new version of record 2 supersedes the failed one
    ledger.record([("2", "v2", "INV-2")])
    states = {(r.source_id, r.source_version): r.state for r in ledger.rows()}
    assert states[("2", "v1")] == "superseded" and states[("2", "v2")] == "pending"
    assert errors_for_location(store, "acme", "perth") == []
    # a record that left the source stops counting as open
    assert ledger.close_missing(["1", "2"], "no longer unposted") == 1
    assert {r.source_id: r.state for r in ledger.rows()}["3"] == "skipped"
    ledger.mark_acked([("1", "v1")], "CZ-batch-1")
    assert {r.source_id: r.ack_ref for r in ledger.rows()}["1"] == "CZ-batch-1"


def test_token_refresh_is_serialised(store):
    store.add_tenant("acme", "Acme")
    tokens = XeroTokens(store, "acme")
    tokens.save("cid", "csecret", {"access_token": "a0", "refresh_token": "r0", "expires_in": 1,
                                   "token_type": "Bearer", "scope": "offline_access"})
    calls = []

    def do_refresh(current):  # noqa: ANN001, ANN202
        calls.append(current.token["refresh_token"])
        time.sleep(0.3)  # a slow identity server: the other refresher must wait, then reuse
        return {"access_token": f"a{len(calls)}", "refresh_token": f"r{len(calls)}", "expires_in": 1800,
                "token_type": "Bearer", "scope": "offline_access"}

    results = []
    threads = [threading.Thread(target=lambda: results.append(tokens.refresh("a0", do_refresh))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["r0"]  # one refresh, with the original refresh token
    assert {r.access_token for r in results} == {"a1"}
    assert tokens.load().token["refresh_token"] == "r1"


def test_paused_connection(store):
    store.add_tenant("acme", "Acme")
    tokens = XeroTokens(store, "acme")
    with pytest.raises(XeroNotConnected, match="cz xero connect --tenant acme"):
        tokens.load()
    tokens.save("cid", "csecret", {"access_token": "a0", "refresh_token": "r0", "expires_in": 1800,
                                   "token_type": "Bearer", "scope": "x"})
    tokens.pause("invalid_grant")
    with pytest.raises(XeroConnectionPaused, match="reconnect with `cz xero connect --tenant acme`"):
        tokens.load(allow_paused=False)
    tokens.save("cid", "csecret", {"access_token": "a1", "refresh_token": "r1", "expires_in": 1800,
                                   "token_type": "Bearer", "scope": "x"})
    assert tokens.status() == "active"


def test_sync_log_scope_and_retention(store):
    store.add_tenant("acme", "Acme")
    log = SyncLog(store, "acme", run_id="r1")
    log.write(location="perth", surface="invoices", system="xero", method="PUT", url="http://x/Invoices",
              status=200, duration_ms=5, request="{}", response="{}")
    log.write(location="darwin", surface="contacts", system="xero", method="GET", url="http://x/Contacts",
              status=200, duration_ms=5, request=None, response="[]")
    assert [e.location for e in log.read(location="perth")] == ["perth"]
    assert [e.surface for e in log.read(surface="contacts")] == ["contacts"]
    assert log.purge(older_than_days=0) == 2
    assert log.read() == []


def test_key_rotation_re_encrypts_everything(store_env):
    from click.testing import CliRunner
    from cryptography.fernet import Fernet

    from cz_dagster.cli import main
    from cz_dagster.store.crypto import SecretKeyError
    from cz_dagster.store.db import Store
    from cz_dagster.store.settings import Settings

    store = store_env.store
    store.add_tenant("acme", "Acme")
    Secrets(store, "acme").put("connectwise", {"private_key": "priv-before-rotation"})
    XeroTokens(store, "acme").save("cid", "csecret-x", {"access_token": "at-1", "refresh_token": "rt-1",
                                                       "expires_in": 1800, "token_type": "Bearer", "scope": "x"})
    old, new = store_env.settings.secret_keys, Fernet.generate_key().decode()
    both = {**store_env.env, "CZ_SECRET_KEYS": f"{new},{old}"}
    r = CliRunner().invoke(main, ["keys", "rotate"], env={**store_env.env})
    assert r.exit_code == 1 and "new,old" in r.output
    r = CliRunner().invoke(main, ["keys", "rotate"], env=both)
    assert r.exit_code == 0 and "acme: 3 secret(s) re-encrypted" in r.output

    def opened(keys: str) -> Store:
        s = store_env.settings
        return Store(Settings(data_dir=s.data_dir, database_url=s.database_url, secret_keys=keys))

    only_new = opened(new)
    assert Secrets(only_new, "acme").get("connectwise")["private_key"] == "priv-before-rotation"
    assert XeroTokens(only_new, "acme").load().token["refresh_token"] == "rt-1"
    with pytest.raises(SecretKeyError, match="cannot be decrypted"):
        Secrets(opened(old), "acme").get("connectwise")
    only_new.dispose()
