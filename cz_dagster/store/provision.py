"""PostgreSQL: the tenant's own database and login role, made with the control user's powers.

Each tenant's database is owned by, and open only to, a login role of its own (``<tenant db>_role``), so a
tenant's engine, connected as that role, can open no other tenant's database whatever query it runs. Making them
needs the control user's CREATEDB and CREATEROLE, and happens once per tenant (or once when a tenant made before
roles is first used); ``Store`` asks for it, then connects as the role with the password kept encrypted in the
control database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import URL

from cz_dagster.store import schema as s
from cz_dagster.store.crypto import Cipher


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL would store for ``password`` (RFC 5802/7677): CREATE ROLE is given
    this, so the password itself never reaches the server, its statement log or pg_stat_statements."""
    salt = os.urandom(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(hashlib.sha256(client_key).digest())}:{b64(server_key)}"


def tenant_role_name(database: str) -> str:
    """``<database>_role``, shortened with a digest when it would pass PostgreSQL's 63-byte identifier limit
    (the server would truncate it silently, and later look-ups by the full name would miss)."""
    name = f"{database}_role"
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha256(database.encode()).hexdigest()[:10]
    return f"{database.encode()[:47].decode(errors='ignore')}_{digest}_role"


def provision_tenant_database(control_url: URL, slug: str, database: str,
                              cipher: Callable[[], Cipher]) -> tuple[str, str]:
    """Make the tenant's database and its login role, the role the owner of the database and of its tables, the
    database closed to everyone else (PUBLIC), and the role's password stored encrypted; returns (role, password).

    Idempotent, and run both by ``Store.add_tenant`` and lazily by ``Store.tenant_engine`` for a tenant whose
    database predates roles (it and its tables then belong to the control user): the upgrade needs no manual step
    and no downtime. The password is stored last, so a tenant with one is fully provisioned. ``cipher`` is the
    store's, asked for only when a password is decrypted or encrypted (it raises when no key is configured)."""
    admin = create_engine(control_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            q = conn.dialect.identifier_preparer.quote_identifier
            conn.execute(text("SELECT pg_advisory_lock(hashtext(:n))"), {"n": database})  # one process at a time
            try:
                row = conn.execute(select(s.tenants.c.db_role, s.tenants.c.db_password_enc)
                                   .where(s.tenants.c.slug == slug)).first()
                if row is not None and row.db_role and row.db_password_enc:  # another process just did it
                    return row.db_role, cipher().decrypt(row.db_password_enc)
                if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": database}).first():
                    conn.exec_driver_sql(f"CREATE DATABASE {q(database)}")
                role, password = tenant_role_name(database), secrets.token_urlsafe(32)
                exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
                conn.exec_driver_sql(f"{'ALTER' if exists else 'CREATE'} ROLE {q(role)} LOGIN "
                                     "NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %(v)s",
                                     {"v": scram_verifier(password)})
                if not conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
                    # a non-superuser may hand a database to a role only when it is a member of that role
                    conn.exec_driver_sql(f"GRANT {q(role)} TO CURRENT_USER")
                conn.exec_driver_sql(f"REVOKE ALL ON DATABASE {q(database)} FROM PUBLIC")
                conn.exec_driver_sql(f"GRANT CONNECT, TEMPORARY ON DATABASE {q(database)} TO {q(role)}")
                conn.exec_driver_sql(f"ALTER DATABASE {q(database)} OWNER TO {q(role)}")
                hand_tables_to(control_url, database, role)
                conn.execute(s.tenants.update().where(s.tenants.c.slug == slug).values(
                    db_role=role, db_password_enc=cipher().encrypt(password)))
                return role, password
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(hashtext(:n))"), {"n": database})
    finally:
        admin.dispose()


def hand_tables_to(control_url: URL, database: str, role: str) -> None:
    """Tables made before the tenant had a role belong to the control user: give them to the role."""
    engine = create_engine(control_url.set(database=database), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            q = conn.dialect.identifier_preparer.quote_identifier
            tables = conn.execute(text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') "
                "AND pg_get_userbyid(c.relowner) <> :r"), {"r": role}).scalars().all()
            for table in tables:  # their sequences and indexes follow
                conn.exec_driver_sql(f"ALTER TABLE public.{q(table)} OWNER TO {q(role)}")
    finally:
        engine.dispose()
