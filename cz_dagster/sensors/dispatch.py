"""``sync_dispatcher``: per tenant-location and family, the tenant's cron (in its time zone) decides when a
partition run is requested. The run key names the tick, so each tick runs exactly once however many times the
sensor evaluates; a disabled tenant or location, or a paused Xero connection, requests nothing."""

from datetime import UTC, datetime

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from cz_dagster.jobs import all_jobs
from cz_dagster.partitions import tenant_location
from cz_dagster.resources import StoreResource
from cz_dagster.resources.xero.tokens import XeroTokens
from cz_dagster.store.schedules import Schedules
from cz_dagster.sync.schedule import DEFAULT_CRONS, FAMILIES, latest_tick, run_key


def due_requests(store, now: datetime, since: datetime | None = None  # noqa: ANN001
                 ) -> tuple[list[RunRequest], list[str]]:
    """Run requests for the ticks in (since, now]: the latest tick of each family, if it fell after ``since``
    (so a tick missed while the daemon was down runs once, and a brand-new sensor does not replay history)."""
    requests, skipped = [], []
    for tenant in store.tenants():
        if not tenant.enabled:
            skipped.append(f"{tenant.slug}: disabled")
            continue
        if XeroTokens(store, tenant.slug).status() == "paused":
            skipped.append(f"{tenant.slug}: Xero connection paused")
            continue
        crons = {**DEFAULT_CRONS, **Schedules(store, tenant.slug).all()}
        for location in store.locations(tenant.slug):
            if not location.enabled:
                skipped.append(f"{location.partition_key}: disabled")
                continue
            for family, job in FAMILIES.items():
                tick = latest_tick(crons[family], tenant.timezone, now)
                if since is not None and tick <= since:
                    continue
                requests.append(RunRequest(job_name=job, partition_key=location.partition_key,
                                           run_key=run_key(family, location.partition_key, tick),
                                           tags={"cz/family": family, "cz/tenant": tenant.slug,
                                                 "cz/location": location.slug, "cz/tick": tick.isoformat()}))
    return requests, skipped


@sensor(name="sync_dispatcher", minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING,
        jobs=all_jobs, description="Requests each tenant-location's family runs at the tenant's cron ticks.")
def sync_dispatcher(context: SensorEvaluationContext, store: StoreResource) -> SensorResult | SkipReason:
    now = datetime.now(UTC)
    if context.cursor is None:  # first evaluation: start from now rather than replaying past ticks
        context.update_cursor(now.isoformat())
        return SkipReason("dispatcher started; the next cron ticks will be requested as they come")
    requests, skipped = due_requests(store.get(), now, datetime.fromisoformat(context.cursor))
    context.update_cursor(now.isoformat())
    registered = set(context.instance.get_dynamic_partitions(tenant_location.name))
    waiting = {r.partition_key for r in requests if r.partition_key not in registered}
    requests = [r for r in requests if r.partition_key in registered]
    skipped += [f"{key}: partition not registered yet (the tenants sensor adds it)" for key in sorted(waiting)]
    for reason in skipped:
        context.log.info(f"not dispatching {reason}")
    if not requests:
        return SkipReason("no tick is due" + (": " + "; ".join(skipped) if skipped else ""))
    return SensorResult(run_requests=requests)
