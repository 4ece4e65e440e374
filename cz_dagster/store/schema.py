"""Database schema (SQLAlchemy Core): the control database and the per-tenant database.

Accounting records are not warehoused here: only what the sync needs to be exact and auditable --
mappings, the exactly-once ledger, the sync log, cursors and (encrypted) credentials.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)


class UTCDateTime(TypeDecorator):
    """Always UTC: stored naive in UTC (SQLite has no time zones), returned aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # noqa: ANN201
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):  # noqa: ANN201
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# Columns added after a table was first created: ``create_all`` makes missing tables but never adds columns,
# so ``Store`` adds these to an existing control database when they are absent.
ADDED_CONTROL_COLUMNS = {"tenants": {"db_role": "VARCHAR(63)", "db_password_enc": "TEXT"},
                         "locations": {"timezone": "VARCHAR(64)"}}


control_metadata = MetaData()

tenants = Table(
    "tenants", control_metadata,
    Column("slug", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("cw_url", String(300)),
    Column("cw_codebase", String(40), nullable=False, default="v4_6_release/"),
    Column("cw_company_id", String(100)),
    Column("xero_api_url", String(300), nullable=False, default="https://api.xero.com"),
    Column("xero_identity_url", String(300), nullable=False, default="https://identity.xero.com"),
    Column("xero_login_url", String(300), nullable=False, default="https://login.xero.com"),
    Column("payroll_statuses", Text),  # comma-separated ConnectWise time statuses paid; null = the default set
    # PostgreSQL: the login role the tenant's database is reached as, and its password (Fernet, like every secret)
    Column("db_role", String(63)),
    Column("db_password_enc", Text),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow),
)

locations = Table(
    "locations", control_metadata,
    Column("tenant", String(40), primary_key=True),
    Column("slug", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("cw_location_id", Integer, nullable=False),
    Column("xero_tenant_id", String(64)),
    Column("xero_org_name", String(200)),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow),
    Column("timezone", String(64)),  # where the location's people work; unset: the tenant's
)

schedules = Table(
    "schedules", control_metadata,
    Column("tenant", String(40), primary_key=True),
    Column("family", String(20), primary_key=True),
    Column("cron", String(120), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow),
)

notification_prefs = Table(
    "notification_prefs", control_metadata,
    Column("tenant", String(40), primary_key=True),
    Column("recipients", Text, nullable=False, default=""),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow),
)

alerts_sent = Table(
    "alerts_sent", control_metadata,
    Column("tenant", String(40), primary_key=True),
    Column("kind", String(40), primary_key=True),  # run_failure | errors_hourly | daily | revoked | stale
    Column("key", String(200), primary_key=True),  # what the alert is about (run id, day, connection, ...)
    Column("sent_at", UTCDateTime, nullable=False, default=utcnow),
    Column("recipients", Text),
)


tenant_metadata = MetaData()

secrets = Table(
    "secrets", tenant_metadata,
    Column("name", String(60), primary_key=True),
    Column("value_enc", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow),
)

xero_connections = Table(
    "xero_connections", tenant_metadata,
    Column("id", String(40), primary_key=True),
    Column("client_id", String(200), nullable=False),
    Column("client_secret_enc", Text, nullable=False),
    Column("token_enc", Text),
    Column("token_expires_at", UTCDateTime),
    Column("status", String(20), nullable=False, default="active"),  # active | paused
    Column("paused_reason", Text),
    Column("paused_at", UTCDateTime),
    Column("refreshes", Integer, nullable=False, default=0),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow),
)

mappings = Table(
    "mappings", tenant_metadata,
    Column("kind", String(40), primary_key=True),  # company_contact, ...
    Column("location", String(40), primary_key=True),
    Column("source_key", String(200), primary_key=True),
    Column("target_id", String(100), nullable=False),
    Column("target_name", String(500)),
    Column("origin", String(20), nullable=False, default="matched"),  # matched | created | manual
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow),
)

