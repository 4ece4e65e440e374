"""Xero's enumerations as names. The SDK hands them back as enum objects whose ``str()`` is
``Status.AUTHORISED``; serialised mirrors hold ``AUTHORISED``; either way a flow compares the name. Pure, so
``sync/`` (which never imports the SDK) and ``resources/xero/reads.py`` share this one decoder."""

from typing import Any


def enum_name(value: Any, default: str = "") -> str:
    """``Status.AUTHORISED``, ``AUTHORISED`` or ``authorised`` -> ``AUTHORISED``; empty -> ``default``."""
    return str(value or default).split(".")[-1].upper()
