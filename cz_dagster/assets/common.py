"""What every sync asset does around its flow: resolve the partition to a tenant-location, skip cleanly when
it is disabled, open the clients, and turn the outcome into metadata and an in-error check."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from cz_dagster.errors import ApiError, CzError, Retryable
from cz_dagster.partitions import split_key, tenant_location
from cz_dagster.resources.connectwise import ConnectWiseClient, ConnectWiseResource
from cz_dagster.resources.recorder import CallRecorder
from cz_dagster.resources.store import StoreResource
from cz_dagster.resources.xero import XeroClient, XeroResource, no_organisation_message
from cz_dagster.resources.xero.tokens import XeroTokens
from cz_dagster.store.crypto import SecretKeyError
from cz_dagster.store.db import Location, Store, StoreError, Tenant
from cz_dagster.store.leases import FlowLease, busy_message
from cz_dagster.store.ledger import errors_for_location
from cz_dagster.store.secrets import Secrets
from cz_dagster.sync.redact import redact_text
from cz_dagster.sync.vocabulary import family_of_asset


@dataclass
class SyncScope:
    store: Store
    tenant: Tenant
    location: Location
    recorder: CallRecorder
    run_id: str
    disabled: bool = False
    skip_reason: str = ""
    _cw: ConnectWiseClient | None = None

    @property
    def org_label(self) -> str:
        """The Xero organisation as run metadata names it."""
        return self.location.xero_org_name or str(self.location.xero_tenant_id)
    _xero: XeroClient | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    lease: FlowLease | None = None  # every write checks it through the recorder's guard (sync_scope)


def resolve(store: Store, partition_key: str) -> tuple[Tenant, Location]:
    tenant_slug, location_slug = split_key(partition_key)
    return store.tenant(tenant_slug), store.location(tenant_slug, location_slug)


def remember_tenant_secrets(recorder: CallRecorder, store: Store, tenant: str) -> None:
    """Every credential of the tenant, known to the redaction from the first call on: an API may quote back
    the other system's secret too, before that system's client (which adds its own) exists."""
    try:
        creds = Secrets(store, tenant).get("connectwise") or {}
        recorder.add_secret(*(str(v) for k, v in creds.items() if k in ("public_key", "private_key") and v))
        connection = XeroTokens(store, tenant).load()
        recorder.add_secret(connection.client_secret, *(str(connection.token.get(k) or "") for k in
                                                        ("access_token", "refresh_token", "id_token")))
    except (StoreError, SecretKeyError):  # XeroNotConnected is a StoreError
        pass  # nothing (more) to know; the flow reports what is missing


@contextmanager
def sync_scope(context: AssetExecutionContext, store: Store, flow: str | None = None) -> Iterator[SyncScope]:
    """The scope of a run; ``disabled`` when the tenant or location is (the run then records a clean skip).
    A writer names its ``flow``: the scope then holds that flow's lease for the tenant-location (store.leases),
    and when another run holds it -- whoever started that one -- this run is a clean skip that says so.
    Infrastructure failures become a Dagster Failure with a message a person can act on, with the tenant's
    secrets masked: an API's error may quote them, and the message reaches the event log and the emails."""
    try:
        tenant, location = resolve(store, context.partition_key)
    except (StoreError, ValueError) as exc:
        raise Failure(description=str(exc)) from None
    if tenant.enabled and location.enabled and not location.xero_tenant_id:
        raise Failure(description=no_organisation_message(tenant.slug, location.slug))
    recorder = CallRecorder(store, tenant.slug, location.slug, context.run.run_id)
    remember_tenant_secrets(recorder, store, tenant.slug)
    reason = "" if tenant.enabled and location.enabled else "tenant or location disabled"
    if not reason and XeroTokens(store, tenant.slug).status() == "paused":
        # the run that met the revocation failed and alerted; until `cz xero connect`, runs skip quietly
        reason = XeroTokens(store, tenant.slug).paused_message("revoked")
    lease = None
    if not reason and flow is not None:
        lease = FlowLease(store, tenant.slug, location.slug, flow, context.run.run_id)
        holder = lease.acquire()
        if holder is not None:
            reason = busy_message(flow, location.slug, holder)
            context.log.warning(f"{context.partition_key}: {reason}")
            lease = None
    if lease is not None:
        recorder.guard = lease.check  # every write of the run first checks the run still holds the flow
    scope = SyncScope(store, tenant, location, recorder, context.run.run_id, disabled=bool(reason),
                      skip_reason=reason, lease=lease)
    try:
        yield scope
        # retention: payloads past CZ_SYNC_LOG_RETENTION_DAYS go, a little at a time, with every run
        recorder.log.purge(store.settings.sync_log_retention_days)
    except (ApiError, Retryable) as exc:  # an API's words: say which tenant-location met them
        raise Failure(description=redact_text(f"{context.partition_key}: {exc}", recorder.secrets),
                      metadata=recorder.summary()) from None
    except CzError as exc:  # the product's own message, which names the tenant and location already
        raise Failure(description=redact_text(str(exc), recorder.secrets), metadata=recorder.summary()) from None
    finally:
        if scope._cw is not None:
            scope._cw.close()
        if lease is not None:
            lease.release()


def connectwise(scope: SyncScope, resource: ConnectWiseResource) -> ConnectWiseClient:
    if scope._cw is None:
        scope._cw = resource.client(scope.store, scope.tenant.slug, scope.recorder)
    return scope._cw


