"""The shared Xero pace under a run of stray 429s (found by the soak): the learned budget must not compound
down to one call a minute."""

from __future__ import annotations

from cz_dagster.resources.xero.pacer import XeroPacer


def test_repeated_429s_keep_at_least_half_the_configured_budget(store):
    store.add_tenant("acme", "Acme")
    pacer = XeroPacer(store, "acme", "org-1", budget=56, window=60.0)
    budgets = []
    for _ in range(8):
        slot = pacer.acquire()
        budgets.append(pacer.throttled(retry_after=None))
        pacer.release(slot)
    assert budgets[0] == 28 and min(budgets) == 28, budgets


def test_a_slot_of_a_killed_process_frees_itself_at_once(store):
    """A run SIGKILLed mid-call leaves its slot in flight; on this machine the next caller sees the process is
    gone and does not wait out the pacer's lease (2 minutes) for it."""
    import subprocess
    import time

    from cz_dagster.store import schema as s
    from cz_dagster.store.leases import HOST

    store.add_tenant("acme", "Acme")
    pacer = XeroPacer(store, "acme", "org-1", budget=50, max_in_flight=1, lease=120.0)
    dead = subprocess.Popen(["true"])
    dead.wait()
    with store.tenant_tx("acme") as conn:
        conn.execute(s.xero_rate_calls.insert().values(org="org-1", started=time.time(), host=HOST, pid=dead.pid))
    started = time.monotonic()
    slot = pacer.acquire()
    assert time.monotonic() - started < 1.0
    pacer.release(slot)
