"""The sync_dispatcher sensor and per-tenant schedules, with Dagster's sensor context on a persistent instance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from dagster import DagsterInstance, build_sensor_context

from cz_dagster.cli import main
from cz_dagster.partitions import tenant_location
from cz_dagster.resources.xero.tokens import XeroTokens
from cz_dagster.sensors.dispatch import due_requests, sync_dispatcher
from cz_dagster.store.schedules import Schedules
from cz_dagster.sync.schedule import ScheduleError, check_cron, latest_tick

T0 = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 17:30 in Adelaide, 18:00 in Melbourne, 15:00 in Perth


@pytest.mark.parametrize("cron, tz, now, expected", [
    ("0 */6 * * *", "Australia/Adelaide", T0, "2026-11-25T12:00:00+10:30"),
    ("0 2 * * *", "Australia/Adelaide", T0, "2026-11-25T02:00:00+10:30"),
    ("0 2 * * *", "UTC", T0, "2026-11-25T02:00:00+00:00"),
    ("30 17 * * 1-5", "Australia/Adelaide", T0, "2026-11-25T17:30:00+10:30"),  # exactly now: due now
    ("0 9 * * 1", "Australia/Perth", T0, "2026-11-23T09:00:00+08:00"),
    ("0 0 1 * *", "America/New_York", T0, "2026-11-01T00:00:00-04:00"),
])
def test_latest_tick_in_the_tenants_time_zone(cron, tz, now, expected):
    assert latest_tick(cron, tz, now).isoformat() == expected


def test_invalid_cron_is_refused_clearly():
    for bad in ("* * *", "61 * * * *", "every day", "0 */6 * * * *"):
        with pytest.raises(ScheduleError, match="not a valid cron string"):
            check_cron(bad)


def test_dispatch_once_per_tick_and_nothing_for_disabled_or_paused(store_env, tmp_path):
    store = store_env.store
    store.add_tenant("acme", "Acme", timezone="Australia/Adelaide")
    store.add_location("acme", "adl", "Adelaide", 11)
    store.add_location("acme", "off", "Off", 12)
    store.update_location("acme", "off", enabled=False)
    store.add_tenant("beta", "Beta", timezone="UTC")
    store.add_location("beta", "lon", "London", 1)
    Schedules(store, "beta").put("money", "*/15 * * * *")
    requests, skipped = due_requests(store, T0)
    keys = {(r.tags["cz/family"], r.partition_key): r.run_key for r in requests}
    families = ("money", "time", "staff", "reference", "reports")
    assert set(keys) == {(f, p) for f in families for p in ("acme__adl", "beta__lon")}
    assert keys[("money", "beta__lon")] == "money:beta__lon:2026-11-25T07:00:00+00:00"
    assert keys[("money", "acme__adl")] == "money:acme__adl:2026-11-25T12:00:00+10:30"
    assert "acme__off: disabled" in skipped
    # a second evaluation within the same tick asks for the same runs (the run key makes them one)
    again, _ = due_requests(store, T0.replace(minute=10))
    assert {r.run_key for r in again} == set(keys.values())
    later, _ = due_requests(store, T0.replace(minute=16), since=T0.replace(minute=10))
    assert {r.run_key for r in later} == {"money:beta__lon:2026-11-25T07:15:00+00:00"}  # only the new tick
    # disabled tenant, paused connection: nothing
    store.update_tenant("beta", enabled=False)
    XeroTokens(store, "acme").save("cid", "sec", {"access_token": "a", "refresh_token": "r", "expires_in": 1800,
                                                  "token_type": "Bearer", "scope": "x"})
    XeroTokens(store, "acme").pause("invalid_grant")
    requests, skipped = due_requests(store, T0)
    assert requests == [] and "beta: disabled" in skipped and "acme: Xero connection paused" in skipped

    (tmp_path / "home").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "home")) as instance:
        store.update_tenant("beta", enabled=True)
        ctx = build_sensor_context(instance=instance, resources={"store": store_env.resource()})
        assert "dispatcher started" in sync_dispatcher(ctx).skip_message  # a new sensor replays no history
        hour_ago = datetime.now(UTC).replace(minute=0, second=0) - timedelta(hours=25)
        ctx = build_sensor_context(instance=instance, cursor=hour_ago.isoformat(),
                                   resources={"store": store_env.resource()})
        result = sync_dispatcher(ctx)
        assert "partition not registered yet" in result.skip_message  # beta__lon is not a partition yet
        instance.add_dynamic_partitions(tenant_location.name, ["beta__lon"])
        result = sync_dispatcher(build_sensor_context(instance=instance, cursor=hour_ago.isoformat(),
                                                      resources={"store": store_env.resource()}))
        assert sorted(r.job_name for r in result.run_requests) == ["money_job", "reference_job", "reports_job",
                                                                   "staff_job", "time_job"]
        assert {r.partition_key for r in result.run_requests} == {"beta__lon"}


def test_cz_schedule_set_and_show(store_env):
    store_env.store.add_tenant("acme", "Acme", timezone="Australia/Adelaide")
    run = CliRunner().invoke
    r = run(main, ["schedule", "set", "--tenant", "acme", "--family", "money", "--cron", "0 */2 * * *"],
            env=store_env.env)
    assert r.exit_code == 0 and "0 */2 * * *" in r.output
    r = run(main, ["schedule", "set", "--tenant", "acme", "--family", "money", "--cron", "0 25 * * *"],
            env=store_env.env)
    assert r.exit_code == 2 and "not a valid cron string" in r.output
    r = run(main, ["schedule", "set", "--tenant", "acme", "--family", "payroll", "--cron", "0 1 * * *"],
            env=store_env.env)
    assert r.exit_code == 2 and "unknown family 'payroll'" in r.output
    r = run(main, ["schedule", "show", "--tenant", "acme"], env=store_env.env)
    assert r.exit_code == 0
    lines = {line.split()[0]: line for line in r.output.splitlines()}
    assert "0 */2 * * *" in lines["money"] and "(default)" not in lines["money"]
    assert "0 2 * * *" in lines["time"] and "(default)" in lines["time"]
