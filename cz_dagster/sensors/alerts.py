"""Alerts by email: a run failure (one per run), records in error (at most one summary per tenant per hour),
a daily summary, a revoked Xero connection (once per pause), and a family that has not succeeded for a location
for two of its cycles (once per missed tick). Each alert is claimed in the control database
before it is sent, so a sensor evaluating twice never sends twice."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DefaultSensorStatus,
    RunFailureSensorContext,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)
from sqlalchemy import func, select

from cz_dagster.assets.reconciliation import CURSOR as RECONCILIATION_CURSOR
from cz_dagster.partitions import split_key
from cz_dagster.resources import StoreResource
from cz_dagster.resources.mailer import SmtpResource
from cz_dagster.resources.xero.tokens import XeroTokens
from cz_dagster.store import schema as s
from cz_dagster.store.alerts import Alerts
from cz_dagster.store.cursors import Cursors
from cz_dagster.store.db import Store, StoreError
from cz_dagster.store.ledger import errors_for_location
from cz_dagster.store.recipients import Recipients
from cz_dagster.store.schedules import Schedules
from cz_dagster.sync import emails
from cz_dagster.sync.schedule import DEFAULT_CRONS, ticks_back
from cz_dagster.sync.vocabulary import FAMILY_TABLE, JOB_FAMILY, SURFACE_FAMILY, family_of_asset

DAILY_HOUR = 7
FAMILY_ASSET = {name: AssetKey(f.freshness_asset.split("/")) for name, f in FAMILY_TABLE.items()}


def family_of(job_name: str, asset_keys: list[str]) -> str:
    """The family of a failed run: its job's, or for a materialization launched from the UI, its assets'."""
    if job_name in JOB_FAMILY:
        return JOB_FAMILY[job_name]
    families = sorted({family_of_asset(k) for k in asset_keys})
    return "+".join(families) if families else "force-sync"


def send_run_failure(store: Store, mailer: SmtpResource, run_id: str, partition: str | None, family: str,
                     error: str) -> bool:
    if not partition:
        return False
    try:
        tenant, location = split_key(partition)
        store.tenant(tenant)
    except (ValueError, StoreError):
        return False
    recipients = Recipients(store, tenant).all()
    if not recipients or not Alerts(store, tenant).claim("run_failure", run_id, recipients):
        return False
    mailer.send(emails.run_failure(tenant, location, family, error, f"{mailer.dagster_url}/runs/{run_id}"),
                recipients)
    return True


@run_failure_sensor(name="run_failure_alerts", default_status=DefaultSensorStatus.RUNNING,
                    description="Emails the tenant's recipients once per failed run, with the run's link.")
def run_failure_alerts(context: RunFailureSensorContext, store: StoreResource, mailer: SmtpResource) -> None:
    run = context.dagster_run
    error = context.failure_event.message or "the run failed"
    failed_steps = context.get_step_failure_events()
    for event in failed_steps:
        if event.event_specific_data and event.event_specific_data.error:
            error = event.event_specific_data.error.message.strip()
            break
    # a UI materialization has no family job: its assets (or the failed steps, named after them) tell
    keys = [k.to_user_string() for k in (run.asset_selection or [])] or [
        str(e.step_key).replace("__", "/") for e in failed_steps if e.step_key]
    send_run_failure(store.get(), mailer, run.run_id, run.tags.get("dagster/partition"),
                     family_of(run.job_name, keys), error)


def send_error_summaries(store: Store, mailer: SmtpResource, now: datetime) -> list[str]:
    sent = []
    for tenant in store.tenants():
        rows = [{"location": loc.slug, "surface": r.surface, "record": r.label or r.source_id, "error": r.last_error}
                for loc in store.locations(tenant.slug) for r in errors_for_location(store, tenant.slug, loc.slug)]
        recipients = Recipients(store, tenant.slug).all()
        if not rows or not recipients:
            continue
        last = Alerts(store, tenant.slug).last_sent("errors_hourly")
        if last is not None and now - last < timedelta(hours=1):
            continue
        if Alerts(store, tenant.slug).claim("errors_hourly", now.strftime("%Y-%m-%dT%H:%M"), recipients):
            mailer.send(emails.errors_summary(tenant.name, rows), recipients)
            sent.append(tenant.slug)
    return sent


def send_revoked(store: Store, mailer: SmtpResource) -> list[str]:
    sent = []
    for tenant in store.tenants():
        tokens = XeroTokens(store, tenant.slug)
        if tokens.status() != "paused":
            continue
        with store.tenant_engine(tenant.slug).connect() as conn:
            row = conn.execute(select(s.xero_connections.c.paused_at, s.xero_connections.c.paused_reason)
                               .where(s.xero_connections.c.id == tokens.connection_id)).first()
        recipients = Recipients(store, tenant.slug).all()
        key = row[0].isoformat() if row and row[0] else "paused"
        if recipients and Alerts(store, tenant.slug).claim("revoked", key, recipients):
            mailer.send(emails.connection_revoked(tenant.slug, (row[1] if row else None) or "revoked"), recipients)
            sent.append(tenant.slug)
    return sent


def books_of(store: Store, tenant: str) -> list[dict[str, Any]]:
    """Each location's last reconciliation (reports/reconciliation keeps its count as a cursor)."""
    out = []
    for loc in store.locations(tenant):
        raw = Cursors(store, tenant, loc.slug).get(RECONCILIATION_CURSOR)
        if raw:
            last = json.loads(raw)
            n = int(last.get("differences") or 0)
            out.append({"location": loc.slug, "checked": last.get("checked"),
                        "books": "agree" if n == 0 else f"{n} difference(s): see reports/reconciliation"})
    return out


