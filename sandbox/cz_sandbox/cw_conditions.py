"""The ConnectWise ``conditions`` / ``orderBy`` / ``fields`` query language, evaluated over rendered JSON entities.

ConnectWise turns ``conditions`` into SQL Server predicates, so the simulator copies SQL's habits where a client
could notice them: string comparisons ignore case (the default collation), and a missing (null) field matches
nothing but ``= null`` / ``!= null`` (SQL's three-valued logic: ``NULL != "x"`` is not true).

Grammar (keywords case-insensitive)::

    expr       := term (OR term)*
    term       := factor (AND factor)*
    factor     := NOT factor | "(" expr ")" | comparison
    comparison := path [NOT] op value | path [NOT] IN "(" value ("," value)* ")"
    op         := = | != | < | <= | > | >= | CONTAINS | LIKE
    value      := "string" | 123 | 1.5 | True | False | null | [2024-01-01T00:00:00Z]

A path is ``name`` or ``reference/name`` (``company/id``, ``_info/lastUpdated``); a path through a list
(``types/name``) matches when any element does. Paths are checked against the resource's known fields, so a
typo is a 400 like on the real server instead of a silently empty result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]

KEYWORDS = {"and", "or", "not", "contains", "like", "in", "true", "false", "null"}
_DT_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


class ConditionError(ValueError):
    """A malformed ``conditions`` (or ``orderBy``) value; ``field`` names the query parameter at fault."""

    def __init__(self, message: str, field: str = "conditions", code: str = "InvalidField"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    def body(self) -> dict[str, Any]:
        """The real server's 400 shape: ErrorResponseMessage with one ValidationError."""
        return {"code": "InvalidObject", "message": f"{self.field} object is invalid",
                "errors": [{"code": self.code, "message": self.message, "resource": self.field,
                            "field": self.field}]}


@dataclass(frozen=True)
class Token:
    kind: str  # str | num | bool | null | dt | word | op | lparen | rparen | comma | kw
    value: Any
    pos: int


def parse_datetime(text: str) -> datetime | None:
    """Parse ConnectWise datetimes (``2024-01-01T00:00:00Z``, also date-only); naive values are UTC."""
    m = _DT_RE.match(text.strip())
    if not m:
        return None
    y, mo, d, h, mi, s, tz = m.groups()
    try:
        value = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), tzinfo=UTC)
    except ValueError:
        return None
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        value -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return value


def format_datetime(value: datetime) -> str:
    """The one response format: ``YYYY-MM-DDTHH:MM:SSZ``, UTC, no fractions."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == '"':
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise ConditionError(f"Unterminated string starting at position {i}.")
                if text[j] == "\\" and j + 1 < n:
                    buf.append(text[j + 1])
                    j += 2
                elif text[j] == '"':
                    if j + 1 < n and text[j + 1] == '"':  # "" inside a string is a literal quote
                        buf.append('"')
                        j += 2
                        continue
                    break
                else:
                    buf.append(text[j])
                    j += 1
            tokens.append(Token("str", "".join(buf), i))
            i = j + 1
        elif c == "[":
            j = text.find("]", i)
            if j < 0:
                raise ConditionError(f"Unterminated datetime starting at position {i}.")
            raw = text[i + 1:j]
            value = parse_datetime(raw)
            if value is None:
                raise ConditionError(f"'{raw}' is not a valid datetime. Use [yyyy-MM-ddTHH:mm:ssZ].")
            tokens.append(Token("dt", value, i))
            i = j + 1
        elif c.isdigit() or (c == "-" and i + 1 < n and (text[i + 1].isdigit() or text[i + 1] == ".")):
            m = re.match(r"-?\d*\.?\d+(?:[eE][+-]?\d+)?", text[i:])
            assert m is not None
            raw = m.group(0)
            tokens.append(Token("num", float(raw) if any(ch in raw for ch in ".eE") else int(raw), i))
            i += len(raw)
        elif text.startswith(("!=", "<=", ">=", "<>"), i):
            op = text[i:i + 2]
            tokens.append(Token("op", "!=" if op == "<>" else op, i))
            i += 2
        elif c in "=<>":
            tokens.append(Token("op", c, i))
            i += 1
        elif c == "(":
            tokens.append(Token("lparen", c, i))
            i += 1
        elif c == ")":
            tokens.append(Token("rparen", c, i))
            i += 1
        elif c == ",":
            tokens.append(Token("comma", c, i))
            i += 1
        elif c.isalpha() or c == "_":
            m = re.match(r"[A-Za-z_][A-Za-z0-9_/.]*", text[i:])
            assert m is not None
            word = m.group(0)
            low = word.lower()
            if low in ("true", "false"):
                tokens.append(Token("bool", low == "true", i))
            elif low == "null":
                tokens.append(Token("null", None, i))
            elif low in KEYWORDS:
                tokens.append(Token("kw", low, i))
            else:
                tokens.append(Token("word", word, i))
            i += len(word)
        else:
            raise ConditionError(f"Unexpected character '{c}' at position {i}.")
    return tokens


# ---------------------------------------------------------------- value access and comparison

def _lookup(obj: dict[str, Any], key: str) -> Any:
    if key in obj:
        return obj[key]
    low = key.lower()
    for k, v in obj.items():
        if k.lower() == low:
            return v
    return None


def path_values(item: Any, path: str) -> list[Any]:
    """Every value at ``a/b/c``; lists on the way fan out, so ``types/name`` yields each type's name."""
    current = [item]
    for part in path.split("/"):
        nxt: list[Any] = []
        for obj in current:
            if isinstance(obj, list):
                nxt.extend(_lookup(o, part) for o in obj if isinstance(o, dict))
            elif isinstance(obj, dict):
                nxt.append(_lookup(obj, part))
        current = nxt
    out: list[Any] = []
    for v in current:
        if isinstance(v, list):
            out.extend(v)
        else:
            out.append(v)
    return out or [None]


