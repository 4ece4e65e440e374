"""Fault injection for the sandbox simulators.

A pure ASGI middleware, mounted outermost around each simulator, so that a fault can answer before the
simulator sees the request (a status, a slow start, a dropped connection) or after it has acted on it
(a slow answer, a connection dropped once the write was made) -- the second kind is what makes crash and
duplicate-write tests honest: the server did the work, the client never heard.

Rules are added over HTTP with ``POST /_sandbox/faults`` (a ``status`` fault answers ``body`` as JSON, or ``raw``
text as-is, for malformed answers) and apply to the next ``count`` matching calls or
to a ``rate`` share of them (deterministic for a given ``seed``).
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import json
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
DefaultResponse = Callable[[int], tuple[dict[str, str], Any]]

KINDS = ("status", "delay", "drop")
WHEN = ("before", "after")


@dataclass
class FaultRule:
    """One injected fault. ``path`` is a glob matched against the request path (``*`` spans ``/``)."""

    path: str
    kind: str = "status"
    method: str | None = None
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    raw: str | None = None  # a body sent as-is (not JSON-encoded): invalid JSON, HTML, truncated text
    delay: float = 0.0
    when: str = "before"
    count: int | None = 1
    rate: float | None = None
    seed: int = 0
    id: int = 0
    fired: int = 0
    _rng: random.Random | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if self.when not in WHEN:
            raise ValueError(f"when must be one of {WHEN}, not {self.when!r}")
        if self.rate is not None and not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if self.rate is not None and self.count == 1:
            self.count = None  # a share of calls runs until removed, unless a count is also given
        self._rng = random.Random(self.seed)

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.path)

    def take(self) -> bool:
        """Decide whether this call is hit; consumes one of ``count`` when it is."""
        if self.count is not None and self.fired >= self.count:
            return False
        if self.rate is not None and self._rng.random() >= self.rate:
            return False
        self.fired += 1
        return True

    @property
    def spent(self) -> bool:
        return self.count is not None and self.fired >= self.count

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id, "path": self.path, "method": self.method, "kind": self.kind,
            "status": self.status, "delay": self.delay, "when": self.when, "count": self.count,
            "rate": self.rate, "fired": self.fired,
        }


class FaultInjector:
    """Thread-safe set of rules shared by a simulator's middleware and its admin routes."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def add(self, spec: dict[str, Any]) -> FaultRule:
        allowed = {"path", "kind", "method", "status", "headers", "body", "raw", "delay", "when", "count", "rate",
                   "seed"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        if "path" not in spec:
            raise ValueError("a fault needs a path (a glob such as /api.xro/2.0/Invoices*)")
        rule = FaultRule(**spec)
        with self._lock:
            rule.id = next(self._ids)
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.describe() for r in self._rules]

    def admin(self, method: str, body: Any = None) -> tuple[int, Any]:
        """``/_sandbox/faults`` for either simulator: GET lists the rules, DELETE clears them, POST adds one."""
        if method == "GET":
            return 200, self.rules()
        if method == "DELETE":
            self.clear()
            return 200, []
        try:
            if not isinstance(body, dict):
                raise ValueError("a fault is a JSON object")
            return 200, self.add(body).describe()
        except (TypeError, ValueError) as exc:
            return 400, {"error": str(exc)}

    def pick(self, method: str, path: str) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path) and rule.take():
                    if rule.spent:
                        self._rules.remove(rule)
                    return rule
        return None


def _drop_connection(send: Send) -> bool:
    """Close the client's TCP connection without an answer (uvicorn keeps the transport on ``send``)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    transport.abort() if hasattr(transport, "abort") else transport.close()
    if cycle is not None:
        cycle.response_complete = True
        cycle.response_started = True
        cycle.disconnected = True
    return True


class FaultMiddleware:
    """ASGI middleware applying :class:`FaultInjector` rules; ``/_sandbox/`` paths are never faulted."""

    def __init__(self, app: Callable, injector: FaultInjector, default_response: DefaultResponse | None = None):
        self.app = app
        self.injector = injector
        self.default_response = default_response or (lambda status: ({}, {"error": f"injected {status}"}))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        rule = self.injector.pick(scope["method"], scope["path"])
        if rule is None:
            await self.app(scope, receive, send)
            return
        if rule.kind == "status" and rule.when == "before":
            await self._respond(send, rule)
            return
        if rule.when == "before":
            if rule.kind == "delay":
                await asyncio.sleep(rule.delay)
                await self.app(scope, receive, send)
            else:
                if not _drop_connection(send):
                    await self._half_response(send)
            return
        # when == "after": the simulator acts on the request; the client gets a late answer, none, or (status)
        # another answer than the simulator's -- a malformed 200 to a write that was made.
        captured: list[dict[str, Any]] = []

        async def capture(message: dict[str, Any]) -> None:
            captured.append(message)

        await self.app(scope, receive, capture)
        if rule.kind == "status":  # the simulator did the work; the client gets the injected answer instead
            await self._respond(send, rule)
        elif rule.kind == "delay":
            await asyncio.sleep(rule.delay)
            for message in captured:
                await send(message)
        elif not _drop_connection(send):
            await self._half_response(send)

    async def _respond(self, send: Send, rule: FaultRule) -> None:
        headers, body = self.default_response(rule.status)
        headers = {**headers, **rule.headers}
        if rule.body is not None:
            body = rule.body
        if rule.raw is not None:
            payload = rule.raw.encode()
        else:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        raw_headers = [(k.lower().encode(), str(v).encode()) for k, v in headers.items()]
        if not any(k == b"content-type" for k, _ in raw_headers):
            raw_headers.append((b"content-type", b"application/json"))
        raw_headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": rule.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})

    @staticmethod
    async def _half_response(send: Send) -> None:
        """Fallback drop for servers that hide the transport: promise a body, then fail mid-way."""
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"1000"), (b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"trunc', "more_body": True})
        raise ConnectionAbortedError("sandbox fault: connection dropped")


def now_ms() -> int:
    return int(time.time() * 1000)
