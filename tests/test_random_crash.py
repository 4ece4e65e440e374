"""Randomized crash test: run workers of the money, catalogue and time assets SIGKILLed at random moments, runs of
the same partition and of two partitions of one Xero organisation overlapping, transient faults on both
simulators; then clean rounds, after which every flow must be exact in the simulators' state: no duplicate,
nothing lost, no ledger row left pending or sending, and each invoice's ConnectWise balance equal to Xero's
AmountDue with at most one ConnectWise payment.

Unlike the held-call matrix (test_crash_safety.py) nothing here is chosen: kill moments, overlaps, which assets
and partitions run, and the new work between rounds (invoices, procurement, partial and full Xero payments,
reversals, time, items) all come from the seed. Each CI run draws new seeds and prints them;
``CZ_CRASH_SEEDS=11,12`` replays those, ``CZ_CRASH_SEED_COUNT`` sets how many are drawn (README: the longer run).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import signal
import time
from decimal import Decimal
from pathlib import Path

import pytest
from dagster import DagsterInstance
from sqlalchemy import select
from sqlalchemy.engine import make_url

from benchmarks.soak import FLOWS, TenantWorld, fault_specs
from cz_dagster.store import schema as s
from cz_sandbox import demo
from cz_sandbox.client import SandboxClient
from cz_sandbox.connectwise import create_connectwise_app
from cz_sandbox.register import register_demo
from cz_sandbox.runner import SandboxServer
from cz_sandbox.xero import create_xero_app
from tests.conftest import make_store_env
from tests.dagster_helpers import run_assets
from tests.pg import drop_databases
from tests.test_crash_safety import REFS, Zygote, _alive
from tests.test_flows_e2e import PAYROLL_REF

ADL, PER, MEL = "demo__adelaide", "demo__perth", "demo__melbourne"
ADL_ORG = demo.LOCATIONS["adelaide"]["xero_tenant_id"]
PERTH_CW_LOCATION = 13  # a ConnectWise location of the sandbox with no organisation of its own
MONEY = ["xero/contacts", "xero/invoices", "xero/credit_notes", "xero/bills", "connectwise/invoice_payments"]
CATALOGUE = ["xero/items", "connectwise/product_catalogue"]
TIME = ["xero/staff", "xero/timesheets"]
SETUP = {ADL: [*REFS, *CATALOGUE], PER: REFS, MEL: [*REFS, *PAYROLL_REF, "xero/staff"]}
CLEAN = {ADL: [*MONEY, *CATALOGUE], PER: MONEY, MEL: [*MONEY, *CATALOGUE, *TIME]}
KILL_ROUNDS = 3
WINDOW = 5.0  # Xero's minute, scaled down in the sandbox and the product alike: the pace is kept, the waits short
SETTLE_ROUNDS = 3


def seeds() -> list[int]:
    """New seeds each test session; the same in every xdist worker of one session (their collections must
    agree), so they derive from the session's shared id."""
    if os.environ.get("CZ_CRASH_SEEDS"):
        return [int(x) for x in os.environ["CZ_CRASH_SEEDS"].split(",")]
    count = int(os.environ.get("CZ_CRASH_SEED_COUNT", "3"))  # 3 a backend keeps the suite near 16 min
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    base = int(hashlib.sha256(run_id.encode()).hexdigest()[:8], 16) % 10**6 if run_id \
        else random.SystemRandom().randrange(1, 10**6)
    return [base + n for n in range(count)]


def add_perth_invoices(api: SandboxClient, rng: random.Random, round_no: int, seed: int) -> set[str]:
    """Perth posts into Adelaide's organisation: its invoices land beside Adelaide's."""
    customers = [c for c in api.cw_state()["companies"] if not c.get("isVendorFlag")]
    numbers = set()
    for n in range(3):
        number = f"PER-{seed}-{round_no}-{n}"
        api.post("connectwise", "/_sandbox/unpostedinvoices", {
            "locationId": PERTH_CW_LOCATION, "companyId": rng.choice(customers)["id"], "invoiceNumber": number,
            "lines": [{"description": "Onsite support", "quantity": rng.randint(1, 4), "unitPrice": 165,
                       "accountNumber": "230", "taxCodeXref": "OUTPUT"}]})
        numbers.add(number)
    return numbers


def chaos_round(zygote: Zygote, env: dict[str, str], log_dir: Path, rng: random.Random) -> list[str]:
    """Start 2-4 overlapping workers, SIGKILL most of them at random moments; what happened, for the report."""
    workers: list[tuple[int, float | None, str]] = []
    events = []
    for n in range(rng.randint(2, 4)):
        partition = rng.choice([ADL, ADL, PER, MEL])
        keys = {ADL: rng.choice([MONEY, MONEY + CATALOGUE]), PER: MONEY,
                MEL: rng.choice([MONEY, TIME, MONEY + TIME])}[partition]
        worker_env = {**env, "CZ_TEST_BATCH_SIZE": str(rng.choice([3, 10, 50])), "CZ_TEST_MINUTE_WINDOW": str(WINDOW),
                      "CZ_LEASE_WAIT_SECONDS": str(rng.choice([0, 1, 5]))}
        pid = zygote.spawn(partition, keys, worker_env, str(log_dir / f"worker-{pid_tag()}-{n}.log"))
        kill_at = time.monotonic() + rng.uniform(0.3, 7.0) if rng.random() < 0.7 else None
        workers.append((pid, kill_at, partition))
        events.append(f"{partition} {'+'.join(k.split('/')[-1] for k in keys)}"
                      + (f" killed at +{kill_at - time.monotonic():.1f}s" if kill_at else ""))
        time.sleep(rng.uniform(0.0, 1.5))
    deadline = time.monotonic() + 120
    while any(_alive(pid) for pid, _, _ in workers):
        now = time.monotonic()
        for pid, kill_at, _ in workers:
            if (kill_at is not None and now >= kill_at) or now > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        time.sleep(0.05)
    return events


