"""End to end through the real Dagster processes: webserver and daemon on PostgreSQL storage, a force-sync
launched through the GraphQL mutation the UI sends (`cz sync now`), queued, run, and checked in the sandbox."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from dagster import DagsterInstance
from sqlalchemy.engine import make_url

from cz_dagster.cli import main
from cz_dagster.partitions import tenant_location
from tests.pg import new_database_url
from tests.processes import ROOT, dagster_processes
from tests.test_invoices_e2e import assert_exactly_once

RUNS = ("query { runsOrError { ... on Runs { results { runId status startTime endTime tags { key value } } } } }")


@pytest.fixture
def dagster_home(pg_server_url, tmp_path) -> tuple[Path, dict[str, str]]:
    url = make_url(new_database_url(pg_server_url))
    env = {"DAGSTER_PG_USERNAME": url.username or "postgres", "DAGSTER_PG_PASSWORD": url.password or "",
           "DAGSTER_PG_HOST": url.host, "DAGSTER_PG_DB": url.database}
    home = tmp_path / "dagster_home"
    home.mkdir()
    config = (ROOT / "deploy" / "dagster.postgres.yaml").read_text().replace("port: 5432", f"port: {url.port}")
    (home / "dagster.yaml").write_text(config)
    return home, env


@pytest.mark.parametrize("store_env", ["postgresql"], indirect=True)
def test_force_sync_through_webserver_and_daemon(demo_env, dagster_home):
    home, pg_env = dagster_home
    env = {**os.environ, **demo_env.store_env.env, **pg_env, "DAGSTER_HOME": str(home)}
    os.environ.update(pg_env)
    try:
        with DagsterInstance.from_config(str(home)) as instance:
            instance.add_dynamic_partitions(tenant_location.name, ["demo__adelaide", "demo__melbourne"])
    finally:
        for key in pg_env:
            os.environ.pop(key, None)
    with dagster_processes(env) as base:
        expected = demo_env.sandbox.cw_export("adelaide")
        # two force-syncs of the same partition at once: the second queues behind the first (one run per
        # tenant-location), they never overlap, and the invoices still land exactly once
        for _ in range(2):
            r = CliRunner().invoke(main, ["sync", "now", "--tenant", "demo", "--location", "adelaide", "--family",
                                          "money", "--url", base], env={**demo_env.store_env.env})
            assert r.exit_code == 0, r.output
            assert "demo__adelaide money: run" in r.output and "queued" in r.output
        deadline = time.monotonic() + 240
        while True:
            runs = httpx.post(f"{base}/graphql", json={"query": RUNS}, timeout=10).json()["data"]["runsOrError"]
            mine = [r for r in runs["results"] if {"key": "cz/trigger", "value": "cz sync now"} in r["tags"]]
            if len(mine) == 2 and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in mine):
                break
            assert time.monotonic() < deadline, f"runs still {[r['status'] for r in mine]}"
            time.sleep(1)
        for run in mine:
            tags = {t["key"]: t["value"] for t in run["tags"]}
            assert run["status"] == "SUCCESS" and tags["dagster/partition"] == "demo__adelaide"
        first, second = sorted(mine, key=lambda r: r["startTime"])
        assert first["endTime"] <= second["startTime"], "two runs of one partition overlapped"
        assert_exactly_once(demo_env.sandbox, "adelaide", expected)
        assert demo_env.sandbox.org("melbourne")["invoices"] == []
        r = CliRunner().invoke(main, ["sync", "now", "--tenant", "demo", "--family", "payroll", "--url", base],
                               env={**demo_env.store_env.env})
        assert r.exit_code == 2 and "unknown family" in r.output
