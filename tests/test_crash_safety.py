"""Crash safety: the run process is killed with SIGKILL at many points of a write -- before the call, after the
target system accepted it, before ConnectWise was marked, between pages of a batch -- for invoices, bills,
payments and timesheets; a re-run must leave every record in its target exactly once.

The sandbox holds the chosen call with a fault rule (``delay`` before the simulator acts, or after it has acted
and before the answer goes back), the test waits until the call is held, kills the process group, clears the
faults and runs the same assets again in-process."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from cz_dagster.sync.bills import bill_reference
from cz_sandbox import demo
from tests.dagster_helpers import metadata, run_assets
from tests.test_flows_e2e import MEL, PAYROLL_REF, timesheet_hours
from tests.test_invoices_e2e import ADL, MONEY, assert_exactly_once

REFS = ["xero/tax_rates", "xero/accounts", "xero/currencies", "xero/tracking_categories"]
HOLD = 120.0  # seconds a held call waits: far longer than the test needs to kill the run


@dataclass
class Point:
    """Where to kill: which call is held (``skip`` earlier matching calls pass untouched) and when."""

    name: str
    system: str
    path: str
    method: str
    when: str  # before: the simulator has not seen the call; after: it acted, the answer is held
    skip: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Zygote:
    """The forking worker factory of tests/crash_runner.py, started once per session."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.crash_runner", "--zygote"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=os.getcwd())

    def spawn(self, partition: str, keys: list[str], env: dict[str, str], log: str) -> int:
        request = {"partition": partition, "keys": keys, "env": env, "log": log}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def kill_at(demo_env, zygote: Zygote, point: Point, partition: str, keys: list[str],  # noqa: ANN001
            batch_size: int = 50) -> None:
    """Start a run worker for ``keys``, hold the call ``point`` names, SIGKILL the worker while it waits."""
    sandbox = demo_env.sandbox
    ids = []
    if point.skip:  # earlier matching calls pass through a rule that does nothing
        ids.append(sandbox.fault(point.system, path=point.path, method=point.method, kind="delay", delay=0,
                                 count=point.skip)["id"])
    ids.append(sandbox.fault(point.system, path=point.path, method=point.method, kind="delay", when=point.when,
                             delay=HOLD, count=1)["id"])
    env = {**demo_env.store_env.env, "CZ_TEST_BATCH_SIZE": str(batch_size)}
    log = demo_env.store_env.settings.data_dir / "crash_runner.log"
    log.parent.mkdir(parents=True, exist_ok=True)  # on PostgreSQL nothing else lives there
    pid = zygote.spawn(partition, keys, env, str(log))
    try:
        deadline = time.monotonic() + 90
        while {r["id"] for r in sandbox.faults(point.system)} & set(ids):
            assert _alive(pid), (f"{point.name}: the run ended before it reached the held call:\n"
                                 + log.read_text(errors="replace")[-3000:])
            assert time.monotonic() < deadline, f"{point.name}: the run never reached the held call"
            time.sleep(0.1)
        time.sleep(0.6 if point.when == "after" else 0.2)  # let the simulator finish acting on the held call
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.02)
    sandbox.clear_faults()


XERO_PUT = dict(system="xero", path="/api.xro/2.0/Invoices", method="PUT")
CW_BATCH = dict(system="connectwise", path="*/finance/accounting/batches", method="POST")
POSTING_POINTS = [
    Point("before the Xero call", when="before", **XERO_PUT),
    Point("after Xero accepted", when="after", **XERO_PUT),
    Point("after Xero accepted a later page", when="after", skip=1, **XERO_PUT),
    Point("before ConnectWise was marked", when="before", **CW_BATCH),
    Point("after ConnectWise was marked", when="after", **CW_BATCH),
]


@pytest.mark.parametrize("point", POSTING_POINTS, ids=lambda p: p.name.replace(" ", "-"))
def test_invoices_exactly_once_after_a_kill(demo_env, zygote, point):
    sandbox = demo_env.sandbox
    expected = sandbox.cw_export("adelaide")
    run_assets(demo_env.store_env, REFS, ADL)
    kill_at(demo_env, zygote, point, ADL, MONEY)
    meta = metadata(run_assets(demo_env.store_env, MONEY, ADL), "xero/invoices")
    assert meta["failed"] == 0, meta.get("errors")
    assert_exactly_once(sandbox, "adelaide", expected)
    posted = {i["invoiceNumber"]: i for i in sandbox.cw_state()["invoices"]}
    assert all(posted[t["documentNumber"]].get("glBatch") for t in expected)


