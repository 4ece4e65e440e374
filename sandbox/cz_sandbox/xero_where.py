"""The subset of Xero's ``where`` / ``order`` query language the sync uses, evaluated over in-memory documents.

Xero's filter is a .NET-flavoured expression (``Type=="ACCREC" AND Date >= DateTime(2026, 01, 01)``,
``Contact.ContactID==Guid("...")``, ``Name.Contains("x")``). We parse it into a small AST once per call and
evaluate it against a *view* of each document whose values are native Python types (str, Decimal, date,
datetime, bool, None), so comparisons behave like the real thing: dates compare with dates, numbers with numbers.
String equality is case-insensitive, as Xero's SQL-backed filter is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["WhereError", "compile_where", "sort_docs", "lookup"]


class WhereError(ValueError):
    """A filter Xero would reject with a 400 QueryParseException."""


_TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*")
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<op>==|!=|<=|>=|&&|\|\||<|>|!|\(|\)|,|\.)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


def _tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise WhereError(f"unexpected character at position {pos} in where clause: {text[pos:pos + 10]!r}")
        pos = m.end()
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif kind == "num":
            value = Decimal(value)
        elif kind == "ident":
            upper = value.upper()
            if upper in ("AND", "OR", "NOT"):
                kind, value = "op", {"AND": "&&", "OR": "||", "NOT": "!"}[upper]
        tokens.append((kind, value))
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


Getter = Callable[[dict[str, Any]], Any]


def lookup(doc: dict[str, Any], path: str) -> Any:
    """Resolve ``Contact.ContactID`` against a document view, field names matched case-insensitively."""
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        if part in value:
            value = value[part]
            continue
        lowered = part.lower()
        value = next((v for k, v in value.items() if k.lower() == lowered), None)
    return value


def _norm(a: Any, b: Any) -> tuple[Any, Any]:
    """Coerce two operands to comparable types the way Xero's filter does."""
    if isinstance(a, datetime) or isinstance(b, datetime):
        a, b = _as_dt(a), _as_dt(b)
    elif isinstance(a, date) or isinstance(b, date):
        a = a if not isinstance(a, str) else _parse_date_literal(a)
        b = b if not isinstance(b, str) else _parse_date_literal(b)
    if isinstance(a, (int, float, Decimal)) and not isinstance(a, bool) and isinstance(b, (str, int, float)):
        b = _as_decimal(b)
    if isinstance(b, (int, float, Decimal)) and not isinstance(b, bool) and isinstance(a, (str, int, float)):
        a = _as_decimal(a)
    if isinstance(a, str) and isinstance(b, str):
        return a.lower(), b.lower()
    return a, b


def _as_decimal(v: Any) -> Any:
    try:
        return Decimal(str(v))
    except (InvalidOperation, ValueError):
        return v


def _as_dt(v: Any) -> Any:
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=UTC)
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day, tzinfo=UTC)
    if isinstance(v, str):
        d = _parse_date_literal(v)
        return _as_dt(d) if d is not None else v
    return v


