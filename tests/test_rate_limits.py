"""Rate-limit compliance, measured from the Xero sandbox's own call log (each call's arrival and answer times):
never more than 5 calls in flight and never more than the minute limit in any window per organisation, also
when several runs of one organisation's locations overlap; after a 429 the product adapts; a spent day budget
stops runs cleanly and the next day they finish exactly once.

A real minute is too long for a test: the sandbox's window (``minute_window_seconds``) and the product's
(``XeroResource.minute_window_seconds``) are scaled down together, the code paths are the same."""

from __future__ import annotations

import threading
from collections import Counter

import httpx

from cz_dagster.store.ledger import Ledger
from cz_sandbox import demo
from tests.dagster_helpers import metadata, run_assets
from tests.test_invoices_e2e import ADL, MONEY, assert_exactly_once

ADL_ORG = demo.LOCATIONS["adelaide"]["xero_tenant_id"]
MIRRORS = ["xero/tax_rates", "xero/accounts", "xero/currencies", "xero/tracking_categories"]


# ---------------------------------------------------------------- measuring the sandbox's log

def org_calls(sandbox, org: str = ADL_ORG) -> list[dict]:  # noqa: ANN001
    response = httpx.get(f"{sandbox.xero_url}/_sandbox/calls", params={"tenant_id": org}, timeout=30)
    response.raise_for_status()
    return response.json()


def max_in_flight(calls: list[dict]) -> int:
    """The most calls between arrival and answer at one moment (an answer before an arrival at a tie)."""
    events = sorted([(c["started"], 1) for c in calls] + [(c["ended"], -1) for c in calls])
    now = peak = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


def max_per_window(calls: list[dict], window: float) -> int:
    """The most calls arriving within any ``window`` seconds (a sliding window over the arrivals)."""
    starts = sorted(c["started"] for c in calls)
    best = first = 0
    for last, t in enumerate(starts):
        while t - starts[first] >= window:
            first += 1
        best = max(best, last - first + 1)
    return best


def configure(sandbox, **knobs) -> None:  # noqa: ANN001, ANN003
    sandbox.post("xero", "/_sandbox/config", knobs)


def add_location_of_adelaide_org(store, slug: str, cw_location_id: int) -> str:  # noqa: ANN001
    """Another location of the demo tenant posting into Adelaide's Xero organisation."""
    store.add_location("demo", slug, slug.title(), cw_location_id, xero_tenant_id=ADL_ORG, xero_org_name="Adelaide")
    return f"demo__{slug}"


def add_invoices(sandbox, location: str, count: int, prefix: str) -> None:  # noqa: ANN001
    loc = demo.LOCATIONS[location]["cw_location_id"]
    companies = [c for c in sandbox.cw_state()["companies"] if not c.get("isVendorFlag")
                 and location in demo.COMPANY_LOCATIONS.get(c.get("identifier"), (location,))]
    for i in range(count):
        sandbox.post("connectwise", "/_sandbox/unpostedinvoices", {
            "locationId": loc, "companyId": companies[i % len(companies)]["id"], "invoiceNumber": f"{prefix}-{i}",
            "lines": [{"description": "Remote support (hours)", "quantity": 1 + i % 3, "unitPrice": 145,
                       "accountNumber": "230", "taxCodeXref": "OUTPUT"}]})


def overlapping(runs: dict[str, dict]) -> dict[str, object]:
    """Materialize several partitions at once, one thread each; ``runs`` maps partition -> run_assets kwargs."""
    results: dict[str, object] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(runs))

    def one(partition: str, kwargs: dict) -> None:
        try:
            start.wait()
            results[partition] = run_assets(partition=partition, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(p, k)) for p, k in runs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def xero_figures(result, keys: list[str]) -> Counter:  # noqa: ANN001
    total: Counter = Counter()
    for key in keys:
        meta = metadata(result, key)
        total.update({k: meta.get(k, 0) for k in ("api_calls_xero", "retries_xero", "rate_limited_xero")})
    return total


# ---------------------------------------------------------------- 1. one heavy run

def test_heavy_run_stays_within_the_limits(demo_env):
    """~30 Xero calls (small batches, the pre-flight mirrors) against 12 calls per 2 s: never more than 12 in
    any 2 s, never more than 5 in flight, no 429, and everything lands exactly once."""
    sandbox = demo_env.sandbox
    add_invoices(sandbox, "adelaide", 60, "RL")
    expected = sandbox.cw_export("adelaide")
    configure(sandbox, minute_limit=12, minute_window_seconds=2)
    result = run_assets(demo_env.store_env, MIRRORS + MONEY, ADL, batch_size=10, minute_budget=12,
                        minute_window_seconds=2)
    calls = org_calls(sandbox)
    figures = xero_figures(result, MIRRORS + MONEY)
    print(f"\nheavy run: {len(calls)} calls, in flight max {max_in_flight(calls)}, per 2 s max "
          f"{max_per_window(calls, 2)}, 429s {figures['rate_limited_xero']}")
    assert len(calls) >= 25 and figures["api_calls_xero"] == len(calls)
    assert max_in_flight(calls) <= 5
    assert max_per_window(calls, 2) <= 12
    assert figures["rate_limited_xero"] == 0 and not [c for c in calls if c["status"] == 429]
    assert_exactly_once(sandbox, "adelaide", expected)