@pytest.mark.parametrize("point", POSTING_POINTS, ids=lambda p: p.name.replace(" ", "-"))
def test_bills_exactly_once_after_a_kill(demo_env, zygote, point):
    sandbox = demo_env.sandbox
    expected = sandbox.cw_procurement("adelaide")
    assert len(expected) > 10, "the demo needs more than one page of bills for the later-page point"
    run_assets(demo_env.store_env, REFS, ADL)
    kill_at(demo_env, zygote, point, ADL, ["xero/bills"], batch_size=10)
    meta = metadata(run_assets(demo_env.store_env, ["xero/bills"], ADL), "xero/bills")
    assert meta["failed"] == 0, meta.get("errors")
    refs = Counter(b["Reference"] for b in sandbox.org("adelaide")["bills"])
    assert refs == Counter({bill_reference(t['id']): 1 for t in expected})
    loc = demo.LOCATIONS["adelaide"]["cw_location_id"]
    assert not [p for p in sandbox.cw_state()["procurement"]["unposted"] if p["locationId"] == loc]


CW_PAYMENT = dict(system="connectwise", path="*/finance/invoices/*/payments", method="POST")
PAYMENT_POINTS = [
    Point("before the ConnectWise call", when="before", **CW_PAYMENT),
    Point("after ConnectWise applied it", when="after", **CW_PAYMENT),
    Point("after ConnectWise applied a later one", when="after", skip=2, **CW_PAYMENT),
    Point("before the invoice was closed", system="connectwise", path="*/finance/invoices/*", method="PATCH",
          when="before"),
]


@pytest.mark.parametrize("point", PAYMENT_POINTS, ids=lambda p: p.name.replace(" ", "-"))
def test_payments_exactly_once_after_a_kill(demo_env, zygote, point):
    sandbox = demo_env.sandbox
    run_assets(demo_env.store_env, MONEY, ADL)
    tid = demo.LOCATIONS["adelaide"]["xero_tenant_id"]
    invoices = sorted(sandbox.org("adelaide")["invoices"], key=lambda i: i["InvoiceNumber"])[:4]
    for n, inv in enumerate(invoices):  # a full payment first (so the close is reached early), then partials
        total = Decimal(str(inv["Total"]))
        amount = total if n == 0 else (total / (n + 1)).quantize(Decimal("0.01"))
        sandbox.post("xero", "/_sandbox/payments", {"tenant_id": tid, "InvoiceNumber": inv["InvoiceNumber"],
                                                    "Amount": float(amount)})
    kill_at(demo_env, zygote, point, ADL, ["connectwise/invoice_payments"])
    meta = metadata(run_assets(demo_env.store_env, ["connectwise/invoice_payments"], ADL),
                    "connectwise/invoice_payments")
    assert meta["failed"] == 0, meta.get("errors")
    xero_paid: dict[str, list[Decimal]] = defaultdict(list)
    for p in sandbox.org("adelaide")["payments"]:
        xero_paid[p["Invoice"]["InvoiceNumber"]].append(Decimal(str(p["Amount"])))
    cw_invoices = {i["invoiceNumber"]: i for i in sandbox.cw_state()["invoices"]}
    for inv in invoices:
        number = inv["InvoiceNumber"]
        cw_inv = cw_invoices[number]
        cw_payments = sandbox.cw_get(f"finance/invoices/{cw_inv['id']}/payments")
        applied = sorted(Decimal(str(p["amount"])) for p in cw_payments)
        assert applied == sorted(xero_paid[number]), number
        xero_inv = next(i for i in sandbox.org("adelaide")["invoices"] if i["InvoiceNumber"] == number)
        assert Decimal(str(cw_inv["balance"])) == Decimal(str(xero_inv["AmountDue"])), number
        assert (cw_inv["status"]["name"] == "Paid") == (Decimal(str(xero_inv["AmountDue"])) == 0), number


XERO_TIMESHEETS = dict(system="xero", path="/payroll.xro/1.0/Timesheets", method="POST")
TIMESHEET_POINTS = [
    Point("before the Xero call", when="before", **XERO_TIMESHEETS),
    Point("after Xero accepted", when="after", **XERO_TIMESHEETS),
    Point("after Xero accepted a later one", when="after", skip=2, **XERO_TIMESHEETS),
]


@pytest.mark.parametrize("point", TIMESHEET_POINTS, ids=lambda p: p.name.replace(" ", "-"))
def test_timesheets_exactly_once_after_a_kill(demo_env, zygote, point):
    sandbox = demo_env.sandbox
    run_assets(demo_env.store_env, ["xero/staff", *PAYROLL_REF], MEL)
    kill_at(demo_env, zygote, point, MEL, ["xero/timesheets"], batch_size=5)  # several pages of timesheets
    meta = metadata(run_assets(demo_env.store_env, ["xero/timesheets"], MEL), "xero/timesheets")
    assert meta["failed"] == 0, meta.get("errors")
    keys = Counter((t["EmployeeID"], t["StartDate"]) for t in sandbox.org("melbourne")["timesheets"])
    assert all(n == 1 for n in keys.values()), "two timesheets for one employee and period"
    approved, in_xero = timesheet_hours(sandbox, demo_env.store)
    assert in_xero == approved