def xero(scope: SyncScope, resource: XeroResource) -> XeroClient:
    if scope._xero is None:
        scope._xero = resource.client(scope.store, scope.tenant.slug, scope.location.xero_tenant_id,
                                      scope.location.slug, scope.recorder)
    return scope._xero


def skipped_result(context: AssetExecutionContext, scope: SyncScope, surfaces: Sequence[str]) -> MaterializeResult:
    """A disabled tenant-location: nothing is called, and the run says so instead of failing."""
    context.log.info(f"{context.partition_key}: nothing synced: {scope.skip_reason}")
    check = in_error_check(scope.store, scope.tenant.slug, scope.location.slug, surfaces)
    return MaterializeResult(metadata={"skipped_reason": scope.skip_reason, "posted": 0, "failed": 0},
                             check_results=[check])


@dataclass
class FlowOutcome:
    """What a writer's flow hands back: the record-level errors (ledger key -> message) and its own metadata."""

    errors: dict[Any, str]
    metadata: dict[str, Any]


FlowBody = Callable[[SyncScope, ConnectWiseResource, "XeroResource | None", Any], FlowOutcome]


def writer_asset(key: AssetKey, *, flow: str, check: str, description: str, deps: Sequence[AssetKey] = (),
                 surfaces: Sequence[str] = (), uses_xero: bool = True) -> Callable[[FlowBody], AssetsDefinition]:
    """The asset of every flow that writes to ConnectWise or Xero, around its body ``(scope, connectwise, xero,
    log) -> FlowOutcome``: partitioned by tenant-location, grouped by its family (sync/vocabulary.py), both
    systems as kinds, and the common tail -- the scope holding the ``flow``'s lease, the clean skip of a disabled
    or paused tenant-location or of a run that found the flow busy, the Xero organisation and call counts in the
    metadata, each error logged, and the ``nothing_in_error`` check of the ``surfaces`` (default: the flow's)."""
    watched = tuple(surfaces) or (flow,)

    def decorate(body: FlowBody) -> AssetsDefinition:
        def run(context: AssetExecutionContext, store: StoreResource, connectwise_api: ConnectWiseResource,
                xero_api: XeroResource | None) -> MaterializeResult:
            with sync_scope(context, store.get(), flow=flow) as scope:
                if scope.disabled:
                    return skipped_result(context, scope, watched)
                outcome = body(scope, connectwise_api, xero_api, context.log)
                metadata = {"xero_organisation": scope.org_label} if uses_xero else {}
                metadata.update(outcome.metadata)
                metadata.update(scope.recorder.summary())
                return writer_result(context, scope, outcome.errors, metadata, watched)

        if uses_xero:
            def compute(context: AssetExecutionContext, store: StoreResource, connectwise_api: ConnectWiseResource,
                        xero_api: XeroResource) -> MaterializeResult:
                return run(context, store, connectwise_api, xero_api)
        else:
            def compute(context: AssetExecutionContext, store: StoreResource,  # type: ignore[misc]
                        connectwise_api: ConnectWiseResource) -> MaterializeResult:
                return run(context, store, connectwise_api, None)
        compute.__name__, compute.__doc__ = body.__name__, body.__doc__
        # Dagster reads the resources from the annotations; this module's are strings (postponed), so real types
        compute.__annotations__ = {"context": AssetExecutionContext, "store": StoreResource,
                                   "connectwise_api": ConnectWiseResource, "return": MaterializeResult,
                                   **({"xero_api": XeroResource} if uses_xero else {})}
        return asset(key=key, group_name=family_of_asset(key.to_user_string()), partitions_def=tenant_location,
                     kinds={"connectwise", "xero"}, deps=list(deps), description=description,
                     check_specs=[AssetCheckSpec("nothing_in_error", asset=key, description=check)])(compute)

    return decorate


def writer_result(context: AssetExecutionContext, scope: SyncScope, errors: dict[Any, str],
                  metadata: dict[Any, Any], surfaces: Sequence[str]) -> MaterializeResult:
    """How every writer ends: each record-level error logged, the errors tabled in the metadata, and the
    in-error check of this tenant-location's surfaces."""
    errors = {k: redact_text(m, scope.recorder.secrets) for k, m in errors.items()}
    for message in errors.values():
        context.log.warning(message)
    metadata.setdefault("errors", md_table([{"error": m} for m in errors.values()], ["error"]))
    check = in_error_check(scope.store, scope.tenant.slug, scope.location.slug, surfaces)
    return MaterializeResult(metadata=metadata, check_results=[check])


def md_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], limit: int = 100) -> MetadataValue:
    if not rows:
        return MetadataValue.md("_nothing moved_")

    def cell(v: Any) -> str:
        return str("" if v is None else v).replace("|", "\\|").replace("\n", " ")[:120]

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"\n_and {len(rows) - limit} more_")
    return MetadataValue.md("\n".join(lines))


def in_error_check(store: Store, tenant: str, location: str, surfaces: Sequence[str],
                   check_name: str = "nothing_in_error", asset_key: Any = None) -> AssetCheckResult:
    rows = [r for r in errors_for_location(store, tenant, location) if r.surface in surfaces]
    table = md_table([{"record": r.label or r.source_id, "surface": r.surface, "error": r.last_error}
                      for r in rows], ["record", "surface", "error"], limit=50)
    return AssetCheckResult(check_name=check_name, asset_key=asset_key, passed=not rows,
                            severity=AssetCheckSeverity.ERROR,
                            metadata={"in_error": len(rows), "records": table})
