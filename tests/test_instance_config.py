"""The instance configurations load: the embedded default, and production on dagster-postgres via psycopg2."""

from __future__ import annotations

import shutil
from pathlib import Path

from dagster import DagsterInstance
from sqlalchemy.engine import make_url

from tests.pg import new_database_url

ROOT = Path(__file__).resolve().parents[1]


def test_production_config_on_postgres(pg_server_url, tmp_path, monkeypatch):
    url = make_url(new_database_url(pg_server_url))
    monkeypatch.setenv("DAGSTER_PG_USERNAME", url.username or "postgres")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", url.password or "")
    monkeypatch.setenv("DAGSTER_PG_HOST", url.host)
    monkeypatch.setenv("DAGSTER_PG_DB", url.database)
    config = (ROOT / "deploy" / "dagster.postgres.yaml").read_text().replace("port: 5432", f"port: {url.port}")
    (tmp_path / "dagster.yaml").write_text(config)
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        instance.add_dynamic_partitions("tenant_location", ["demo__adelaide"])
        assert instance.get_dynamic_partitions("tenant_location") == ["demo__adelaide"]
        assert instance.get_runs() == []


def test_embedded_default_config(tmp_path):
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