# ---------------------------------------------------------------- 2. after the first 429, adapt

def test_after_the_first_minute_429_the_product_adapts(demo_env):
    """Xero allows fewer calls than the product's configured pace (7 per second against 12): the first 429
    (minute, Retry-After) is waited out as told, and the product then keeps under what Xero allowed instead
    of meeting a 429 in every window."""
    sandbox = demo_env.sandbox
    add_invoices(sandbox, "adelaide", 60, "RL")
    expected = sandbox.cw_export("adelaide")
    configure(sandbox, minute_limit=7, minute_window_seconds=1)
    result = run_assets(demo_env.store_env, MONEY, ADL, batch_size=5, minute_budget=12, minute_window_seconds=1)
    calls = org_calls(sandbox)
    figures = xero_figures(result, MONEY)
    limited = [i for i, c in enumerate(calls) if c["status"] == 429]
    windows = (calls[-1]["started"] - calls[0]["started"]) / 1.0
    print(f"\nadapting: {len(calls)} calls over {windows:.1f} windows, 429s {len(limited)}, retries "
          f"{figures['retries_xero']}, in flight max {max_in_flight(calls)}")
    assert figures["rate_limited_xero"] == len(limited) >= 1 and figures["retries_xero"] >= len(limited)
    assert windows >= 5
    assert len(limited) <= 2, f"a 429 in {len(limited)} of {windows:.0f} windows: the product did not adapt"
    for i in limited:  # waited as told (Retry-After is at least 1 s here) before the next call
        assert calls[i + 1]["started"] - calls[i]["ended"] >= 0.95
    assert max_in_flight(calls) <= 5
    assert metadata(result, "xero/invoices")["failed"] == 0
    assert_exactly_once(sandbox, "adelaide", expected)


def test_injected_minute_429_is_waited_out(demo_env):
    """A 429 (minute) with Retry-After: 2 from nowhere: the run waits 2 s, retries, and completes once."""
    sandbox = demo_env.sandbox
    expected = sandbox.cw_export("adelaide")
    sandbox.fault("xero", path="/api.xro/2.0/Invoices", method="PUT", kind="status", status=429, count=1,
                  headers={"Retry-After": "2", "X-Rate-Limit-Problem": "minute"})
    result = run_assets(demo_env.store_env, MONEY, ADL)
    calls = org_calls(sandbox)
    [i] = [i for i, c in enumerate(calls) if c["status"] == 429]
    gap = calls[i + 1]["started"] - calls[i]["ended"]
    figures = xero_figures(result, MONEY)
    print(f"\ninjected 429: waited {gap:.2f} s, 429s {figures['rate_limited_xero']}, "
          f"retries {figures['retries_xero']}")
    assert gap >= 1.95 and figures["rate_limited_xero"] == 1 and figures["retries_xero"] == 1
    assert_exactly_once(sandbox, "adelaide", expected)


# ---------------------------------------------------------------- 3./4. overlapping runs of one organisation

def test_overlapping_runs_of_one_organisation_share_its_limits(demo_env):
    """Two locations posting into Adelaide's organisation at the same time, each configured to Xero's full
    pace: together they still keep under the organisation's minute limit and in-flight limit."""
    sandbox = demo_env.sandbox
    east = add_location_of_adelaide_org(demo_env.store, "adelaide-east", demo.LOCATIONS["melbourne"]["cw_location_id"])
    expected = sandbox.cw_export("adelaide") + sandbox.cw_export("melbourne")
    configure(sandbox, minute_limit=12, minute_window_seconds=2)
    pace = {"keys": MONEY, "store_env": demo_env.store_env, "batch_size": 10, "minute_budget": 12,
            "minute_window_seconds": 2}
    results = overlapping({ADL: pace, east: pace})
    calls = org_calls(sandbox)
    limited = [c for c in calls if c["status"] == 429]
    print(f"\noverlapping runs: {len(calls)} calls, in flight max {max_in_flight(calls)}, per 2 s max "
          f"{max_per_window(calls, 2)}, 429s {len(limited)}")
    assert all(r.success for r in results.values())
    assert max_in_flight(calls) <= 5
    assert max_per_window(calls, 2) <= 12
    assert not limited
    in_xero = assert_exactly_once(sandbox, "adelaide", expected)
    assert len([n for n, i in in_xero.items() if i["Type"] == "ACCREC"]) == len(expected)


