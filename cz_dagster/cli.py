"""The ``cz`` command: onboarding tenants, locations and credentials, connecting Xero, the sandbox, the log."""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
import webbrowser
from datetime import UTC, datetime, timedelta

import click

from cz_dagster.errors import CzError
from cz_dagster.store.db import Location, Store, StoreError
from cz_dagster.store.recipients import Recipients
from cz_dagster.store.schedules import Schedules
from cz_dagster.store.secrets import Secrets, rotate_keys
from cz_dagster.store.settings import Settings
from cz_dagster.store.synclog import SyncLog
from cz_dagster.sync import vocabulary
from cz_dagster.sync.vocabulary import LOG_SURFACES, Surface


def _store() -> Store:
    try:
        return Store(Settings.from_env())
    except (CzError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # database unreachable, bad URL: say which setting to look at
        raise click.ClickException(f"cannot open the store ({type(exc).__name__}: {exc}); check CZ_DATABASE_URL "
                                   "or CZ_DATA_DIR") from None


class _Group(click.Group):
    def invoke(self, ctx: click.Context):  # noqa: ANN201
        try:
            return super().invoke(ctx)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group)
def main() -> None:
    """cz_dagster: ConnectWise PSA <-> Xero sync. Configuration comes from CZ_DATA_DIR (SQLite, the default)
    or CZ_DATABASE_URL (PostgreSQL), and CZ_SECRET_KEYS."""


# -- tenants and locations -----------------------------------------------------------------------------------
@main.group(cls=_Group)
def tenant() -> None:
    """Tenants: one MSP's ConnectWise instance each, with its own database."""


@tenant.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="The MSP's name.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone for schedules.")
@click.option("--xero-api-url", default=None, help="Xero API base URL (default https://api.xero.com).")
@click.option("--xero-identity-url", default=None, help="Xero identity URL (default https://identity.xero.com).")
@click.option("--xero-login-url", default=None, help="Xero login URL (default https://login.xero.com).")
def tenant_add(slug: str, name: str, timezone: str, xero_api_url: str | None, xero_identity_url: str | None,
               xero_login_url: str | None) -> None:
    """Add a tenant and create its database."""
    _check_timezone(timezone)
    store = _store()
    t = store.add_tenant(slug, name, timezone=timezone, xero_api_url=xero_api_url,
                         xero_identity_url=xero_identity_url, xero_login_url=xero_login_url)
    click.echo(f"tenant {t.slug} added ({store.backend})")


@tenant.command("set")
@click.argument("slug")
@click.option("--enabled/--disabled", default=None, help="A disabled tenant syncs nothing (its history stays).")
@click.option("--timezone", default=None)
@click.option("--payroll-statuses", default=None,
              help="Comma-separated ConnectWise time entry statuses paid through Xero timesheets; 'default' for "
                   "ApprovedByTierTwo,ReadyToBill,Billed,BilledAgreement,WrittenOff.")
def tenant_set(slug: str, enabled: bool | None, timezone: str | None, payroll_statuses: str | None) -> None:
    """Change a tenant's settings."""
    from cz_dagster.sync.timesheets import TIME_STATUSES

    values: dict = {}
    if enabled is not None:
        values["enabled"] = enabled
    if timezone is not None:
        _check_timezone(timezone)
        values["timezone"] = timezone
    if payroll_statuses is not None:
        if payroll_statuses == "default":
            values["payroll_statuses"] = None
        else:
            chosen = [x.strip() for x in payroll_statuses.split(",") if x.strip()]
            unknown = [x for x in chosen if x not in TIME_STATUSES]
            if unknown or not chosen:
                raise click.BadParameter(f"unknown time entry status(es) {', '.join(unknown) or '(none)'}; "
                                         f"known: {', '.join(TIME_STATUSES)}", param_hint="--payroll-statuses")
            values["payroll_statuses"] = ",".join(chosen)
    if not values:
        raise click.UsageError("nothing to change: give --enabled/--disabled, --timezone or --payroll-statuses")
    t = _store().update_tenant(slug, **values)
    click.echo(f"tenant {t.slug}: {'enabled' if t.enabled else 'disabled'}, {t.timezone}, payroll statuses "
               f"{t.payroll_statuses or 'default'}")