ledger = Table(
    "ledger", tenant_metadata,
    Column("surface", String(40), primary_key=True),
    Column("location", String(40), primary_key=True),
    Column("source_id", String(100), primary_key=True),
    Column("source_version", String(64), primary_key=True),
    Column("label", String(200)),  # what a person calls it, e.g. the invoice number
    Column("state", String(20), nullable=False),  # pending | sending | done | error | skipped | superseded
    Column("target_id", String(100)),
    Column("idempotency_key", String(128)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("ack_ref", String(100)),  # the ConnectWise accounting batch that marked it posted
    Column("acked_at", UTCDateTime),
    Column("run_id", String(64)),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow),
)
Index("ix_ledger_state", ledger.c.location, ledger.c.surface, ledger.c.state)

sync_log = Table(
    "sync_log", tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", UTCDateTime, nullable=False, default=utcnow),
    Column("location", String(40), nullable=False),
    Column("surface", String(40), nullable=False),
    Column("system", String(20), nullable=False),  # connectwise | xero | identity
    Column("method", String(10), nullable=False),
    Column("url", Text, nullable=False),
    Column("status", Integer),
    Column("duration_ms", Integer),
    Column("request", Text),
    Column("response", Text),
    Column("error", Text),
    Column("run_id", String(64)),
)
Index("ix_sync_log_scope", sync_log.c.location, sync_log.c.surface, sync_log.c.ts)

cursors = Table(
    "cursors", tenant_metadata,
    Column("location", String(40), primary_key=True),
    Column("name", String(60), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow),
)

reference_items = Table(
    "reference_items", tenant_metadata,
    Column("location", String(40), primary_key=True),
    Column("kind", String(40), primary_key=True),  # accounts, tax_rates, currencies, ...
    Column("key", String(200), primary_key=True),
    Column("name", String(500)),
    Column("data", Text, nullable=False),  # the record as Xero returns it (JSON)
    Column("digest", String(32), nullable=False),
    Column("first_seen", UTCDateTime, nullable=False, default=utcnow),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
    Column("removed_at", UTCDateTime),
)

# Xero's limits are per organisation (and app), not per run: every run and process of the tenant paces its calls
# to one organisation through these rows (cz_dagster/resources/xero/pacer.py). Times are epoch seconds.
xero_rate_orgs = Table(
    "xero_rate_orgs", tenant_metadata,
    Column("org", String(64), primary_key=True),  # the Xero tenant id
    Column("blocked_until", Float(precision=53)),  # a 429's Retry-After, for every run of the organisation
    Column("learned_budget", Integer),  # calls per window Xero allowed when it answered 429 (minute)
    Column("learned_at", Float(precision=53)),
)

xero_rate_calls = Table(
    "xero_rate_calls", tenant_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org", String(64), nullable=False),
    Column("started", Float(precision=53), nullable=False),
    Column("ended", Float(precision=53)),  # null while in flight
    Column("host", String(255)),  # the caller's machine and process: a slot of a process that died on this
    Column("pid", Integer),  # machine frees itself at once, not after the pacer's lease
)
# columns added to a tenant table after it was first made (``Store.ensure_tenant_tables`` adds them)
ADDED_TENANT_COLUMNS = {"xero_rate_calls": {"host": "VARCHAR(255)", "pid": "INTEGER"}}
Index("ix_xero_rate_calls_org", xero_rate_calls.c.org, xero_rate_calls.c.started)

# One writer per tenant, location and flow at a time (store.leases): whoever started the run -- the UI, a
# schedule, the CLI, a retry, another pod -- takes this row first. ``expires_at`` frees it after a holder that was
# killed; ``host`` and ``pid`` let a holder's own machine see at once that the process is gone.
flow_leases = Table(
    "flow_leases", tenant_metadata,
    Column("location", String(40), primary_key=True),
    Column("flow", String(40), primary_key=True),
    Column("holder", String(64), nullable=False),  # the Dagster run id
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)