def send_daily(store: Store, mailer: SmtpResource, now: datetime) -> list[str]:
    sent = []
    for tenant in store.tenants():
        local = now.astimezone(ZoneInfo(tenant.timezone))
        recipients = Recipients(store, tenant.slug).all()
        if local.hour < DAILY_HOUR or not recipients:
            continue
        day = local.date().isoformat()
        since = now - timedelta(days=1)
        table: dict[tuple[str, str], dict] = {}
        budget = []
        with store.tenant_engine(tenant.slug).connect() as conn:
            for loc, surface, state, n in conn.execute(
                    select(s.ledger.c.location, s.ledger.c.surface, s.ledger.c.state, func.count())
                    .where(s.ledger.c.updated_at >= since)
                    .group_by(s.ledger.c.location, s.ledger.c.surface, s.ledger.c.state)):
                family = SURFACE_FAMILY.get(surface)
                if family is None:  # a surface an earlier version wrote (e.g. payment_status): not a family
                    continue
                row = table.setdefault((loc, family), {"location": loc, "family": family, "moved": 0, "failed": 0})
                if state == "done":
                    row["moved"] += n
                elif state == "error":
                    row["failed"] += n
            for loc, n in conn.execute(select(s.sync_log.c.location, func.count())
                                       .where(s.sync_log.c.ts >= since, s.sync_log.c.system == "xero")
                                       .group_by(s.sync_log.c.location)):
                budget.append({"location": loc, "calls": n})
        errors = sum(len(errors_for_location(store, tenant.slug, loc.slug)) for loc in store.locations(tenant.slug))
        if Alerts(store, tenant.slug).claim("daily", day, recipients):
            moved = [table[k] for k in sorted(table)]
            mailer.send(emails.daily_summary(tenant.name, day, moved, errors, budget, books_of(store, tenant.slug)),
                        recipients)
            sent.append(tenant.slug)
    return sent


def send_stale(store: Store, mailer: SmtpResource, instance: DagsterInstance, now: datetime) -> list[str]:
    """A family that has not succeeded for a location since its second most recent tick raises one alert."""
    sent = []
    for tenant in store.tenants():
        recipients = Recipients(store, tenant.slug).all()
        if not tenant.enabled or not recipients:
            continue
        crons = {**DEFAULT_CRONS, **Schedules(store, tenant.slug).all()}
        with store.control.connect() as conn:
            created = dict(conn.execute(select(s.locations.c.slug, s.locations.c.created_at)
                                        .where(s.locations.c.tenant == tenant.slug)).all())
        for loc in store.locations(tenant.slug):
            if not loc.enabled:
                continue
            for family, cron in crons.items():
                since = ticks_back(cron, tenant.timezone, now, 2)
                if created.get(loc.slug) and created[loc.slug] > since:
                    continue  # too new to have missed two cycles
                records = instance.fetch_materializations(AssetRecordsFilter(
                    asset_key=FAMILY_ASSET[family], asset_partitions=[loc.partition_key],
                    after_timestamp=since.timestamp()), limit=1).records
                if records:
                    continue
                key = f"{family}:{loc.slug}:{since.isoformat()}"
                if Alerts(store, tenant.slug).claim("stale", key, recipients):
                    mailer.send(emails.stale(tenant.slug, loc.slug, family, since.isoformat(), cron), recipients)
                    sent.append(f"{loc.partition_key}:{family}")
    return sent


@sensor(name="alerts", minimum_interval_seconds=300, default_status=DefaultSensorStatus.RUNNING,
        description="Records in error (one email per tenant per hour at most), the daily summary, and revoked "
                    "Xero connections (one email per pause).")
def alerts_sensor(context: SensorEvaluationContext, store: StoreResource, mailer: SmtpResource) -> SkipReason:
    st, now = store.get(), datetime.now(UTC)
    sent = [f"errors:{t}" for t in send_error_summaries(st, mailer, now)]
    sent += [f"revoked:{t}" for t in send_revoked(st, mailer)]
    sent += [f"daily:{t}" for t in send_daily(st, mailer, now)]
    sent += [f"stale:{k}" for k in send_stale(st, mailer, context.instance, now)]
    return SkipReason(f"sent {', '.join(sent)}" if sent else "nothing to send")