def _connection(store: Store, tenant_slug: str) -> str:
    """The Xero connection's state in words: connected, paused (revoked), or not connected."""
    from cz_dagster.resources.xero.tokens import XeroTokens

    status = XeroTokens(store, tenant_slug).status()
    return {None: "not connected", "paused": "paused (reconnect with `cz xero connect`)"}.get(status, status or "")


def _location_view(loc: Location, tenant_timezone: str, connection: str) -> dict:
    return {"location": loc.slug, "partition": loc.partition_key, "name": loc.name, "enabled": loc.enabled,
            "connectwise_location_id": loc.cw_location_id, "xero_organisation": loc.xero_org_name,
            "xero_tenant_id": loc.xero_tenant_id, "timezone": loc.timezone or tenant_timezone,
            "timezone_from": "location" if loc.timezone else "tenant",
            "xero_connection": connection if loc.xero_tenant_id else "no Xero organisation"}


def _tenant_view(store: Store, slug: str) -> dict:
    from cz_dagster.sync.schedule import DEFAULT_CRONS

    t = store.tenant(slug)
    connection = _connection(store, slug)
    custom = Schedules(store, slug).all()
    creds = Secrets(store, slug).get("connectwise") or {}
    return {
        "tenant": t.slug, "name": t.name, "enabled": t.enabled, "timezone": t.timezone,
        "connectwise": {"site": t.cw_url, "company_id": t.cw_company_id, "codebase": t.cw_codebase,
                        "credentials": "set" if creds.get("private_key") else "not set"},
        "xero": {"connection": connection, "api_url": t.xero_api_url},
        "payroll_statuses": t.payroll_statuses or "default",
        "schedules": {f: {"cron": custom.get(f, c), "default": f not in custom} for f, c in DEFAULT_CRONS.items()},
        "alert_recipients": Recipients(store, slug).all(),
        "locations": [_location_view(loc, t.timezone, connection) for loc in store.locations(slug)],
    }


def _echo_locations(locations: list[dict]) -> None:
    for loc in locations:
        org = loc["xero_organisation"] or loc["xero_tenant_id"] or "(no Xero organisation)"
        state = "" if loc["enabled"] else "  DISABLED"
        click.echo(f"  {loc['partition']}\tCW location {loc['connectwise_location_id']}\t-> {org}\t"
                   f"{loc['timezone']} ({loc['timezone_from']})\tXero: {loc['xero_connection']}{state}")


@tenant.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def tenant_list(as_json: bool) -> None:
    """List tenants and their locations."""
    store = _store()
    views = [_tenant_view(store, t.slug) for t in store.tenants()]
    if as_json:
        click.echo(json.dumps(views, indent=2))
        return
    for v in views:
        click.echo(f"{v['tenant']}\t{v['name']}\t{'enabled' if v['enabled'] else 'disabled'}\t{v['timezone']}\t"
                   f"Xero: {v['xero']['connection']}")
        _echo_locations(v["locations"])


@tenant.command("show")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def tenant_show(slug: str, as_json: bool) -> None:
    """A tenant's settings: ConnectWise site, Xero connection, time zone, schedules, alert recipients and
    locations. Credentials are never shown, only whether they are set."""
    v = _tenant_view(_store(), slug)
    if as_json:
        click.echo(json.dumps(v, indent=2))
        return
    cw = v["connectwise"]
    click.echo(f"tenant {v['tenant']} ({v['name']}): {'enabled' if v['enabled'] else 'DISABLED'}, time zone "
               f"{v['timezone']}")
    click.echo(f"ConnectWise: {cw['site'] or '(no site)'} company {cw['company_id'] or '-'} codebase "
               f"{cw['codebase']}, credentials {cw['credentials']}")
    click.echo(f"Xero: {v['xero']['connection']} ({v['xero']['api_url']})")
    click.echo(f"payroll statuses: {v['payroll_statuses']}")
    for family, sch in v["schedules"].items():
        click.echo(f"schedule {family:<10} {sch['cron']}{' (default)' if sch['default'] else ''}")
    click.echo(f"alerts to: {', '.join(v['alert_recipients']) or '(nobody: cz notify set)'}")
    click.echo("locations:")
    _echo_locations(v["locations"])


def _check_timezone(tz: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"{tz!r} is not an IANA time zone (e.g. Australia/Adelaide)",
                                 param_hint="--timezone") from None


@main.group(cls=_Group)
def location() -> None:
    """Locations: a ConnectWise location and the Xero organisation it posts to."""


