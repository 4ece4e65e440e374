"""The ConnectWise model field lists of /work/shared/reference/connectwise-model-fields.txt, parsed, with a JSON
checker: does an answer use only the model's field names, each with the model's JSON type, recursively?

The file (pyconnectwise 0.6.1's pydantic models, generated from the ConnectWise spec) has one block per model::

    ## Name (bases Base)
      field: annotation

Annotations are Python expressions (``str | None``, ``list[CompanyReference] | None``, ``dict[str, str] | None``,
``Literal["A", "B"] | None``, ``Annotated[Literal[...] | None, Field(alias=...), ]``), so they are read with
``ast``. A model's fields include its bases' (CompanyReference bases CatalogItemReference). ``## X: not defined
...`` lines name models pyconnectwise lacks; they are kept with their note.

JSON types: str; int (never bool); float (an int is fine); bool; datetime and date as ISO-8601 strings; UUID as a
UUID string; list (each item checked); dict (each value checked); Literal (one of its values); a model defined in
the file (checked recursively); ``Any`` and models the file does not define (``AgreementReference``, ...) only as
"an object" -- their inner fields are not known here and are not guessed (``Checker.unverified`` names them).

Required-ness: the file warns that pyconnectwise's required markers (a type without ``| None``) are incomplete,
and some disagree with the 2025.1 spec, so ``Field.required_in_pcw`` is kept for information only; the checker
enforces only the required fields a caller names (see test_contract.py: those from connectwise-api.md's 2025.1
lists).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

REFERENCE = Path("/work/shared/reference/connectwise-model-fields.txt")
ROOT_BASE = "ConnectWiseModel"

_PRIMITIVES = {"str", "int", "float", "bool", "datetime", "date", "UUID", "Any"}
_HEADING = re.compile(r"^## (\w+) \(bases (\w+)\)\s*$")
_UNDEFINED = re.compile(r"^## (\w+): (.*)$")
_FIELD = re.compile(r"^  (\w+): (.+)$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ModelFileError(ValueError):
    """The reference file (or an annotation in it) is not in the shape this parser reads."""


# ---------------------------------------------------------------- types

@dataclass(frozen=True)
class JsonType:
    """One annotation as a JSON type. ``kind``: a primitive name, "list", "dict", "literal", "model" or "union"."""

    kind: str
    nullable: bool = False
    item: JsonType | None = None  # list item / dict value
    model: str | None = None  # kind == "model"
    values: tuple[Any, ...] = ()  # kind == "literal"
    options: tuple[JsonType, ...] = ()  # kind == "union" (a union of non-null alternatives)

    def describe(self) -> str:
        if self.kind == "list":
            text = f"list[{self.item.describe() if self.item else 'Any'}]"
        elif self.kind == "dict":
            text = f"dict[str, {self.item.describe() if self.item else 'Any'}]"
        elif self.kind == "model":
            text = str(self.model)
        elif self.kind == "literal":
            text = "Literal[" + ", ".join(repr(v) for v in self.values) + "]"
        elif self.kind == "union":
            text = " | ".join(o.describe() for o in self.options)
        else:
            text = self.kind
        return f"{text} | None" if self.nullable else text

    def with_nullable(self, nullable: bool) -> JsonType:
        return JsonType(self.kind, nullable, self.item, self.model, self.values, self.options)


ANY = JsonType("Any", nullable=True)


def parse_annotation(text: str) -> JsonType:
    """``str | None`` -> JsonType("str", nullable=True); raises ModelFileError on what it cannot read."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ModelFileError(f"annotation {text!r} is not a Python expression: {exc}") from None
    return _from_node(node, text)


def _union_parts(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union_parts(node.left) + _union_parts(node.right)
    return [node]


def _subscript_args(node: ast.Subscript) -> list[ast.expr]:
    inner = node.slice
    return list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]


def _from_node(node: ast.expr, text: str) -> JsonType:
    parts = _union_parts(node)
    nullable = any(isinstance(p, ast.Constant) and p.value is None for p in parts)
    real = [p for p in parts if not (isinstance(p, ast.Constant) and p.value is None)]
    if not real:
        raise ModelFileError(f"annotation {text!r} is only None")
    options = [_single(p, text) for p in real]
    # Annotated[X | None, ...] carries its own nullability
    nullable = nullable or any(o.nullable for o in options)
    options = [o.with_nullable(False) for o in options]
    if len(options) == 1:
        return options[0].with_nullable(nullable)
    return JsonType("union", nullable, options=tuple(options))


