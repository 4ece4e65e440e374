"""The shared Xero pace under a run of stray 429s (found by the soak): the learned budget must not compound
down to one call a minute."""

from __future__ import annotations

from cz_dagster.store.xero_rate import XeroPacer


def test_repeated_429s_keep_at_least_half_the_configured_budget(store):
    store.add_tenant("acme", "Acme")
    pacer = XeroPacer(store, "acme", "org-1", budget=56, window=60.0)
    budgets = []
    for _ in range(8):
        slot = pacer.acquire()
        budgets.append(pacer.throttled(retry_after=None))
        pacer.release(slot)
    assert budgets[0] == 28 and min(budgets) == 28, budgets