@location.command("add")
@click.option("--tenant", "tenant_slug", required=True)
@click.argument("slug")
@click.option("--name", required=True, help="Display name, e.g. Adelaide.")
@click.option("--cw-location-id", type=int, required=True, help="The ConnectWise location id.")
@click.option("--xero-tenant-id", default=None, help="The Xero organisation's tenant id, if known.")
@click.option("--xero-org", default=None, help="The Xero organisation's name (matched at `cz xero connect`).")
@click.option("--timezone", default=None,
              help="IANA time zone of the location's people (the day time entries count on); default: the tenant's.")
def location_add(tenant_slug: str, slug: str, name: str, cw_location_id: int, xero_tenant_id: str | None,
                 xero_org: str | None, timezone: str | None) -> None:
    """Add a location to a tenant."""
    if xero_tenant_id and not re.fullmatch(r"[0-9a-fA-F-]{36}", xero_tenant_id):
        raise click.BadParameter("a Xero tenant id is a UUID", param_hint="--xero-tenant-id")
    if timezone is not None:
        _check_timezone(timezone)
    store = _store()
    loc = store.add_location(tenant_slug, slug, name, cw_location_id, xero_tenant_id, xero_org, timezone=timezone)
    from cz_dagster.partitions import add_partitions_to_instance

    added = add_partitions_to_instance([loc.partition_key])
    click.echo(f"location {loc.partition_key} added" + (" (partition registered)" if added else ""))


@location.command("list")
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def location_list(tenant_slug: str, as_json: bool) -> None:
    """A tenant's locations: ConnectWise location id, Xero organisation, time zone, connection state."""
    store = _store()
    t = store.tenant(tenant_slug)
    connection = _connection(store, tenant_slug)
    views = [_location_view(loc, t.timezone, connection) for loc in store.locations(tenant_slug)]
    if as_json:
        click.echo(json.dumps(views, indent=2))
    else:
        _echo_locations(views)


@location.command("set")
@click.option("--tenant", "tenant_slug", required=True)
@click.argument("slug")
@click.option("--timezone", required=True,
              help="IANA time zone of the location's people (the day time entries count on).")
def location_set(tenant_slug: str, slug: str, timezone: str) -> None:
    """Change a location's settings."""
    _check_timezone(timezone)
    loc = _store().update_location(tenant_slug, slug, timezone=timezone)
    click.echo(f"location {loc.partition_key}: time zone {loc.timezone}")


# -- credentials ---------------------------------------------------------------------------------------------
@main.group(cls=_Group)
def connectwise() -> None:
    """ConnectWise API member credentials."""


@connectwise.command("credentials")
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--site", required=True, help="API site, e.g. https://api-au.myconnectwise.net")
@click.option("--company", required=True, help="ConnectWise company id (the login company).")
@click.option("--public-key", required=True)
@click.option("--private-key", required=True, prompt=True, hide_input=True, envvar="CZ_CW_PRIVATE_KEY",
              help="Prompted for when not given (or CZ_CW_PRIVATE_KEY).")
@click.option("--client-id", required=True, help="Your integration's clientId from developer.connectwise.com.")
@click.option("--codebase", default="v4_6_release/", show_default=True)
def cw_credentials(tenant_slug: str, site: str, company: str, public_key: str, private_key: str, client_id: str,
                   codebase: str) -> None:
    """Store (encrypted) ConnectWise credentials for a tenant."""
    if not re.match(r"^https?://", site):
        raise click.BadParameter("give the site as a URL, e.g. https://api-au.myconnectwise.net", param_hint="--site")
    store = _store()
    store.update_tenant(tenant_slug, cw_url=site.rstrip("/"), cw_company_id=company, cw_codebase=codebase)
    Secrets(store, tenant_slug).put(
        "connectwise", {"public_key": public_key, "private_key": private_key, "client_id": client_id})
    click.echo(f"ConnectWise credentials stored for {tenant_slug} (encrypted)")


@main.group(cls=_Group)
def xero() -> None:
    """Xero connection (OAuth 2.0)."""


@xero.command("connect")
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--location", "location_slug", default=None, help="Connect only this location.")
@click.option("--client-id", envvar="CZ_XERO_CLIENT_ID", required=True, help="Xero app client id (CZ_XERO_CLIENT_ID).")
@click.option("--client-secret", envvar="CZ_XERO_CLIENT_SECRET", required=True, prompt=True, hide_input=True,
              help="Xero app client secret (CZ_XERO_CLIENT_SECRET).")
