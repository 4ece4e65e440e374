"""Materializing the real asset definitions in-process, as `dagster asset materialize` would."""

from __future__ import annotations

from dagster import DagsterInstance, materialize

from cz_dagster.definitions import all_assets
from cz_dagster.partitions import tenant_location
from cz_dagster.resources import ConnectWiseResource, XeroResource
from tests.conftest import StoreEnv

FAST_RETRY = {"retry_base_delay": 0.05, "retry_max_delay": 0.3}


def resources(store_env: StoreEnv, **xero_overrides) -> dict:  # noqa: ANN003
    return {"store": store_env.resource(), "connectwise_api": ConnectWiseResource(**FAST_RETRY),
            "xero_api": XeroResource(**{**FAST_RETRY, **xero_overrides})}


def run_assets(store_env: StoreEnv, keys: list[str], partition: str, instance: DagsterInstance | None = None,
               raise_on_error: bool = True, **xero_overrides):  # noqa: ANN003, ANN201
    instance = instance or DagsterInstance.ephemeral()
    if partition not in instance.get_dynamic_partitions(tenant_location.name):
        instance.add_dynamic_partitions(tenant_location.name, [partition])
    assets = [a for a in all_assets if a.key.to_user_string() in keys]
    return materialize(assets, partition_key=partition, resources=resources(store_env, **xero_overrides),
                       instance=instance, raise_on_error=raise_on_error)


def metadata(result, key: str) -> dict:  # noqa: ANN001
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        if "/".join(mat.asset_key.path) == key:
            return {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
    raise KeyError(key)