_tag = iter(range(10**9))


def pid_tag() -> int:
    return next(_tag)


def open_rows(store) -> list[tuple]:  # noqa: ANN001
    with store.tenant_engine("demo").connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(s.ledger.c.surface, s.ledger.c.location, s.ledger.c.source_id, s.ledger.c.state,
                   s.ledger.c.last_error).where(s.ledger.c.state.in_(("pending", "sending"))))]


def one_seed(seed: int, backend: str, tmp_path: Path, pg_url: str | None, zygote: Zygote) -> str:
    """One seed from a fresh store and fresh simulators; returns the report (raises on a failure)."""
    rng = random.Random(seed)
    store_env = make_store_env(backend, tmp_path / f"seed-{seed}", pg_url)
    cw, xero = SandboxServer(create_connectwise_app()).start(), SandboxServer(create_xero_app()).start()
    report = [f"seed {seed} on {backend} (replay: CZ_CRASH_SEEDS={seed})"]
    try:
        api = SandboxClient(cw.url, xero.url)
        store = store_env.store
        api.post("xero", "/_sandbox/config", {"minute_window_seconds": WINDOW})
        register_demo(store, cw.url, xero.url)
        store.add_location("demo", "perth", "Perth", PERTH_CW_LOCATION, xero_tenant_id=ADL_ORG,
                           xero_org_name="Adelaide")
        instance = DagsterInstance.ephemeral()
        for partition, keys in SETUP.items():
            run_assets(store_env, keys, partition, instance, minute_window_seconds=WINDOW)
        world = TenantWorld("demo", api, random.Random(rng.random()))
        log_dir = store_env.settings.data_dir / "workers"
        log_dir.mkdir(parents=True, exist_ok=True)
        for round_no in range(1, KILL_ROUNDS + 1):
            if round_no > 1:
                world.add_work(store, round_no)
            world.invoices["adelaide"] |= add_perth_invoices(api, rng, round_no, seed)
            world.snapshot()
            for spec in fault_specs(0.10, seed * 100 + round_no):
                # slow answers and 429s without Retry-After (the product then waits Xero's minute out) only
                # stretch the test; the soak has both
                if spec["kind"] != "delay" and (spec.get("headers") or {}).get("Retry-After") != "":
                    api.fault("connectwise", **spec)
                    api.fault("xero", **spec)
            began = time.monotonic()
            events = chaos_round(zygote, store_env.env, log_dir, rng)
            api.clear_faults()
            report.append(f"  round {round_no} ({time.monotonic() - began:.0f} s): " + "; ".join(events))
        figures = {}
        for settle in range(1, SETTLE_ROUNDS + 1):
            began = time.monotonic()
            for partition, keys in CLEAN.items():
                run_assets(store_env, keys, partition, instance, raise_on_error=False, minute_window_seconds=WINDOW)
            figures = world.measure(store)
            report.append(f"  settle {settle} ({time.monotonic() - began:.0f} s): " + ", ".join(
                f"{f} {figures[f].in_target}/{figures[f].expected} dup {figures[f].duplicates} lost "
                f"{figures[f].lost}" for f in FLOWS))
            if all(f.ok for f in figures.values()) and not open_rows(store):
                break
        text = "\n".join(report)
        for flow in FLOWS:
            f = figures[flow]
            assert f.duplicates == 0 and f.lost == 0 and f.in_target == f.expected, f"{flow}\n{text}"
        assert figures["payments"].expected > 0 and figures["invoices"].expected > 0, text
        left = open_rows(store)
        assert not left, f"ledger rows left open: {left[:10]}\n{text}"
        state = api.cw_state()
        cw_by_number = {i["invoiceNumber"]: i for i in state["invoices"]}
        for location in demo.LOCATIONS:
            for inv in api.org(location)["invoices"]:
                cw_inv = cw_by_number.get(inv["InvoiceNumber"])
                if inv["Type"] == "ACCREC" and cw_inv is not None and inv["Status"] in ("AUTHORISED", "PAID"):
                    assert Decimal(str(cw_inv["balance"])) == Decimal(str(inv["AmountDue"])), \
                        f"{inv['InvoiceNumber']}: ConnectWise balance {cw_inv['balance']} vs Xero {inv['AmountDue']}" \
                        f"\n{text}"
                    paid = Decimal(str(inv["AmountDue"])) == 0
                    assert (cw_inv["status"]["name"] == "Paid") == paid, f"{inv['InvoiceNumber']} status\n{text}"
        return text
    finally:
        cw.stop()
        xero.stop()
        store_env.store.dispose()
        if pg_url and store_env.settings.database_url:
            drop_databases(pg_url, make_url(store_env.settings.database_url).database)


@pytest.mark.parametrize("seed", seeds())
def test_random_kills_and_overlaps_converge_exactly_once_on_sqlite(seed, tmp_path, zygote):
    """PostgreSQL's twin is tests/test_random_crash_pg.py (its own file, so the two run on different workers)."""
    print(one_seed(seed, "sqlite", tmp_path, None, zygote))