def _single(node: ast.expr, text: str) -> JsonType:
    if isinstance(node, ast.Name):
        if node.id in _PRIMITIVES:
            return ANY.with_nullable(False) if node.id == "Any" else JsonType(node.id)
        return JsonType("model", model=node.id)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        head, args = node.value.id, _subscript_args(node)
        if head == "Annotated":
            return _from_node(args[0], text)
        if head == "Literal":
            values = []
            for arg in args:
                if not isinstance(arg, ast.Constant):
                    raise ModelFileError(f"Literal value {ast.unparse(arg)!r} in {text!r} is not a constant")
                values.append(arg.value)
            return JsonType("literal", values=tuple(values))
        if head in ("list", "List"):
            return JsonType("list", item=_from_node(args[0], text))
        if head in ("dict", "Dict"):
            if len(args) != 2 or not (isinstance(args[0], ast.Name) and args[0].id == "str"):
                raise ModelFileError(f"dict annotation {text!r} is not dict[str, X]")
            return JsonType("dict", item=_from_node(args[1], text))
        if head == "Optional":
            return _from_node(args[0], text).with_nullable(True)
    raise ModelFileError(f"cannot read annotation {text!r} (at {ast.unparse(node)!r})")


# ---------------------------------------------------------------- models

@dataclass(frozen=True)
class Field:
    name: str
    type: JsonType
    annotation: str
    required_in_pcw: bool  # pyconnectwise has no "| None": informational only (the markers are incomplete)
    source: str = "connectwise-model-fields.txt"


@dataclass
class Model:
    name: str
    base: str
    own: dict[str, Field] = field(default_factory=dict)


@dataclass
class Models:
    """Every model of the file, bases resolved on demand; ``undefined`` maps a name the file says pyconnectwise
    lacks to the file's note."""

    raw: dict[str, Model]
    undefined: dict[str, str]
    extra: dict[str, dict[str, Field]] = field(default_factory=dict)  # supplements (see ``supplement``)
    open: set[str] = field(default_factory=set)  # free-form objects: any field name (see ``supplement``)

    def __contains__(self, name: object) -> bool:
        return name in self.raw or name in self.extra

    def bases(self, name: str) -> list[str]:
        """``name`` and its bases, nearest first, up to (not including) ConnectWiseModel."""
        chain, seen = [], set()
        current: str | None = name
        while current is not None and current != ROOT_BASE:
            if current in seen:
                raise ModelFileError(f"base cycle at {current}")
            seen.add(current)
            chain.append(current)
            model = self.raw.get(current)
            if model is None:
                if current not in self.extra:
                    raise ModelFileError(f"{name} bases {current}, which the file does not define")
                break
            current = model.base
        return chain

    def fields(self, name: str) -> dict[str, Field]:
        """The model's fields with its bases' (a model's own declaration wins), plus any supplement."""
        if name not in self:
            raise KeyError(f"model {name} is not defined" + (f" ({self.undefined[name]})"
                                                             if name in self.undefined else ""))
        out: dict[str, Field] = {}
        for model in reversed(self.bases(name)):
            if model in self.raw:
                out.update(self.raw[model].own)
            out.update(self.extra.get(model, {}))
        return out

    def supplement(self, name: str, fields: dict[str, JsonType | str | None], source: str,
                   free_form: bool = False) -> None:
        """Add fields to a model (or define a model the file lacks) from another source, e.g. connectwise-api.md's
        2025.1 lists; a type of None means the source names the field without a type (checked by name only).
        ``free_form``: the source says the object takes any field (GLExport.exportSettings)."""
        if free_form:
            self.open.add(name)
        add = self.extra.setdefault(name, {})
        for fname, ftype in fields.items():
            jt = ANY if ftype is None else parse_annotation(ftype) if isinstance(ftype, str) else ftype
            add[fname] = Field(fname, jt, jt.describe(), False, source)

    def consensus_type(self, field_name: str) -> JsonType | None:
        """The type every model of the file gives a field of this name (nullability aside), else None."""
        seen = {f.type.with_nullable(True) for m in self.raw.values() for f in m.own.values() if f.name == field_name}
        return next(iter(seen)) if len(seen) == 1 else None


def parse_models(text: str) -> Models:
    raw: dict[str, Model] = {}
    undefined: dict[str, str] = {}
    current: Model | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.startswith("## "):
            heading = _HEADING.match(line)
            if heading:
                name, base = heading.groups()
                if name in raw:
                    raise ModelFileError(f"line {lineno}: model {name} defined twice")
                current = raw[name] = Model(name, base)
                continue
            missing = _UNDEFINED.match(line)
            if missing:
                undefined[missing.group(1)] = missing.group(2).strip()
                current = None
                continue
            raise ModelFileError(f"line {lineno}: unreadable heading {line!r}")
        match = _FIELD.match(line)
        if match:
            if current is None:
                raise ModelFileError(f"line {lineno}: field outside a model: {line!r}")
            fname, annotation = match.groups()
            jt = parse_annotation(annotation)
            current.own[fname] = Field(fname, jt, annotation.strip(), not jt.nullable)
            continue
        if line.strip() and not line.startswith("#") and current is not None:
            raise ModelFileError(f"line {lineno}: unreadable line in {current.name}: {line!r}")
    for model in raw.values():
        if model.base != ROOT_BASE and model.base not in raw:
            raise ModelFileError(f"{model.name} bases {model.base}, which the file does not define")
    return Models(raw, undefined)


