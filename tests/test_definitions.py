"""The Dagster definitions: asset graph, partitions, and the tenants sensor on a persistent instance."""

from __future__ import annotations

from dagster import DagsterInstance, build_sensor_context

from cz_dagster.definitions import defs
from cz_dagster.partitions import split_key, tenant_location
from cz_dagster.sensors.tenants import tenants_sensor


def test_asset_graph():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"xero/contacts", "xero/invoices"} <= keys
    invoices = graph.get(next(k for k in graph.get_all_asset_keys() if k.to_user_string() == "xero/invoices"))
    assert {p.to_user_string() for p in invoices.parent_keys} == {"xero/contacts"}
    assert invoices.partitions_def == tenant_location
    assert invoices.group_name == "money"
    assert {c.name for c in invoices.assets_def.check_specs} == {"nothing_in_error"}
    assert defs.resolve_job_def("money_job").partitions_def == tenant_location


def test_split_key():
    assert split_key("demo__adelaide") == ("demo", "adelaide")
    for bad in ("demo", "__x", "demo__"):
        try:
            split_key(bad)
        except ValueError as exc:
            assert "is not of the form" in str(exc)
        else:
            raise AssertionError(bad)


def test_tenants_sensor_adds_enabled_partitions(store_env, tmp_path):
    store = store_env.store
    store.add_tenant("acme", "Acme")
    store.add_location("acme", "perth", "Perth", 13)
    store.add_location("acme", "darwin", "Darwin", 14)
    store.update_location("acme", "darwin", enabled=False)
    store.add_tenant("off", "Off")
    store.add_location("off", "hobart", "Hobart", 15)
    store.update_tenant("off", enabled=False)
    (tmp_path / "home").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "home")) as instance:
        result = tenants_sensor(build_sensor_context(instance=instance, resources={"store": store_env.resource()}))
        [request] = result.dynamic_partitions_requests
        instance.add_dynamic_partitions(tenant_location.name, list(request.partition_keys))
        assert instance.get_dynamic_partitions(tenant_location.name) == ["acme__perth"]
        again = tenants_sensor(build_sensor_context(instance=instance, resources={"store": store_env.resource()}))
        assert "have partitions" in again.skip_message