@click.option("--port", default=0, type=int, help="Local callback port (0 = any free port); the app's redirect "
              "URI must allow http://127.0.0.1:PORT/callback.")
@click.option("--no-browser", is_flag=True, help="Print the URL instead of opening a browser.")
def xero_connect(tenant_slug: str, location_slug: str | None, client_id: str, client_secret: str, port: int,
                 no_browser: bool) -> None:
    """Authorize cz_dagster in Xero; resumes a paused connection."""
    from cz_dagster.resources.xero.connect import connect

    def open_url(url: str) -> None:
        click.echo(f"Open this URL to approve the connection:\n  {url}")
        if not no_browser:
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()

    store = _store()
    result = connect(store, tenant_slug, client_id=client_id, client_secret=client_secret, open_url=open_url,
                     location=location_slug, port=port)
    for slug, tid in result.assigned.items():
        click.echo(f"  {tenant_slug}__{slug} -> Xero organisation {tid}")
    for slug in result.unassigned_locations:
        click.echo(f"  {tenant_slug}__{slug}: no organisation of this grant matches; "
                   f"give --xero-tenant-id or --xero-org to the location", err=True)
    click.echo(f"Xero connected for {tenant_slug} ({len(result.organisations)} organisation(s))")


# -- schedules ----------------------------------------------------------------------------------------------
@main.group(cls=_Group)
def schedule() -> None:
    """Per-tenant schedules: a cron string per family (money, time, staff, reference)."""


@schedule.command("set")
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--family", required=True, help="money, time, staff or reference")
@click.option("--cron", required=True, help="Five cron fields in the tenant's time zone, e.g. '0 */6 * * *'.")
def schedule_set(tenant_slug: str, family: str, cron: str) -> None:
    """Set when a family runs for every location of the tenant."""
    from cz_dagster.sync.schedule import ScheduleError, check_cron, check_family

    try:
        family, cron = check_family(family), check_cron(cron)
    except ScheduleError as exc:
        raise click.BadParameter(str(exc)) from None
    store = _store()
    Schedules(store, tenant_slug).put(family, cron)
    click.echo(f"{tenant_slug} {family}: {cron} ({store.tenant(tenant_slug).timezone})")


@schedule.command("show")
@click.option("--tenant", "tenant_slug", required=True)
def schedule_show(tenant_slug: str) -> None:
    """Show each family's cron, its next run and whether it is the default."""
    from cz_dagster.sync.schedule import DEFAULT_CRONS, next_tick

    store = _store()
    tenant = store.tenant(tenant_slug)
    custom = Schedules(store, tenant_slug).all()
    for family, default in DEFAULT_CRONS.items():
        cron = custom.get(family, default)
        nxt = next_tick(cron, tenant.timezone, datetime.now(UTC))
        default_note = "(default)" if family not in custom else ""
        click.echo(f"{family:<10} {cron:<20} next {nxt:%Y-%m-%d %H:%M %Z}  {default_note}")


# -- force-sync -----------------------------------------------------------------------------------------------
@main.group(cls=_Group)
def sync() -> None:
    """Force a sync now, through the Dagster webserver (the same runs the UI launches)."""