def load_models(path: Path = REFERENCE) -> Models:
    return parse_models(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- checking

class ContractError(AssertionError):
    """An answer that does not match its model; ``problems`` lists each drift as 'path: what'."""

    def __init__(self, model: str, problems: list[str]):
        self.model, self.problems = model, problems
        super().__init__(f"{model}: {len(problems)} drift(s):\n  " + "\n  ".join(problems))


@dataclass
class Checker:
    models: Models
    required: dict[str, set[str]] = field(default_factory=dict)  # model -> field names that must be present
    unverified: set[str] = field(default_factory=set)  # models met only as "an object" (not in the file)

    def __repr__(self) -> str:  # pytest prints fixtures' reprs: keep it short
        return f"Checker({len(self.models.raw)} models, {len(self.models.extra)} supplemented)"

    def problems(self, model: str, value: Any, path: str = "") -> list[str]:
        """Every drift of ``value`` from ``model``: fields the model lacks, wrong JSON types, missing required."""
        where = path or model
        if not isinstance(value, dict):
            return [f"{where}: expected a {model} object, got {_kind(value)}"]
        fields = self.models.fields(model)
        out = []
        for name, item in value.items():
            spec = fields.get(name)
            if spec is None:
                if model in self.models.open:
                    continue
                out.append(f"{where}.{name}: not a field of {model}")
                continue
            out.extend(self._check(spec.type, item, f"{where}.{name}"))
        for name in sorted(self.required.get(model, set())):
            if value.get(name) is None:
                out.append(f"{where}.{name}: required by {model} but missing")
        return out

    def check(self, model: str, value: Any, limit: int = 40) -> None:
        """Raise ContractError naming each drift once (the first list item showing it stands for the rest)."""
        self._raise(model, self.problems(model, value), limit)

    def check_all(self, model: str, values: Iterable[Any], limit: int = 40) -> None:
        """Every item of a list answer against ``model``."""
        problems = [p for i, value in enumerate(values) for p in self.problems(model, value, f"{model}[{i}]")]
        self._raise(model, problems, limit)

    @staticmethod
    def _raise(model: str, problems: list[str], limit: int) -> None:
        seen: dict[str, str] = {}
        for problem in problems:
            seen.setdefault(re.sub(r"\[\d+\]", "[]", problem.split(":", 1)[0]), problem)
        if seen:
            raise ContractError(model, list(seen.values())[:limit])

    def _check(self, jt: JsonType, value: Any, where: str) -> list[str]:
        if value is None:
            return [] if jt.nullable else [f"{where}: null, but {jt.describe()} is not nullable"]
        kind = jt.kind
        if kind == "union":
            attempts = [self._check(o, value, where) for o in jt.options]
            return [] if any(not a for a in attempts) else [f"{where}: {_kind(value)} is none of {jt.describe()}"]
        if kind == "Any":
            return []
        if kind == "model":
            assert jt.model is not None
            if jt.model in self.models:
                return self.problems(jt.model, value, where)
            self.unverified.add(jt.model)
            return [] if isinstance(value, dict) else [f"{where}: expected a {jt.model} object, got {_kind(value)}"]
        if kind == "list":
            if not isinstance(value, list):
                return [f"{where}: expected {jt.describe()}, got {_kind(value)}"]
            out = []
            for i, item in enumerate(value):
                out.extend(self._check(jt.item or ANY, item, f"{where}[{i}]"))
            return out
        if kind == "dict":
            if not isinstance(value, dict):
                return [f"{where}: expected {jt.describe()}, got {_kind(value)}"]
            out = []
            for key, item in value.items():
                out.extend(self._check(jt.item or ANY, item, f"{where}.{key}"))
            return out
        if kind == "literal":
            return [] if value in jt.values and type(value) is type(jt.values[0]) else [
                f"{where}: {value!r} is not one of {jt.describe()}"]
        ok = {
            "str": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, (int, float)) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "datetime": isinstance(value, str) and _is_datetime(value),
            "date": isinstance(value, str) and _is_date(value),
            "UUID": isinstance(value, str) and bool(_UUID.match(value)),
        }.get(kind)
        if ok is None:
            raise ModelFileError(f"no JSON check for type {kind}")
        return [] if ok else [f"{where}: expected {jt.describe()}, got {_kind(value)} {value!r:.60}"]


def _is_datetime(text: str) -> bool:
    if not _DATETIME.match(text):
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text[:10])
    except ValueError:
        return False
    return len(text) == 10 or _is_datetime(text)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    return {int: "int", float: "float", str: "str", list: "list", dict: "object"}.get(type(value), type(value).__name__)


__all__ = ["ANY", "Checker", "ContractError", "Field", "JsonType", "Model", "ModelFileError", "Models",
           "load_models", "parse_annotation", "parse_models"]