def _as_number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _compare(v: Any, cv: Any) -> int | None:
    """Three-way compare a field value with a condition value; None when the types cannot meet (SQL: unknown)."""
    if v is None or cv is None:
        return None
    if isinstance(cv, datetime):
        dv = parse_datetime(v) if isinstance(v, str) else None
        if dv is None:
            return None
        return (dv > cv) - (dv < cv)
    if isinstance(cv, bool):
        if not isinstance(v, bool):
            return None
        return (v > cv) - (v < cv)
    if isinstance(cv, int | float):
        nv = _as_number(v)
        if nv is None:
            return None
        return (nv > cv) - (nv < cv)
    if isinstance(v, dict | list):
        return None
    a, b = str(v).lower(), str(cv).lower()
    return (a > b) - (a < b)


def _like(v: Any, pattern: str) -> bool:
    if v is None or isinstance(v, dict | list):
        return False
    regex = "^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$"
    return re.match(regex, str(v), re.IGNORECASE | re.DOTALL) is not None


def _test(op: str, values: list[Any], cv: Any) -> bool:
    if op == "=":
        if cv is None:
            return all(v is None for v in values)
        return any(_compare(v, cv) == 0 for v in values)
    if op == "!=":
        if cv is None:
            return any(v is not None for v in values)
        return all(c is not None and c != 0 for c in (_compare(v, cv) for v in values))
    if op in ("<", "<=", ">", ">="):
        for v in values:
            c = _compare(v, cv)
            if c is not None and ((op == "<" and c < 0) or (op == "<=" and c <= 0)
                                  or (op == ">" and c > 0) or (op == ">=" and c >= 0)):
                return True
        return False
    if op == "contains":
        needle = str(cv).lower()
        return any(v is not None and not isinstance(v, dict | list) and needle in str(v).lower() for v in values)
    if op == "like":
        return any(_like(v, str(cv)) for v in values)
    if op == "in":
        return any(_test("=", values, c) for c in cv)
    raise ConditionError(f"Unknown operator '{op}'.")


# ---------------------------------------------------------------- parser

