"""Engines for the control database and the per-tenant databases, and the registry of tenants and locations.

What is kept for a tenant lives in one repository per table beside this module (``schedules``, ``recipients``,
``alerts``, ``secrets``, ``cursors``, ``mappings``, ``ledger``, ...), each a small class built on a ``Store``, a
tenant and, where rows are per location, a location; the PostgreSQL provisioning of a tenant's database and role
is in ``provision``.

PostgreSQL when ``CZ_DATABASE_URL`` names a server's control database (each tenant gets its own database on
that server, ``<control db>_t_<slug>``, owned by and reached only as the tenant's own login role
``<tenant db>_role``); otherwise SQLite files under ``CZ_DATA_DIR`` (``control.db`` and ``tenants/<slug>.db``).

On PostgreSQL the user of ``CZ_DATABASE_URL`` needs CREATEDB and CREATEROLE (or superuser), and the server's
pg_hba.conf must let the tenant roles log in with a password to their databases.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine, Table, create_engine, event, inspect, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from cz_dagster.errors import RunFailure
from cz_dagster.store import schema as s
from cz_dagster.store.crypto import Cipher, load_or_create_key_file, parse_keys
from cz_dagster.store.provision import provision_tenant_database
from cz_dagster.store.settings import Settings

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


class StoreError(RunFailure):
    """A configuration or lookup problem with a message meant for the person at the keyboard."""


def check_slug(kind: str, slug: str) -> str:
    if not SLUG_RE.match(slug or "") or "__" in slug:
        raise StoreError(f"{kind} slug {slug!r} is invalid: use 1-40 of a-z, 0-9 and '-', "
                         "not starting or ending with '-'")
    return slug


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise StoreError(f"unknown time zone {name!r}: use an IANA name such as Australia/Perth") from exc
    return name


def normalise_pg_url(url: str) -> str:
    """SQLAlchemy 2.1 makes psycopg 3 the driver of a bare ``postgresql://``; we ship psycopg2."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    if not parsed.drivername.startswith("postgresql"):
        raise StoreError(f"CZ_DATABASE_URL must be a PostgreSQL URL, not {parsed.drivername}")
    return parsed.render_as_string(hide_password=False)


def _sqlite_engine(path: Path) -> Engine:
    path.parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread off: the pool hands a connection to one thread at a time, and the flow lease's heartbeat
    # thread shares the engine with the run
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001
        # Driver-level autocommit so SQLAlchemy's "begin" below decides the transaction mode.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front: several processes (run workers, the CLI) share the file and
        # a deferred transaction that later upgrades can fail with SQLITE_BUSY regardless of busy_timeout.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@dataclass(frozen=True)
class Tenant:
    slug: str
    name: str
    enabled: bool
    timezone: str
    cw_url: str | None
    cw_codebase: str
    cw_company_id: str | None
    xero_api_url: str
    xero_identity_url: str
    xero_login_url: str
    payroll_statuses: str | None = None


@dataclass(frozen=True)
class Location:
    tenant: str
    slug: str
    name: str
    cw_location_id: int
    xero_tenant_id: str | None
    xero_org_name: str | None
    enabled: bool
    timezone: str | None = None  # unset: the tenant's

    @property
    def partition_key(self) -> str:
        return f"{self.tenant}__{self.slug}"