@sync.command("now")
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--location", "location_slug", default=None, help="One location (default: all of the tenant's).")
@click.option("--family", default=None, help="money, time, staff or reference (default: all four).")
@click.option("--url", envvar="CZ_DAGSTER_URL", default="http://127.0.0.1:3000", show_default=True,
              help="The Dagster webserver (CZ_DAGSTER_URL).")
def sync_now(tenant_slug: str, location_slug: str | None, family: str | None, url: str) -> None:
    """Launch partition runs now; they queue behind a running one of the same tenant-location."""
    from urllib.parse import urlparse

    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

    from cz_dagster.sync.schedule import FAMILIES, ScheduleError, check_family

    try:
        families = [check_family(family)] if family else list(FAMILIES)
    except ScheduleError as exc:
        raise click.BadParameter(str(exc), param_hint="--family") from None
    store = _store()
    tenant_obj = store.tenant(tenant_slug)
    locations = [store.location(tenant_slug, location_slug)] if location_slug else store.locations(tenant_slug)
    if not tenant_obj.enabled or not any(loc.enabled for loc in locations):
        raise click.ClickException(f"{tenant_slug}: nothing enabled to sync")
    parsed = urlparse(url)
    client = DagsterGraphQLClient(parsed.hostname or "127.0.0.1", port_number=parsed.port,
                                  use_https=parsed.scheme == "https", path_prefix=parsed.path.rstrip("/"))
    for loc in (loc for loc in locations if loc.enabled):
        for fam in families:
            try:
                run_id = client.submit_job_execution(
                    FAMILIES[fam], repository_location_name="cz_dagster",
                    tags={"dagster/partition": loc.partition_key, "cz/family": fam, "cz/trigger": "cz sync now"})
            except DagsterGraphQLClientError as exc:
                raise click.ClickException(f"the Dagster webserver at {url} refused {fam} for "
                                           f"{loc.partition_key}: {exc}") from None
            except Exception as exc:  # connection refused and the like
                raise click.ClickException(f"cannot reach the Dagster webserver at {url}: {exc}") from None
            click.echo(f"{loc.partition_key} {fam}: run {run_id} queued ({url}/runs/{run_id})")


# -- notifications ------------------------------------------------------------------------------------------
@main.group(cls=_Group)
def notify() -> None:
    """Who gets the tenant's alert and summary emails."""


@notify.command("set")
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--email", "emails_", multiple=True, required=True, help="A recipient; repeat for several.")
def notify_set(tenant_slug: str, emails_: tuple[str, ...]) -> None:
    """Set the recipients (replaces the previous list)."""
    bad = [e for e in emails_ if not re.fullmatch(r"[^@\s,<>]+@[^@\s,<>]+\.[^@\s,<>]+", e)]
    if bad:
        raise click.BadParameter(f"not an email address: {', '.join(bad)}", param_hint="--email")
    Recipients(_store(), tenant_slug).replace(list(dict.fromkeys(emails_)))
    click.echo(f"{tenant_slug}: alerts go to {', '.join(dict.fromkeys(emails_))}")


# -- mappings -----------------------------------------------------------------------------------------------
MAP_KINDS = vocabulary.MAP_KINDS


@main.command("map")
@click.argument("kind", type=click.Choice(sorted(MAP_KINDS)))
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--location", "location_slug", required=True)
@click.option("--source", required=True, help="The ConnectWise side (see KIND).")
@click.option("--target", required=True, help="The Xero side (see KIND).")
def map_cmd(kind: str, tenant_slug: str, location_slug: str, source: str, target: str) -> None:
    """Set a mapping by hand: member, company, tax-code, work-type or location-tracking."""
    from cz_dagster.store.mappings import Mappings

    store = _store()
    store.location(tenant_slug, location_slug)
    mapping_kind, target_help = MAP_KINDS[kind].stored, MAP_KINDS[kind].target_help
    if kind in ("member", "company") and not re.fullmatch(r"[0-9a-fA-F-]{36}", target):
        raise click.BadParameter(f"{target_help} is a UUID", param_hint="--target")
    if kind == "member" and not source.isdigit():
        source = str(_member_id(store, tenant_slug, location_slug, source))
    if kind == "company" and not source.isdigit():
        raise click.BadParameter("give the ConnectWise company id (a number)", param_hint="--source")
    Mappings(store, tenant_slug, location_slug, mapping_kind).put(source, target, None, "manual")
    click.echo(f"{kind} {source} -> {target} mapped for {tenant_slug}__{location_slug}")


def _member_id(store: Store, tenant_slug: str, location_slug: str, identifier: str) -> int:
    from cz_dagster.resources.connectwise import ConnectWiseResource
    from cz_dagster.resources.recorder import CallRecorder

    client = ConnectWiseResource().client(store, tenant_slug, CallRecorder(store, tenant_slug, location_slug))
    try:
        found = client.get_all("system/members", surface=Surface.PAYROLL, conditions=f'identifier="{identifier}"')
    finally:
        client.close()
    if not found:
        raise click.BadParameter(f"no ConnectWise member has identifier {identifier!r}", param_hint="--source")
    return int(found[0]["id"])


# -- keys -----------------------------------------------------------------------------------------------------
@main.group(cls=_Group)
def keys() -> None:
    """Encryption keys for credentials and tokens."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored secret under the first key of CZ_SECRET_KEYS.

    Put the new key first and keep the old one after it (CZ_SECRET_KEYS=new,old), run this, then drop the old key.
    """
    store = _store()
    if store.settings.secret_keys is None or "," not in store.settings.secret_keys:
        raise click.ClickException("set CZ_SECRET_KEYS to 'new,old' (the new key first) before rotating")
    for tenant_slug, n in rotate_keys(store).items():
        click.echo(f"{tenant_slug}: {n} secret(s) re-encrypted under the new key")


# -- the sandbox ---------------------------------------------------------------------------------------------
@main.command()
@click.option("--cw-port", default=8801, show_default=True, type=int)
@click.option("--xero-port", default=8802, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--invoices-per-location", default=None, type=int, help="Demo size (default: a few hundred in all).")
@click.option("--no-register", is_flag=True, help="Serve only; do not register the demo tenant.")
def sandbox(cw_port: int, xero_port: int, host: str, invoices_per_location: int | None, no_register: bool) -> None:
    """Serve the ConnectWise and Xero simulators and register the demo tenant against them."""
    from cz_dagster.partitions import add_partitions_to_instance
    try:  # the simulators are a development and demo tool, installed beside the product, never in it
        from cz_sandbox import demo
        from cz_sandbox.connectwise import ConnectWiseSandboxConfig, create_connectwise_app
        from cz_sandbox.register import register_demo
        from cz_sandbox.runner import SandboxServer
        from cz_sandbox.xero import create_xero_app
    except ImportError:
        raise click.ClickException("the sandbox is not installed here (it is for development and demos): "
                                   "pip install -e ./sandbox, or run `make demo`") from None

    cw_config = ConnectWiseSandboxConfig()
    if invoices_per_location is not None:
        cw_config.invoices_per_location = {slug: invoices_per_location for slug in demo.LOCATIONS}
    try:
        cw_server = SandboxServer(create_connectwise_app(cw_config), host=host, port=cw_port).start()
        xero_server = SandboxServer(create_xero_app(), host=host, port=xero_port).start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen: {exc}") from None
    click.echo(f"ConnectWise sandbox: {cw_server.url}\nXero sandbox:        {xero_server.url}")
    if not no_register:
        store = _store()
        result = register_demo(store, cw_server.url, xero_server.url)
        keys = [f"{demo.TENANT}__{slug}" for slug in result.assigned]
        add_partitions_to_instance(keys)
        click.echo(f"demo tenant registered in the {store.backend} store: partitions {', '.join(keys)}")
    click.echo("serving; Ctrl-C to stop")
    # SIGTERM (what `make demo`'s trap and process managers send) stops it as cleanly as Ctrl-C; the mask is
    # cleared because a blocked signal mask is inherited from whatever started this process
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        cw_server.stop()
        xero_server.stop()


# -- the sync log --------------------------------------------------------------------------------------------
def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    m = re.fullmatch(r"(\d+)([smhd])", value)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return datetime.now(UTC) - timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: n})
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: give an ISO time (2026-11-25T08:00) or an age (30m, 2h, 7d)") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@main.command("log")
@click.option("--tenant", "tenant_slug", required=True)
@click.option("--location", "location_slug", default=None)
@click.option("--surface", default=None, help=", ".join(LOG_SURFACES))
@click.option("--since", default=None, help="ISO time or age such as 2h.")
@click.option("--until", default=None, help="ISO time or age.")
@click.option("--limit", default=50, show_default=True, type=int)
@click.option("--full", is_flag=True, help="Show the (redacted) request and response bodies.")
@click.option("--json", "as_json", is_flag=True)
def log_cmd(tenant_slug: str, location_slug: str | None, surface: str | None, since: str | None, until: str | None,
            limit: int, full: bool, as_json: bool) -> None:
    """Read the sync log of a tenant."""
    store = _store()
    store.tenant(tenant_slug)
    if location_slug:
        store.location(tenant_slug, location_slug)
    entries = SyncLog(store, tenant_slug).read(location=location_slug, surface=surface, since=_since(since),
                                                until=_since(until), limit=limit)
    if as_json:
        json.dump([{**e.__dict__, "ts": e.ts.isoformat()} for e in entries], sys.stdout, indent=1)
        click.echo()
        return
    for e in entries:
        click.echo(f"{e.ts:%Y-%m-%d %H:%M:%S} {e.location:<12} {e.surface:<10} {e.system:<11} {e.method:<6} "
                   f"{e.status if e.status is not None else '---'} {e.duration_ms or 0:>5}ms {e.url}"
                   + (f"  ERROR {e.error}" if e.error else ""))
        if full:
            click.echo(f"    request:  {e.request}\n    response: {(e.response or '')[:2000]}")


if __name__ == "__main__":
    main()
