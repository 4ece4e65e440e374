"""Xero client on the official xero-python SDK.

The SDK is pointed at configurable base URLs (the sandbox or api.xero.com). Around it this module adds what
the SDK lacks: refresh of rotating tokens under a database lock, with the new token persisted before use;
pacing from the rate-limit headers; retries of 429, 5xx and dropped connections (tenacity); a revoked
connection paused cleanly; and every request and response written to the sync log, redacted.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

import urllib3
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient
from xero_python.api_client.configuration import Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.exceptions import ApiException, HTTPStatusException, RateLimitException
from xero_python.payrollau import PayrollAuApi

from cz_dagster.errors import ApiError, Deferred
from cz_dagster.resources.recorder import CallRecorder
from cz_dagster.resources.retry import RetryPolicy, TransientError, parse_retry_after
from cz_dagster.resources.xero.pacer import XeroPacer
from cz_dagster.resources.xero.tokens import XeroConnection, XeroConnectionPaused, XeroTokens
from cz_dagster.store.db import Store
from cz_dagster.sync.vocabulary import Surface

T = TypeVar("T")
SDK_TOKEN_FIELDS = ("access_token", "scope", "expires_in", "token_type", "expires_at", "refresh_token", "id_token")


class XeroApiError(ApiError):
    """A Xero answer that is neither success nor transient; ``data`` is the parsed JSON body when there is one."""

    def __init__(self, status: int | None, message: str, data: Any = None):
        super().__init__(message)
        self.status, self.data = status, data


class XeroMalformedAnswer(XeroApiError):
    """A success status with a body that is not what the API promises (not JSON, fields of the wrong type):
    whatever the call may have written is unknown, so the caller treats it as an answer never heard."""


class XeroDailyLimitReached(Deferred):
    """The organisation's daily call budget is spent: stop cleanly, the rest waits for tomorrow's runs."""


def _sdk_token(token: dict[str, Any]) -> dict[str, Any]:
    out = {k: token.get(k) for k in SDK_TOKEN_FIELDS}
    if isinstance(out.get("scope"), str):
        out["scope"] = out["scope"].split()
    return out


def _headers(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    return {str(k).lower(): str(v) for k, v in dict(raw).items()}


def _body_json(raw: Any) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (ValueError, TypeError):
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


class _LockedOAuth2Token(OAuth2Token):
    """The SDK refreshes inside ``create_auth_settings``; this routes every refresh through the locked store."""

    def __init__(self, owner: XeroClient, client_id: str, client_secret: str):
        super().__init__(client_id=client_id, client_secret=client_secret)
        self._owner = owner

    def refresh_access_token(self, api_client: ApiClient) -> bool:
        self._owner.refresh(stale_access_token=self.access_token)
        self.update_token(**_sdk_token(self._owner.connection.token))
        return True


class _LoggingApiClient(ApiClient):
    """Every HTTP exchange of the SDK passes here: pacing before, sync log and rate-limit headers after."""

    def __init__(self, owner: XeroClient, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._owner = owner
        # The SDK's urllib3 pool would silently re-send a PUT after a read error; retries are ours, counted.
        self.rest_client.pool_manager.connection_pool_kw["retries"] = False

    def request(self, method, url, query_params=None, headers=None, post_params=None, body=None,  # noqa: ANN001, ANN201
                _preload_content=True, _request_timeout=None):
        owner = self._owner
        is_token_call = url.startswith(f"{owner.identity_url}/connect/")
        slot = None if is_token_call else owner.before_call()
        try:
            return self._request(method, url, query_params, headers, post_params, body, _preload_content,
                                 _request_timeout, is_token_call)
        finally:
            if slot is not None:
                owner.pacer.release(slot)

    def _request(self, method, url, query_params, headers, post_params, body,  # noqa: ANN001, ANN202
                 _preload_content, _request_timeout, is_token_call: bool):
        owner = self._owner
        full_url = url + ("?" + urlencode(query_params) if query_params else "")
        request_body = body if body is not None else (dict(post_params) if post_params else None)
        system = "identity" if is_token_call else "xero"
        started = time.monotonic()
        entry = owner.recorder.begin(system=system, surface=owner.surface, method=method, url=full_url,
                                     request=request_body)
        try:
            response = super().request(method, url, query_params=query_params, headers=headers,
                                       post_params=post_params, body=body, _preload_content=_preload_content,
                                       _request_timeout=_request_timeout or owner.timeout)
        except ApiException as exc:
            owner.recorder.record(system=system, surface=owner.surface, method=method, url=full_url,
                                  status=exc.status, duration_ms=int((time.monotonic() - started) * 1000),
                                  request=request_body, response=exc.body, entry_id=entry)
            raise
        except urllib3.exceptions.HTTPError as exc:
            owner.recorder.record(system=system, surface=owner.surface, method=method, url=full_url, status=None,
                                  duration_ms=int((time.monotonic() - started) * 1000), request=request_body,
                                  error=f"{type(exc).__name__}: {exc}", entry_id=entry)
            raise TransientError(f"Xero {method} {url}: connection failed ({type(exc).__name__})") from exc
        owner.recorder.record(system=system, surface=owner.surface, method=method, url=full_url,
                              status=response.status, duration_ms=int((time.monotonic() - started) * 1000),
                              request=request_body, response=getattr(response, "data", None), entry_id=entry)
        if not is_token_call:
            owner.after_call(_headers(response.getheaders()))
        return response

    def deserialize(self, response, response_type, response_model_finder):  # noqa: ANN001, ANN201
        """The SDK falls back to the raw text when a body is not JSON and then fails somewhere inside its models
        (a KeyError, an AttributeError); here such an answer is one clear error naming what came back."""
        if response_type == "file":
            return super().deserialize(response, response_type, response_model_finder)
        what = f"Xero answered {response.status} to {self._owner.surface} with a malformed body"
        text = getattr(response, "data", b"") or b""
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        try:
            data = json.loads(text) if text.strip() else None
        except ValueError:
            raise XeroMalformedAnswer(response.status, f"{what} (not JSON): {text[:120]!r}") from None
        if response_type and data is not None and not isinstance(data, dict):
            raise XeroMalformedAnswer(response.status, f"{what} (not a JSON object): {text[:120]!r}")
        try:
            return super().deserialize(response, response_type, response_model_finder)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise XeroMalformedAnswer(response.status, f"{what} ({type(exc).__name__}: {exc}): "
                                                       f"{text[:120]!r}") from None


class XeroClient:
    """One Xero organisation (tenant id) of one cz tenant's connection, for one run."""

    def __init__(self, *, store: Store, tenant: str, xero_tenant_id: str, api_url: str, identity_url: str,
                 recorder: CallRecorder, retry: RetryPolicy, timeout: float = 60.0, minute_budget: int = 55,
                 day_reserve: int = 0, connection_id: str = "default", minute_window: float = 60.0,
                 max_in_flight: int = 5):
        self.store, self.tenant, self.xero_tenant_id = store, tenant, xero_tenant_id
        self.api_url, self.identity_url = api_url.rstrip("/"), identity_url.rstrip("/")
        self.recorder, self.retry, self.timeout = recorder, retry, timeout
        self.minute_budget, self.day_reserve, self.minute_window = minute_budget, day_reserve, minute_window
        self.tokens = XeroTokens(store, tenant, connection_id)
        self.connection: XeroConnection = self.tokens.load(allow_paused=False)
        self._remember_secrets()
        self.surface: str = Surface.INVOICES
        self.pacer = XeroPacer(store, tenant, xero_tenant_id, budget=minute_budget, window=minute_window,
                               max_in_flight=max_in_flight, lease=timeout + 60)
        self.day_remaining: int | None = None
        self.minute_remaining: int | None = None
        oauth = _LockedOAuth2Token(self, self.connection.client_id, self.connection.client_secret)
        # The SDK's Configuration is a "default singleton": Configuration(oauth2_token=...) returns a shallow copy
        # of the FIRST instance ever made in the process and ignores its arguments, so every client would share
        # the first client's token object (another tenant's, in a long-lived process). Set it on the copy.
        configuration = Configuration()
        configuration.oauth2_token = oauth
        self.api_client = _LoggingApiClient(self, configuration, pool_threads=1,
                                            oauth2_token_getter=lambda: _sdk_token(self.connection.token),
                                            oauth2_token_saver=lambda _token: None)
        self.accounting = AccountingApi(self.api_client, base_url=f"{self.api_url}/api.xro/2.0")
        self.payroll = PayrollAuApi(self.api_client, base_url=f"{self.api_url}/payroll.xro/1.0")

    def _remember_secrets(self) -> None:
        tok = self.connection.token
        self.recorder.add_secret(tok.get("access_token"), tok.get("refresh_token"), tok.get("id_token"),
                                 self.connection.client_secret)

    # -- tokens ----------------------------------------------------------------------------------------------
    def refresh(self, stale_access_token: str | None) -> None:
        """Refresh under the database lock; ``invalid_grant`` pauses the connection and stops the run."""

        def do_refresh(current: XeroConnection) -> dict[str, Any]:
            sdk = OAuth2Token(client_id=current.client_id, client_secret=current.client_secret)
            sdk.update_token(**_sdk_token(current.token))
            token_api = TokenApi(self.api_client, current.client_id, current.client_secret)
            token_api.refresh_token_url = f"{self.identity_url}/connect/token"
            try:
                return sdk.fetch_access_token(token_api)
            except ApiException as exc:
                body = exc.body or b""
                if b"invalid_grant" in (body if isinstance(body, bytes) else str(body).encode()):
                    raise XeroConnectionPaused(self.tokens.paused_message("refresh token revoked or expired")) from None
                if exc.status and (exc.status >= 500 or exc.status == 429):
                    raise TransientError(f"Xero token refresh answered {exc.status}", status=exc.status) from None
                raise XeroApiError(exc.status, f"Xero token refresh failed with {exc.status}") from None

        previous_surface, self.surface = self.surface, Surface.AUTH
        try:
            with self.recorder.hold():
                self.connection = self.tokens.refresh(stale_access_token, do_refresh)
        except XeroConnectionPaused as exc:
            self.tokens.pause("refresh token revoked or expired (invalid_grant)")
            raise XeroConnectionPaused(str(exc)) from None
        finally:
            self.surface = previous_surface
        self._remember_secrets()

    def _ensure_token(self) -> None:
        if not self.connection.fresh():
            self.refresh(stale_access_token=self.connection.access_token)

    # -- pacing ----------------------------------------------------------------------------------------------
    def before_call(self) -> int:
        """Stop once Xero says the day's budget is spent; otherwise wait for a slot of the organisation's shared
        pace (calls in flight and per window, across every run and process of the tenant): its id."""
        if self.day_remaining is not None and self.day_remaining <= self.day_reserve:
            raise XeroDailyLimitReached(f"Xero organisation {self.xero_tenant_id}: daily call budget spent")
        return self.pacer.acquire()

    def after_call(self, headers: dict[str, str]) -> None:
        for name, attr in (("x-daylimit-remaining", "day_remaining"), ("x-minlimit-remaining", "minute_remaining")):
            if name in headers:
                with contextlib.suppress(ValueError):
                    setattr(self, attr, int(headers[name]))

    # -- calls -----------------------------------------------------------------------------------------------
    def call(self, surface: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call an SDK method for this organisation with retries; the same arguments (and so the same
        Idempotency-Key) are sent on every attempt."""
        self.surface = surface
        refreshed = False
        for attempt in self.retry.retrying(on_retry=lambda _e: self.recorder.retried("xero")):
            with attempt:
                self._ensure_token()
                try:
                    return fn(self.xero_tenant_id, *args, **kwargs)
                except RateLimitException as exc:
                    headers = _headers(exc.headers)
                    problem = (headers.get("x-rate-limit-problem") or "").lower()
                    if problem == "day":
                        raise XeroDailyLimitReached(
                            f"Xero organisation {self.xero_tenant_id}: daily call limit reached") from None
                    retry_after = parse_retry_after(headers.get("retry-after"))
                    if retry_after is None:
                        retry_after = 1.0 if problem in ("concurrent", "") else None
                    if problem == "minute":  # every run of the organisation waits, and all keep a lower pace
                        self.pacer.throttled(retry_after)
                    raise TransientError(f"Xero 429 ({problem or 'unspecified'} limit)", status=429,
                                         retry_after=retry_after) from None
                except HTTPStatusException as exc:
                    status = exc.status or 0
                    data = _body_json(exc.body)
                    if status == 401 and not refreshed:
                        # only a refresh that succeeded counts: a refresh that itself failed transiently (a 503,
                        # a lost answer) must be tried again on the next attempt, not turn the next 401 fatal
                        self.refresh(stale_access_token=self.connection.access_token)
                        refreshed = True
                        raise TransientError("Xero 401: access token refreshed", status=401, retry_after=0) from None
                    if status >= 500:
                        raise TransientError(f"Xero answered {status}", status=status) from None
                    raise XeroApiError(status, f"Xero answered {status}: {_short(data)}", data) from None
        raise AssertionError("unreachable")


def _short(data: Any) -> str:
    if isinstance(data, dict):
        parts = [str(data.get(k)) for k in ("Title", "Detail", "Message", "Type", "error") if data.get(k)]
        if parts:
            return " ".join(parts)
    return str(data)[:300]