class _Parser:
    def __init__(self, text: str, known: Callable[[str], bool] | None):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.known = known

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise ConditionError("Unexpected end of conditions.")
        self.i += 1
        return tok

    def is_kw(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "kw" and tok.value == word

    def parse(self) -> Predicate:
        if not self.tokens:
            return lambda item: True
        pred = self.expr()
        tok = self.peek()
        if tok is not None:
            raise ConditionError(f"Unexpected '{self.text[tok.pos:tok.pos + 20]}' at position {tok.pos}.")
        return pred

    def expr(self) -> Predicate:
        parts = [self.term()]
        while self.is_kw("or"):
            self.next()
            parts.append(self.term())
        if len(parts) == 1:
            return parts[0]
        return lambda item: any(p(item) for p in parts)

    def term(self) -> Predicate:
        parts = [self.factor()]
        while self.is_kw("and"):
            self.next()
            parts.append(self.factor())
        if len(parts) == 1:
            return parts[0]
        return lambda item: all(p(item) for p in parts)

    def factor(self) -> Predicate:
        tok = self.peek()
        if tok is not None and tok.kind == "kw" and tok.value == "not":
            self.next()
            inner = self.factor()
            return lambda item: not inner(item)
        if tok is not None and tok.kind == "lparen":
            self.next()
            inner = self.expr()
            if self.next().kind != "rparen":
                raise ConditionError("Missing ')' in conditions.")
            return inner
        return self.comparison()

    def value(self) -> Any:
        tok = self.next()
        if tok.kind in ("str", "num", "bool", "null", "dt"):
            return tok.value
        raise ConditionError(f"Expected a value at position {tok.pos}; strings need double quotes.")

    def comparison(self) -> Predicate:
        tok = self.next()
        if tok.kind != "word":
            raise ConditionError(f"Expected a field name at position {tok.pos}.")
        path = tok.value
        if self.known is not None and not self.known(path):
            raise ConditionError(f"{path} is not a valid field for these conditions.")
        negate = False
        if self.is_kw("not"):
            self.next()
            negate = True
        op_tok = self.next()
        symbolic = op_tok.kind == "op" and not negate  # "not" only goes with contains / like / in
        if symbolic or (op_tok.kind == "kw" and op_tok.value in ("contains", "like", "in")):
            op = op_tok.value
        else:
            raise ConditionError(f"Expected an operator after {path} at position {op_tok.pos}.")
        if op == "in":
            if self.next().kind != "lparen":
                raise ConditionError(f"'in' needs a parenthesised list after {path}.")
            values = [self.value()]
            while True:
                t = self.next()
                if t.kind == "rparen":
                    break
                if t.kind != "comma":
                    raise ConditionError(f"Expected ',' or ')' at position {t.pos}.")
                values.append(self.value())
            cv: Any = values
        else:
            cv = self.value()
            if op in ("contains", "like") and not isinstance(cv, str):
                raise ConditionError(f"'{op}' needs a string value for {path}.")

        def pred(item: dict[str, Any]) -> bool:
            result = _test(op, path_values(item, path), cv)
            return not result if negate else result

        return pred


def compile_conditions(text: str | None, known: Callable[[str], bool] | None = None) -> Predicate:
    """Compile ``conditions`` once per request; ``known(path)`` rejects unknown fields (400, as the server does)."""
    if not text or not text.strip():
        return lambda item: True
    return _Parser(text, known).parse()


# ---------------------------------------------------------------- orderBy and fields

def _sort_key(v: Any) -> tuple[int, Any]:
    if v is None:
        return (0, 0)
    if isinstance(v, bool):
        return (1, int(v))
    if isinstance(v, int | float):
        return (1, v)
    if isinstance(v, str):
        dt = parse_datetime(v) if len(v) >= 10 and v[4:5] == "-" else None
        return (2, dt.timestamp()) if dt is not None else (3, v.lower())
    return (4, str(v))


def order_items(items: list[dict[str, Any]], order_by: str | None, known: Callable[[str], bool] | None = None
                ) -> list[dict[str, Any]]:
    """Apply ``orderBy=field [asc|desc], ...``; nulls sort first ascending (SQL Server's order)."""
    if not order_by or not order_by.strip():
        return items
    keys: list[tuple[str, bool]] = []
    for clause in order_by.split(","):
        words = clause.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise ConditionError(f"'{clause.strip()}' is not a valid orderBy clause; use 'field asc|desc'.",
                                 field="orderBy")
        if known is not None and not known(words[0]):
            raise ConditionError(f"{words[0]} is not a valid field for orderBy.", field="orderBy")
        keys.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    out = list(items)
    for path, desc in reversed(keys):
        out.sort(key=lambda it, p=path: _sort_key(path_values(it, p)[0]), reverse=desc)
    return out


def project_fields(item: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """Partial response: keep only ``fields`` (``id,name,status/id``), matched case-insensitively."""
    out: dict[str, Any] = {}
    for path in fields:
        parts = [p for p in path.strip().split("/") if p]
        if not parts:
            continue
        src: Any = item
        dst = out
        for depth, part in enumerate(parts):
            if not isinstance(src, dict):
                break
            key = next((k for k in src if k.lower() == part.lower()), None)
            if key is None:
                break
            if depth == len(parts) - 1:
                dst[key] = src[key]
            else:
                if isinstance(src[key], dict):
                    dst = dst.setdefault(key, {})
                elif isinstance(src[key], list):  # a path into a list keeps whole elements
                    dst[key] = src[key]
                    break
                src = src[key]
    return out
