"""The one partitions definition: a dynamic key per real tenant-location pair, ``<tenant>__<location>``.

A 2-D multi-partition would be the cross product of every tenant with every location; dynamic keys hold
only the pairs that exist. The ``tenants`` sensor (and the CLI, as a convenience) adds them.
"""

from __future__ import annotations

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