class Store:
    """One process's handle on the app databases (engines created lazily and cached) and on the tenant/location
    registry every repository and run starts from."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings.from_env()
        self._lock = threading.RLock()
        self._tenant_engines: dict[str, Engine] = {}
        self._ensured: set[tuple[str, str]] = set()  # (tenant, table) made sure of by ensure_tenant_tables
        self._cipher: Cipher | None = None
        # credentials seen by this process (never persisted): whatever the store writes as an error text -- a
        # ledger error quoting an API's answer -- is masked with them, wherever the text came from
        self.secrets: set[str] = set()
        if self.settings.database_url:
            self._pg_url = make_url(normalise_pg_url(self.settings.database_url))
            self.control = create_engine(self._pg_url, pool_pre_ping=True)
        else:
            self._pg_url = None
            self.control = _sqlite_engine(self.settings.data_dir / "control.db")
        if self.settings.secret_keys is not None:
            self._cipher = Cipher(parse_keys(self.settings.secret_keys))  # fail fast on malformed keys
        s.control_metadata.create_all(self.control)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """Columns added to a control table since it was made (``create_all`` only makes missing tables)."""
        for table, columns in s.ADDED_CONTROL_COLUMNS.items():
            if set(columns) <= {c["name"] for c in inspect(self.control).get_columns(table)}:
                continue  # the common case: nothing to lock or alter
            with self.control.begin() as conn:
                if self._pg_url is not None:
                    for name, ddl in columns.items():
                        conn.exec_driver_sql(f'ALTER TABLE "{table}" ADD COLUMN IF NOT EXISTS "{name}" {ddl}')
                else:  # the IMMEDIATE transaction holds the write lock: no other process adds them meanwhile
                    have = {r[1] for r in conn.exec_driver_sql(f'PRAGMA table_info("{table}")')}
                    for name, ddl in columns.items():
                        if name not in have:
                            conn.exec_driver_sql(f'ALTER TABLE "{table}" ADD COLUMN "{name}" {ddl}')

    # -- backend ---------------------------------------------------------------------------------------------
    @property
    def backend(self) -> str:
        return "postgresql" if self._pg_url is not None else "sqlite"

    @property
    def cipher(self) -> Cipher:
        if self._cipher is None:
            raw = self.settings.secret_keys
            if raw is None:
                if self._pg_url is not None:
                    raise StoreError("CZ_SECRET_KEYS is not set: PostgreSQL deployments must give their Fernet keys")
                raw = load_or_create_key_file(self.settings.data_dir / "secret.keys")
            self._cipher = Cipher(parse_keys(raw))
        return self._cipher

    def _tenant_db_name(self, slug: str) -> str:
        assert self._pg_url is not None
        return f"{self._pg_url.database}_t_{slug.replace('-', '_')}"

    def tenant_engine(self, slug: str) -> Engine:
        """The tenant's database; on PostgreSQL connected as the tenant's own role, never as the control user."""
        with self._lock:
            engine = self._tenant_engines.get(slug)
            if engine is None:
                if self._pg_url is not None:
                    engine = create_engine(self._tenant_url(slug), pool_pre_ping=True)
                else:
                    engine = _sqlite_engine(self.settings.data_dir / "tenants" / f"{slug}.db")
                self._tenant_engines[slug] = engine
            return engine

    def _tenant_url(self, slug: str) -> URL:
        assert self._pg_url is not None
        with self.control.connect() as conn:
            row = conn.execute(select(s.tenants.c.db_role, s.tenants.c.db_password_enc)
                               .where(s.tenants.c.slug == slug)).first()
        if row is None:
            self.tenant(slug)  # raises the unknown-tenant message
        if row is None or not (row.db_role and row.db_password_enc):
            role, password = self._provision(slug)
        else:
            role, password = row.db_role, self.cipher.decrypt(row.db_password_enc)
        return self._pg_url.set(database=self._tenant_db_name(slug), username=role, password=password)

    def _provision(self, slug: str) -> tuple[str, str]:
        assert self._pg_url is not None
        return provision_tenant_database(self._pg_url, slug, self._tenant_db_name(slug), lambda: self.cipher)

    def _create_tenant_database(self, slug: str) -> None:
        if self._pg_url is not None:
            self._provision(slug)
        s.tenant_metadata.create_all(self.tenant_engine(slug))

    def ensure_tenant_tables(self, slug: str, tables: list[Table]) -> None:
        """Tenant databases made before these tables (or their ``ADDED_TENANT_COLUMNS``) existed lack them: made
        once per store and tenant, tolerating another process making them at the same moment."""
        wanted = [t for t in tables if (slug, t.name) not in self._ensured]
        if not wanted:
            return
        engine = self.tenant_engine(slug)
        try:
            s.tenant_metadata.create_all(engine, tables=wanted)
        except DBAPIError:  # another process made them at the same moment
            s.tenant_metadata.create_all(engine, tables=wanted)
        for table in wanted:
            columns = s.ADDED_TENANT_COLUMNS.get(table.name, {})
            have = {c["name"] for c in inspect(engine).get_columns(table.name)} if columns else set()
            for name, ddl in columns.items():
                if name not in have:
                    try:
                        with engine.begin() as conn:
                            conn.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD COLUMN "{name}" {ddl}')
                    except DBAPIError:  # added meanwhile by another process
                        pass
            self._ensured.add((slug, table.name))

    def dispose(self) -> None:
        self.control.dispose()
        for engine in self._tenant_engines.values():
            engine.dispose()
        self._tenant_engines.clear()

    @contextmanager
    def tenant_tx(self, slug: str) -> Iterator[Connection]:
        with self.tenant_engine(slug).begin() as conn:
            yield conn

    # -- tenants and locations ------------------------------------------------------------------------------
    def add_tenant(self, slug: str, name: str, *, timezone: str = "UTC", **urls: Any) -> Tenant:
        check_slug("tenant", slug)
        allowed = {"cw_url", "cw_codebase", "cw_company_id", "xero_api_url", "xero_identity_url", "xero_login_url",
                   "payroll_statuses"}
        unknown = set(urls) - allowed
        if unknown:
            raise StoreError(f"unknown tenant settings: {sorted(unknown)}")
        values = {k: v for k, v in urls.items() if v is not None}
        try:
            with self.control.begin() as conn:
                conn.execute(s.tenants.insert().values(slug=slug, name=name, enabled=True, timezone=timezone,
                                                       **values))
        except IntegrityError as exc:
            raise StoreError(f"tenant {slug!r} already exists") from exc
        self._create_tenant_database(slug)
        return self.tenant(slug)

    def update_tenant(self, slug: str, **values: Any) -> Tenant:
        self.tenant(slug)
        with self.control.begin() as conn:
            conn.execute(s.tenants.update().where(s.tenants.c.slug == slug).values(**values))
        return self.tenant(slug)

    def tenant(self, slug: str) -> Tenant:
        with self.control.connect() as conn:
            row = conn.execute(select(s.tenants).where(s.tenants.c.slug == slug)).mappings().first()
        if row is None:
            known = ", ".join(t.slug for t in self.tenants()) or "none yet"
            raise StoreError(f"unknown tenant {slug!r} (known: {known}); add it with `cz tenant add`")
        return Tenant(**{k: row[k] for k in Tenant.__dataclass_fields__})

    def tenants(self) -> list[Tenant]:
        with self.control.connect() as conn:
            rows = conn.execute(select(s.tenants).order_by(s.tenants.c.slug)).mappings().all()
        return [Tenant(**{k: r[k] for k in Tenant.__dataclass_fields__}) for r in rows]

    def add_location(self, tenant: str, slug: str, name: str, cw_location_id: int,
                     xero_tenant_id: str | None = None, xero_org_name: str | None = None,
                     timezone: str | None = None) -> Location:
        self.tenant(tenant)
        check_slug("location", slug)
        if timezone is not None:
            check_timezone(timezone)
        try:
            with self.control.begin() as conn:
                conn.execute(s.locations.insert().values(
                    tenant=tenant, slug=slug, name=name, cw_location_id=cw_location_id,
                    xero_tenant_id=xero_tenant_id, xero_org_name=xero_org_name, enabled=True,
                    timezone=timezone))
        except IntegrityError as exc:
            raise StoreError(f"location {slug!r} already exists for tenant {tenant!r}") from exc
        return self.location(tenant, slug)

    def update_location(self, tenant: str, slug: str, **values: Any) -> Location:
        self.location(tenant, slug)
        if values.get("timezone") is not None:
            check_timezone(values["timezone"])
        with self.control.begin() as conn:
            conn.execute(s.locations.update()
                         .where(s.locations.c.tenant == tenant, s.locations.c.slug == slug).values(**values))
        return self.location(tenant, slug)

    def location(self, tenant: str, slug: str) -> Location:
        with self.control.connect() as conn:
            row = conn.execute(select(s.locations).where(
                s.locations.c.tenant == tenant, s.locations.c.slug == slug)).mappings().first()
        if row is None:
            self.tenant(tenant)
            known = ", ".join(loc.slug for loc in self.locations(tenant)) or "none yet"
            raise StoreError(f"unknown location {slug!r} of tenant {tenant!r} (known: {known}); "
                             "add it with `cz location add`")
        return Location(**{k: row[k] for k in Location.__dataclass_fields__})

    def locations(self, tenant: str | None = None) -> list[Location]:
        query = select(s.locations).order_by(s.locations.c.tenant, s.locations.c.slug)
        if tenant is not None:
            query = query.where(s.locations.c.tenant == tenant)
        with self.control.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [Location(**{k: r[k] for k in Location.__dataclass_fields__}) for r in rows]

    def enabled_partition_keys(self) -> list[str]:
        enabled = {t.slug for t in self.tenants() if t.enabled}
        return [loc.partition_key for loc in self.locations() if loc.enabled and loc.tenant in enabled]


def open_store(settings: Settings | None = None) -> Store:
    return Store(settings)


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()
