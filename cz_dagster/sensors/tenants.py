"""``tenants`` sensor: the control database's enabled tenant-locations become dynamic partition keys.

A disabled tenant-location keeps its key (its history stays visible in the UI) and its runs skip cleanly.
"""


from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, SkipReason, sensor

from cz_dagster.partitions import tenant_location
from cz_dagster.resources import StoreResource


def missing_keys(wanted: list[str], existing: list[str]) -> list[str]:
    have = set(existing)
    return sorted(k for k in wanted if k not in have)


@sensor(name="tenants", minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING,
        description="Adds a tenant_location partition for every enabled tenant-location in the control database.")
def tenants_sensor(context: SensorEvaluationContext, store: StoreResource) -> SensorResult | SkipReason:
    wanted = store.get().enabled_partition_keys()
    existing = context.instance.get_dynamic_partitions(tenant_location.name)
    new = missing_keys(wanted, existing)
    if not new:
        return SkipReason(f"all {len(wanted)} enabled tenant-locations have partitions")
    context.log.info(f"adding partitions: {', '.join(new)}")
    return SensorResult(dynamic_partitions_requests=[tenant_location.build_add_request(new)])
