"""Per-tenant schedules: which cron tick of which family is due. Pure logic (croniter)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from cz_dagster.errors import RunFailure
from cz_dagster.sync.vocabulary import DEFAULT_CRONS, FAMILIES  # noqa: F401 - re-exported: spelled there


class ScheduleError(RunFailure, ValueError):
    """An invalid family or cron string, said plainly."""


def check_cron(cron: str) -> str:
    cron = " ".join(cron.split())
    if len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise ScheduleError(f"{cron!r} is not a valid cron string: give five fields, minute hour day-of-month month "
                            "day-of-week, e.g. '0 */6 * * *' for every six hours")
    return cron


def check_family(family: str) -> str:
    if family not in FAMILIES:
        raise ScheduleError(f"unknown family {family!r}: one of {', '.join(FAMILIES)}")
    return family


def latest_tick(cron: str, timezone: str, now: datetime) -> datetime:
    """The most recent tick at or before ``now``, in the tenant's time zone (so '0 2 * * *' is 2am there)."""
    local_now = now.astimezone(ZoneInfo(timezone))
    # a second past now, so that a tick falling exactly on now counts as due
    return croniter(cron, local_now + timedelta(seconds=1)).get_prev(datetime)


def run_key(family: str, partition_key: str, tick: datetime) -> str:
    return f"{family}:{partition_key}:{tick.isoformat()}"


def next_tick(cron: str, timezone: str, now: datetime) -> datetime:
    return croniter(cron, now.astimezone(ZoneInfo(timezone))).get_next(datetime)


def ticks_back(cron: str, timezone: str, now: datetime, n: int) -> datetime:
    """The n-th most recent tick (n=1 is the latest): a family is stale when it has not succeeded since the
    second most recent tick, i.e. for two of its cycles."""
    it = croniter(cron, now.astimezone(ZoneInfo(timezone)) + timedelta(seconds=1))
    tick = it.get_prev(datetime)
    for _ in range(n - 1):
        tick = it.get_prev(datetime)
    return tick
