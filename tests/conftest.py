"""Shared fixtures: a real PostgreSQL (throwaway cluster or CZ_TEST_DATABASE_URL), SQLite stores, the sandbox
simulators over real HTTP, and the demo tenant registered through the same code path as `cz sandbox`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from cz_dagster.store.db import Store, normalise_pg_url
from cz_dagster.store.settings import Settings
from cz_sandbox.client import SandboxClient
from tests.pg import PgCluster, drop_databases, new_database_url

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    url = os.environ.get("CZ_TEST_DATABASE_URL")
    if url:
        yield normalise_pg_url(url)
        return
    cluster = PgCluster().start()
    try:
        yield cluster.url
    finally:
        cluster.stop()


@dataclass
class StoreEnv:
    """What a process needs to open the same store: the test's own Store and the environment variables."""

    store: Store
    settings: Settings
    backend: str

    @property
    def env(self) -> dict[str, str]:
        env = {"CZ_DATA_DIR": str(self.settings.data_dir), "CZ_SECRET_KEYS": self.settings.secret_keys or ""}
        if self.settings.database_url:
            env["CZ_DATABASE_URL"] = self.settings.database_url
        return env

    def resource(self):  # noqa: ANN201
        from cz_dagster.resources import StoreResource

        return StoreResource(data_dir=str(self.settings.data_dir), database_url=self.settings.database_url,
                             secret_keys=self.settings.secret_keys)


def make_store_env(backend: str, tmp_path: Path, pg_url: str | None) -> StoreEnv:
    key = Fernet.generate_key().decode()
    database_url = new_database_url(pg_url) if backend == "postgresql" else None
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, secret_keys=key)
    return StoreEnv(Store(settings), settings, backend)


@pytest.fixture(params=BACKENDS)
def store_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreEnv]:
    pg_url = request.getfixturevalue("pg_server_url") if request.param == "postgresql" else None
    env = make_store_env(request.param, tmp_path, pg_url)
    try:
        yield env
    finally:
        env.store.dispose()
        if pg_url and env.settings.database_url:
            from sqlalchemy.engine import make_url

            drop_databases(pg_url, make_url(env.settings.database_url).database)


@pytest.fixture
def store(store_env: StoreEnv) -> Store:
    return store_env.store


Sandbox = SandboxClient  # the simulators' admin routes and ConnectWise's API, over HTTP


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    from cz_sandbox.connectwise import create_connectwise_app
    from cz_sandbox.runner import SandboxServer
    from cz_sandbox.xero import create_xero_app

    with SandboxServer(create_connectwise_app()) as cw, SandboxServer(create_xero_app()) as xero:
        yield Sandbox(cw.url, xero.url)


@pytest.fixture(scope="module")
def zygote() -> Iterator:
    """The crash tests' forking run-worker factory (tests/crash_runner.py), one per test module."""
    from tests.test_crash_safety import Zygote

    z = Zygote()
    try:
        yield z
    finally:
        z.close()


@dataclass
class DemoEnv:
    store_env: StoreEnv
    sandbox: Sandbox

    @property
    def store(self) -> Store:
        return self.store_env.store


@pytest.fixture
def demo_env(store_env: StoreEnv, sandbox: Sandbox) -> DemoEnv:
    from cz_sandbox.register import register_demo

    register_demo(store_env.store, sandbox.cw_url, sandbox.xero_url)
    return DemoEnv(store_env, sandbox)