def _parse_date_literal(s: str) -> Any:
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return s


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        if op == "==":
            return a is None and b is None
        if op == "!=":
            return not (a is None and b is None)
        return False
    a, b = _norm(a, b)
    try:
        return {
            "==": lambda: a == b, "!=": lambda: a != b, "<": lambda: a < b,
            ">": lambda: a > b, "<=": lambda: a <= b, ">=": lambda: a >= b,
        }[op]()
    except TypeError:
        return False


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]]):
        self.tokens = tokens
        self.i = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str | None = None, value: Any = None) -> tuple[str, Any]:
        tok = self.peek()
        if tok is None or (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            raise WhereError(f"unexpected {'end' if tok is None else tok[1]!r} in where clause")
        self.i += 1
        return tok

    def at(self, kind: str, value: Any = None) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == kind and (value is None or tok[1] == value)

    def parse(self) -> Getter:
        expr = self.or_expr()
        if self.peek() is not None:
            raise WhereError(f"unexpected {self.peek()[1]!r} in where clause")
        return expr

    def or_expr(self) -> Getter:
        parts = [self.and_expr()]
        while self.at("op", "||"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda d, ps=parts: any(bool(p(d)) for p in ps))

    def and_expr(self) -> Getter:
        parts = [self.unary()]
        while self.at("op", "&&"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda d, ps=parts: all(bool(p(d)) for p in ps))

    def unary(self) -> Getter:
        if self.at("op", "!"):
            self.take()
            inner = self.unary()
            return lambda d: not inner(d)
        return self.comparison()

    def comparison(self) -> Getter:
        left = self.operand()
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in ("==", "!=", "<", ">", "<=", ">="):
            op = self.take()[1]
            right = self.operand()
            return lambda d: _compare(op, left(d), right(d))
        return left

    def operand(self) -> Getter:
        tok = self.peek()
        if tok is None:
            raise WhereError("where clause ends too early")
        if tok == ("op", "("):
            self.take()
            inner = self.or_expr()
            self.take("op", ")")
            return self.postfix(inner)
        if tok[0] == "str":
            self.take()
            return self.postfix(lambda d, v=tok[1]: v)
        if tok[0] == "num":
            self.take()
            return lambda d, v=tok[1]: v
        if tok[0] != "ident":
            raise WhereError(f"unexpected {tok[1]!r} in where clause")
        name = self.take()[1]
        lowered = name.lower()
        if lowered in ("true", "false"):
            return lambda d, v=(lowered == "true"): v
        if lowered == "null":
            return lambda d: None
        if lowered == "guid" and self.at("op", "("):
            value = self.call_args()
            if len(value) != 1:
                raise WhereError("Guid() takes one argument")
            return lambda d, v=str(value[0]).lower(): v
        if lowered == "datetime" and self.at("op", "("):
            args = self.call_args()
            try:
                dt = datetime.fromisoformat(str(args[0])) if len(args) == 1 else datetime(*[int(a) for a in args])
            except (TypeError, ValueError) as exc:
                raise WhereError(f"bad DateTime({', '.join(map(str, args))})") from exc
            dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
            return lambda d, v=dt: v
        path = [name]
        while self.at("op", "."):
            self.take()
            part = self.take("ident")[1]
            if self.at("op", "("):
                return self.method(lambda d, p=".".join(path): _field(d, p), part)
            path.append(part)
        return lambda d, p=".".join(path): _field(d, p)

    def postfix(self, getter: Getter) -> Getter:
        while self.at("op", "."):
            self.take()
            part = self.take("ident")[1]
            getter = self.method(getter, part)
        return getter

    def method(self, target: Getter, name: str) -> Getter:
        args = self.call_args()
        lname = name.lower()

        def text(d: dict[str, Any]) -> str | None:
            v = target(d)
            return None if v is None else str(v)

        if lname in ("contains", "startswith", "endswith"):
            if len(args) != 1:
                raise WhereError(f"{name}() takes one argument")
            needle = str(args[0]).lower()
            fn = {"contains": str.__contains__, "startswith": str.startswith, "endswith": str.endswith}[lname]
            return lambda d: (t := text(d)) is not None and fn(t.lower(), needle)
        if lname in ("tolower", "toupper"):
            return lambda d: None if (t := text(d)) is None else (t.lower() if lname == "tolower" else t.upper())
        if lname == "equals" and len(args) == 1:
            return lambda d: (t := text(d)) is not None and t.lower() == str(args[0]).lower()
        raise WhereError(f"unsupported method {name}() in where clause")

    def call_args(self) -> list[Any]:
        self.take("op", "(")
        args: list[Any] = []
        while not self.at("op", ")"):
            tok = self.take()
            if tok[0] not in ("str", "num"):
                raise WhereError(f"unexpected {tok[1]!r} in call arguments")
            args.append(tok[1])
            if self.at("op", ","):
                self.take()
        self.take("op", ")")
        return args


def _field(doc: dict[str, Any], path: str) -> Any:
    value = lookup(doc, path)
    if isinstance(value, str) and path.lower().endswith("id"):
        return value.lower()  # Guids compare case-insensitively
    return value


def compile_where(text: str | None) -> Callable[[dict[str, Any]], bool]:
    """Compile a ``where`` string once; the result is called with each document's view."""
    if not text or not text.strip():
        return lambda d: True
    getter = _Parser(_tokenize(text)).parse()
    return lambda d: bool(getter(d))


def sort_docs(views: list[dict[str, Any]], order: str | None, allowed: set[str]) -> list[dict[str, Any]]:
    """Apply ``order=Field [ASC|DESC][, ...]``; ``allowed`` are lower-cased field names that may be sorted on."""
    if not order or not order.strip():
        return views
    result = list(views)
    keys: list[tuple[str, bool]] = []
    for clause in order.split(","):
        parts = clause.strip().split()
        if not parts:
            continue
        if parts[0].lower() not in allowed:
            raise WhereError(f"cannot order by {parts[0]}")
        desc = len(parts) > 1 and parts[1].upper() == "DESC"
        keys.append((parts[0], desc))
    for field, desc in reversed(keys):
        present = [v for v in result if lookup(v, field) is not None]
        missing = [v for v in result if lookup(v, field) is None]
        present.sort(key=lambda v, f=field: _sort_key(lookup(v, f)), reverse=desc)
        result = present + missing if not desc else missing + present
    return result


def _sort_key(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value
