"""The app database as a Dagster resource; empty fields fall back to the process environment."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import PrivateAttr

from cz_dagster.store.db import Store
from cz_dagster.store.settings import Settings


class StoreResource(ConfigurableResource):
    data_dir: str | None = None
    database_url: str | None = None
    secret_keys: str | None = None

    _store: Store | None = PrivateAttr(default=None)

    def settings(self) -> Settings:
        env = Settings.from_env()
        return Settings(
            data_dir=env.data_dir if not self.data_dir else Settings.from_env({"CZ_DATA_DIR": self.data_dir}).data_dir,
            database_url=self.database_url or env.database_url,
            secret_keys=self.secret_keys or env.secret_keys,
            sync_log_retention_days=env.sync_log_retention_days,
            lease_ttl_seconds=env.lease_ttl_seconds,
            lease_wait_seconds=env.lease_wait_seconds,
        )

    def get(self) -> Store:
        if self._store is None:
            self._store = Store(self.settings())
        return self._store
