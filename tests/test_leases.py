"""The flow lease (store.leases) on both backends: one holder at a time, a second run sees who holds it, a holder
that died on this machine frees it at once, an expired one (another machine's) after its ttl, and a holder whose
lease was taken over stops writing."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest

from cz_dagster.store import schema as s
from cz_dagster.store.leases import FlowLease, LeaseLost, busy_message
from cz_dagster.store.schema import utcnow


@pytest.fixture
def tenant(store):  # noqa: ANN001, ANN201
    store.add_tenant("acme", "Acme IT")
    return "acme"


def test_one_holder_then_the_next(store, tenant):  # noqa: ANN001
    first = FlowLease(store, tenant, "adelaide", "payments", "run-a", ttl=30)
    assert first.try_acquire() is None and first.held
    second = FlowLease(store, tenant, "adelaide", "payments", "run-b", ttl=30)
    holder = second.try_acquire()
    assert holder is not None and holder.run_id == "run-a" and not second.held
    assert busy_message("payments", "adelaide", holder).startswith(
        "another run is syncing payments for adelaide (run run-a")
    other_flow = FlowLease(store, tenant, "adelaide", "invoices", "run-b", ttl=30)
    other_location = FlowLease(store, tenant, "melbourne", "payments", "run-b", ttl=30)
    assert other_flow.try_acquire() is None and other_location.try_acquire() is None  # leases are per flow
    first.check()
    first.release()
    assert second.acquire(wait=2, poll=0.05) is None and second.held
    for lease in (second, other_flow, other_location):
        lease.release()


def test_a_dead_holder_of_this_machine_frees_it_at_once(store, tenant):  # noqa: ANN001
    dead = subprocess.Popen(["true"])
    dead.wait()
    first = FlowLease(store, tenant, "adelaide", "payments", "run-a", ttl=300)
    assert first.try_acquire() is None
    first._stop.set()  # its heartbeat ends as a SIGKILL would end it
    with store.tenant_tx(tenant) as conn:  # the row as a process that has since died would have left it
        conn.execute(s.flow_leases.update().values(pid=dead.pid))
    second = FlowLease(store, tenant, "adelaide", "payments", "run-b", ttl=300)
    assert second.try_acquire() is None
    with pytest.raises(LeaseLost, match="no longer holds the payments lease of adelaide"):
        first.check()
    second.release()


def test_another_machines_holder_frees_it_after_the_ttl(store, tenant):  # noqa: ANN001
    first = FlowLease(store, tenant, "adelaide", "payments", "run-a", ttl=300)
    assert first.try_acquire() is None
    first._stop.set()
    with store.tenant_tx(tenant) as conn:
        conn.execute(s.flow_leases.update().values(host="another-pod"))
    second = FlowLease(store, tenant, "adelaide", "payments", "run-b", ttl=300)
    assert second.try_acquire() is not None  # alive as far as we can tell: wait
    with store.tenant_tx(tenant) as conn:
        conn.execute(s.flow_leases.update().values(expires_at=utcnow() - timedelta(seconds=1)))
    assert second.try_acquire() is None
    second.release()


def test_the_heartbeat_keeps_it(store, tenant):  # noqa: ANN001
    import time

    lease = FlowLease(store, tenant, "adelaide", "payments", "run-a", ttl=0.6)
    assert lease.try_acquire() is None
    time.sleep(1.5)  # more than twice the ttl: only the heartbeat keeps it
    other = FlowLease(store, tenant, "adelaide", "payments", "run-b", ttl=0.6)
    assert other.try_acquire() is not None
    lease.check()
    lease.release()
    assert other.try_acquire() is None
    other.release()