def test_many_overlapping_runs_keep_five_in_flight(demo_env):
    """Eight locations of one organisation mirror its reference data at once, against slow answers: never
    more than 5 of their calls are in flight, so Xero never answers ``429 concurrent``."""
    sandbox = demo_env.sandbox
    partitions = [add_location_of_adelaide_org(demo_env.store, f"branch-{i}", 11) for i in range(8)]
    sandbox.fault("xero", path="/api.xro/2.0/*", kind="delay", delay=0.4, rate=1.0)
    results = overlapping({p: {"keys": MIRRORS, "store_env": demo_env.store_env} for p in partitions})
    calls = org_calls(sandbox)
    limited = [c for c in calls if c["status"] == 429]
    print(f"\n8 overlapping runs: {len(calls)} calls, in flight max {max_in_flight(calls)}, 429s {len(limited)}")
    assert all(r.success for r in results.values())
    assert max_in_flight(calls) <= 5
    assert not limited


def test_day_budget_spent_by_overlapping_runs_then_the_next_day(demo_env):
    """Two overlapping runs into one organisation spend its day budget mid-way: both stop cleanly (success,
    the rest deferred, nothing in error, nothing twice); the next day both finish, everything exactly once."""
    sandbox = demo_env.sandbox
    east = add_location_of_adelaide_org(demo_env.store, "adelaide-east", demo.LOCATIONS["melbourne"]["cw_location_id"])
    expected = sandbox.cw_export("adelaide") + sandbox.cw_export("melbourne")
    configure(sandbox, day_limit=14)
    run = {"keys": MONEY, "store_env": demo_env.store_env, "batch_size": 10}
    first = overlapping({ADL: run, east: run})
    calls = org_calls(sandbox)
    day_429 = [c for c in calls if c["status"] == 429]
    deferred = {p: metadata(r, "xero/invoices")["deferred"] for p, r in first.items()}
    print(f"\nday budget: {len([c for c in calls if c['status'] != 429])} calls admitted, day 429s "
          f"{len(day_429)}, deferred {deferred}")
    assert all(r.success for r in first.values())
    assert sum(deferred.values()) > 0
    for loc in ("adelaide", "adelaide-east"):
        states = Ledger(demo_env.store, "demo", loc, "invoices").counts()
        assert set(states) <= {"done", "pending"}, (loc, states)
        assert not Ledger(demo_env.store, "demo", loc, "contacts").in_state("error", "sending")
    numbers = Counter(i["InvoiceNumber"] for i in sandbox.org("adelaide")["invoices"])
    assert all(n == 1 for n in numbers.values())
    assert len(day_429) <= 4  # at most one per run and step: nobody retries a spent day

    configure(sandbox, day_limit=5000)  # the next day
    again = overlapping({ADL: run, east: run})
    assert all(r.success for r in again.values())
    for partition, result in again.items():
        meta = metadata(result, "xero/invoices")
        assert meta["failed"] == 0 and meta["deferred"] == 0, (partition, meta)
    in_xero = assert_exactly_once(sandbox, "adelaide", expected)
    assert len([i for i in in_xero.values() if i["Type"] == "ACCREC"]) == len(expected)


def test_day_budget_spent_while_making_contacts(demo_env):
    """The day runs out in the contacts step (its first PUT): the run still succeeds, the companies and their
    invoices wait (pending, not in error); the next day everything lands exactly once."""
    sandbox = demo_env.sandbox
    expected = sandbox.cw_export("adelaide")
    configure(sandbox, day_limit=1)  # the contacts GET, then the day is spent
    result = run_assets(demo_env.store_env, MONEY, ADL)
    contacts, invoices = metadata(result, "xero/contacts"), metadata(result, "xero/invoices")
    print(f"\nday spent in contacts: contacts deferred {contacts.get('deferred')}, invoices deferred "
          f"{invoices['deferred']}, failed {invoices['failed']}")
    assert result.success and contacts["failed"] == 0 and contacts["deferred"] > 0
    assert invoices["failed"] == 0 and invoices["deferred"] > 0 and invoices["posted"] == 0
    assert set(Ledger(demo_env.store, "demo", "adelaide", "invoices").counts()) <= {"pending", "done"}
    assert set(Ledger(demo_env.store, "demo", "adelaide", "contacts").counts()) <= {"pending", "done"}
    configure(sandbox, day_limit=5000)  # the next day
    again = run_assets(demo_env.store_env, MONEY, ADL)
    meta = metadata(again, "xero/invoices")
    assert meta["failed"] == 0 and meta["deferred"] == 0 and meta["posted"] == len(expected) - invoices["posted"]
    assert_exactly_once(sandbox, "adelaide", expected)
