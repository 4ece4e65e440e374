"""Small pieces shared by the simulator's feature modules (cw_procurement, cw_time, cw_finance, cw_catalog).

They live apart from connectwise.py so a feature module can raise a ConnectWise-shaped error or stamp ``_info``
without importing the HTTP layer (which imports them).
"""

from __future__ import annotations

import contextvars
from datetime import UTC, datetime
from typing import Any

from cz_sandbox.cw_seed import API_MEMBER, fmt

__all__ = ["API_BASE", "API_MEMBER", "CwError", "href", "info", "invalid", "not_found", "now", "patch_ops", "verror"]

# The API root of the request being answered ("http://127.0.0.1:8001/v4_6_release/apis/3.0"), set by the HTTP
# layer, so a reference's ``_info`` href points back at this simulator the way ConnectWise's point at the tenant.
API_BASE: contextvars.ContextVar[str] = contextvars.ContextVar("cw_api_base",
                                                               default="http://localhost/v4_6_release/apis/3.0")


def href(path: str) -> str:
    """An absolute ``*_href`` for ``path`` (e.g. "finance/invoices/1001"), as references' ``_info`` carry."""
    return f"{API_BASE.get()}/{path}"


class CwError(Exception):
    """A ConnectWise error answer raised by a feature module; the HTTP layer turns it into the response."""

    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(body.get("message"))
        self.status, self.body = status, body


def verror(code: str, message: str, resource: str, fld: str) -> dict[str, Any]:
    return {"code": code, "message": message, "resource": resource, "field": fld}


def invalid(resource: str, message: str, code: str = "InvalidField", fld: str = "",
            more: list[dict[str, Any]] | None = None) -> CwError:
    """400 InvalidObject with one (or more) ValidationErrors, the shape of every real validation failure."""
    errors = [verror(code, message, resource, fld)] + list(more or [])
    return CwError(400, {"code": "InvalidObject", "message": f"{resource} object is invalid", "errors": errors})


def not_found(entity: str, raw: Any) -> CwError:
    return CwError(404, {"code": "NotFound", "message": f"{entity} recId {raw} not found."})


def now() -> datetime:
    """Write stamps: real time, whole seconds, so ``_info/lastUpdated >= [t]`` reads see every later write."""
    return datetime.now(UTC).replace(microsecond=0)


def info(entered: datetime, entered_by: str, updated: datetime | None = None, updated_by: str | None = None
         ) -> dict[str, Any]:
    return {"lastUpdated": fmt(updated or entered), "updatedBy": updated_by or entered_by,
            "dateEntered": fmt(entered), "enteredBy": entered_by}


def patch_ops(body: Any, resource: str) -> list[tuple[str, str, Any]]:
    """Validate a PatchOperation array ([{op, path, value}]); returns (op, path, value) triples to apply.

    Paths are whole top-level field names. A sub-path such as "status/id" is what the reference warns "may receive
    a false 200": the real API answers 200 and changes nothing, so here it is dropped silently too (a client that
    patches sub-paths sees its change not happen, as in production)."""
    if not isinstance(body, list) or not body:
        raise CwError(400, {"code": "InvalidObject", "message": "The request body must be a non-empty array of "
                            "PatchOperation objects ({op, path, value}).", "errors": []})
    out = []
    for op in body:
        if not isinstance(op, dict) or op.get("op") not in ("add", "replace", "remove") or not op.get("path"):
            raise invalid(resource, f"Invalid patch operation {op!r}: op must be add, replace or remove and path "
                          "is required.", "InvalidField", "op")
        path = str(op["path"]).strip("/")
        if "/" not in path:
            out.append((str(op["op"]), path, op.get("value")))
    return out
