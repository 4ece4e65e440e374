"""Benchmark: 2,000 unposted invoices of one location through `xero/invoices`.

Prints Xero write calls / ceil(N/50) and ConnectWise read calls / ceil(N/1000) (target: 1.05 or less each),
counted by the sandbox itself (its call log), and the wall time. Run: `.venv/bin/python -m benchmarks.invoices`.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from dagster import DagsterInstance, materialize

from cz_dagster.assets.contacts import contacts
from cz_dagster.assets.invoices import invoices
from cz_dagster.partitions import tenant_location
from cz_dagster.resources import ConnectWiseResource, StoreResource, XeroResource
from cz_dagster.store.db import Store
from cz_dagster.store.settings import Settings
from cz_sandbox import demo
from cz_sandbox.connectwise import ConnectWiseSandboxConfig, create_connectwise_app
from cz_sandbox.register import register_demo
from cz_sandbox.runner import SandboxServer
from cz_sandbox.xero import XeroSandboxConfig, create_xero_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=2000)
    args = parser.parse_args()
    n = args.invoices
    cw_app = create_connectwise_app(ConnectWiseSandboxConfig(invoices_per_location={"adelaide": n, "melbourne": 5}))
    # the benchmark measures call counts, not Xero's minute limit (which would make it take ~40 s of waiting)
    xero_app = create_xero_app(XeroSandboxConfig(minute_limit=10_000))
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(cw_app) as cw, SandboxServer(xero_app) as xero:
        settings = Settings(data_dir=Path(tmp), database_url=None, secret_keys=Fernet.generate_key().decode())
        store = Store(settings)
        register_demo(store, cw.url, xero.url)
        instance = DagsterInstance.ephemeral()
        instance.add_dynamic_partitions(tenant_location.name, ["demo__adelaide"])
        resources = {"store": StoreResource(data_dir=tmp, secret_keys=settings.secret_keys),
                     "connectwise_api": ConnectWiseResource(), "xero_api": XeroResource(minute_budget=10_000)}
        materialize([contacts], partition_key="demo__adelaide", resources=resources, instance=instance)
        for url in (cw.url, xero.url):
            httpx.delete(f"{url}/_sandbox/calls")
        started = time.perf_counter()
        result = materialize([contacts, invoices], partition_key="demo__adelaide", resources=resources,
                             instance=instance, selection=[invoices])
        wall = time.perf_counter() - started
        assert result.success
        xero_calls = httpx.get(f"{xero.url}/_sandbox/calls").json()
        cw_calls = httpx.get(f"{cw.url}/_sandbox/calls").json()
        writes = [c for c in xero_calls if c["method"] in ("PUT", "POST") and "/Invoices" in c["path"]]
        cw_reads = [c for c in cw_calls if c["method"] == "GET" or c["path"].endswith("/finance/accounting/export")]
        orgs = httpx.get(f"{xero.url}/_sandbox/state").json()["organisations"]
        adelaide = next(o for o in orgs if o["tenant_id"] == demo.LOCATIONS["adelaide"]["xero_tenant_id"])
        posted = len({i["InvoiceNumber"] for i in adelaide["invoices"]})
        print(f"invoices unposted:                     {n}")
        print(f"invoices in Xero after the run:        {posted}")
        print(f"Xero write calls / ceil(N/50):         {len(writes)} / {math.ceil(n / 50)} = "
              f"{len(writes) / math.ceil(n / 50):.3f}")
        print(f"ConnectWise read calls / ceil(N/1000): {len(cw_reads)} / {math.ceil(n / 1000)} = "
              f"{len(cw_reads) / math.ceil(n / 1000):.3f}")
        print(f"all Xero calls: {len(xero_calls)}, all ConnectWise calls: {len(cw_calls)}")
        print(f"wall time: {wall:.1f} s ({n / wall:.0f} invoices/s)")
        store.dispose()


if __name__ == "__main__":
    main()
