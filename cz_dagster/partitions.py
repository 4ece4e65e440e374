"""The one partitions definition: a dynamic key per real tenant-location pair, ``<tenant>__<location>``.

A 2-D multi-partition would be the cross product of every tenant with every location; dynamic keys hold
only the pairs that exist. The ``tenants`` sensor (and the CLI, as a convenience) adds them.
"""

from __future__ import annotations

import os

from dagster import DynamicPartitionsDefinition

tenant_location = DynamicPartitionsDefinition(name="tenant_location")
SEPARATOR = "__"


def partition_key(tenant: str, location: str) -> str:
    return f"{tenant}{SEPARATOR}{location}"


def split_key(key: str) -> tuple[str, str]:
    tenant, sep, location = key.partition(SEPARATOR)
    if not sep or not tenant or not location:
        raise ValueError(f"partition key {key!r} is not of the form <tenant>__<location>")
    return tenant, location


def add_partitions_to_instance(keys: list[str]) -> bool:
    """When DAGSTER_HOME is set, add the partition keys at once (the tenants sensor would, within a minute),
    so that `dagster asset materialize --partition` works straight after onboarding."""
    if not os.environ.get("DAGSTER_HOME") or not keys:
        return False
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        existing = set(instance.get_dynamic_partitions(tenant_location.name))
        new = [k for k in keys if k not in existing]
        if new:
            instance.add_dynamic_partitions(tenant_location.name, new)
    return True
