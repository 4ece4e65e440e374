"""In a real browser: headless Chromium (Debian's package) driven by Playwright opens the Dagster UI served by
the webserver (daemon running, SQLite storage), materializes `xero/contacts` then `xero/invoices` for
demo__adelaide with clicks, and the runs succeed and the invoices land in the sandbox's Adelaide organisation."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

import httpx
import pytest
from dagster import DagsterInstance
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from cz_dagster.partitions import tenant_location
from tests.processes import ROOT, dagster_processes
from tests.test_invoices_e2e import assert_exactly_once

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RUNS = "query { runsOrError { ... on Runs { results { runId status assetSelection { path } } } } }"


def materialize_with_clicks(page, base: str, asset: str, partition: str) -> None:  # noqa: ANN001
    page.goto(f"{base}/assets/{asset}?view=partitions", wait_until="networkidle")
    with contextlib.suppress(PlaywrightTimeout):  # "Join the Dagster community", once per browser profile
        page.get_by_role("button", name="Skip").click(timeout=4000)
    page.get_by_role("button", name="Materialize…").click()
    with contextlib.suppress(PlaywrightTimeout):  # "upstream assets have not been materialized yet"
        page.get_by_role("button", name="Confirm").click(timeout=3000)
    launch = page.get_by_role("button", name="Launch 1 run")
    for _ in range(5):  # the partition popover re-renders while the UI loads partition status: retry the pick
        if launch.count():
            break
        if not page.get_by_placeholder("Filter partitions").count():
            page.get_by_text("Select a partition or create one").click()
        with contextlib.suppress(PlaywrightTimeout):
            page.locator(f"label:has-text('{partition}')").last.click(timeout=5000)
        page.keyboard.press("Escape")
    launch.click()


def wait_for_run(base: str, asset: list[str], timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        runs = httpx.post(f"{base}/graphql", json={"query": RUNS}, timeout=10).json()["data"]["runsOrError"]
        mine = [r for r in runs["results"] if {"path": asset} in (r["assetSelection"] or [])]
        if mine and mine[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            return mine[0]
        assert time.monotonic() < deadline, f"no finished run for {asset}: {mine}"
        time.sleep(1)


@pytest.mark.parametrize("store_env", ["sqlite"], indirect=True)
def test_materialize_invoices_from_the_ui(demo_env, tmp_path):
    assert Path(CHROMIUM).exists(), "install Debian's chromium (the CI script does: apt-get install -y chromium)"
    from playwright.sync_api import sync_playwright

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    with DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions(tenant_location.name, ["demo__adelaide", "demo__melbourne"])
    env = {**os.environ, **demo_env.store_env.env, "DAGSTER_HOME": str(home)}
    expected = demo_env.sandbox.cw_export("adelaide")
    with dagster_processes(env) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        materialize_with_clicks(page, base, "xero/contacts", "demo__adelaide")
        assert wait_for_run(base, ["xero", "contacts"])["status"] == "SUCCESS"
        materialize_with_clicks(page, base, "xero/invoices", "demo__adelaide")
        assert wait_for_run(base, ["xero", "invoices"])["status"] == "SUCCESS"
        page.goto(f"{base}/assets/xero/invoices?view=partitions", wait_until="networkidle")
        page.get_by_text("demo__adelaide").first.wait_for()
        browser.close()
    assert_exactly_once(demo_env.sandbox, "adelaide", expected)
