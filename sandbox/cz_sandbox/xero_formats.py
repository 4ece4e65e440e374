"""Wire formats Xero uses and accepts: MS-JSON dates, lenient booleans, If-Modified-Since, money rounding.

Kept apart from the document logic because both the accounting routes and the OAuth/identity routes need them,
and because getting a date format wrong is exactly the kind of thing that lets a client pass against a mock and
fail against Xero (the SDK's deserializer only accepts ``/Date(ms[+hhmm])/`` for date fields).
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

ZERO_ID = "00000000-0000-0000-0000-000000000000"
_MS_RE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
TWO = Decimal("0.01")


def to_ms(value: date | datetime) -> int:
    """Milliseconds since the epoch; a bare date is midnight UTC, as Xero treats it."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(round(value.timestamp() * 1000))


def ms_date(value: date | datetime | None) -> str | None:
    """``/Date(1769817600000+0000)/``: the form Xero emits for Date, DueDate and UpdatedDateUTC."""
    return None if value is None else f"/Date({to_ms(value)}+0000)/"


def iso_string(value: date | datetime | None) -> str | None:
    """The ``DateString`` companion Xero adds next to MS dates (local, no offset)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        return f"{value.isoformat()}T00:00:00"
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def parse_date_in(value: Any) -> date | None:
    """A request date: ``/Date(ms)/``, ``/Date(ms+0000)/`` or ISO ``YYYY-MM-DD[THH:MM:SS]``; raises ValueError."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"'{value}' is not a valid date")
    m = _MS_RE.match(value.strip())
    if m:
        ms = int(m.group(1))
        offset = m.group(2)
        dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
        if offset:
            sign = 1 if offset[0] == "+" else -1
            dt = dt + sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
        return dt.date()
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date()
    except ValueError:
        raise ValueError(f"'{value}' is not a valid date") from None


def parse_since(value: str | None) -> datetime | None:
    """If-Modified-Since as Xero accepts it: ISO-8601 with or without offset/fraction (naive = UTC) or RFC 1123."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        # Python < 3.11 cannot parse 7-digit .NET fractions; trim to microseconds.
        text_iso = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
        dt = datetime.fromisoformat(text_iso)
    except ValueError:
        try:
            dt = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise ValueError(f"invalid If-Modified-Since: {value!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def parse_bool(value: str | None, default: bool) -> bool:
    """Query booleans arrive as ``False``/``True`` from the SDK (``str(bool)``) and ``false`` from others."""
    if value is None or value == "":
        return default
    return value.strip().lower() in ("true", "1", "yes")


def to_decimal(value: Any, field: str) -> Decimal:
    """A numeric request field; raises ValueError with a Xero-like message."""
    if isinstance(value, bool):
        raise ValueError(f"{field} '{value}' is not a valid number.")
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{field} '{value}' is not a valid number.") from None
    if not result.is_finite():
        raise ValueError(f"{field} '{value}' is not a valid number.")
    return result


def money(value: Decimal) -> Decimal:
    """Round half up to cents, as Xero rounds line and tax amounts."""
    return value.quantize(TWO, rounding=ROUND_HALF_UP)


def num(value: Decimal | None) -> float | None:
    """JSON number for a Decimal (Xero emits plain numbers such as 110.0)."""
    return None if value is None else float(value)


class Clock:
    """UTC 'now' at millisecond precision (as Xero stores UpdatedDateUTC) that never runs backwards."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            ms = max(int(time.time() * 1000), self._last)
            self._last = ms
        return datetime.fromtimestamp(ms / 1000, tz=UTC)


def now_ms_json() -> str:
    """Envelope ``DateTimeUTC``: ``/Date(ms)/`` without offset, as the spec examples show."""
    return f"/Date({int(time.time() * 1000)})/"
