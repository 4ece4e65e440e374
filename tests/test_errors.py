"""The exception tree of ``cz_dagster/errors.py``: every exception the product defines hangs from one of its
four branches, so ``sync_scope`` and the CLI can handle the product's errors by branch, not by name."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import cz_dagster
from cz_dagster.errors import CzError, Deferred, RecordFailure, Retryable, RunFailure


def _product_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(cz_dagster.__path__, "cz_dagster."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == info.name:
                found[f"{info.name}.{name}"] = obj
    return found


def test_every_product_exception_is_in_one_branch_of_the_tree():
    branches = (Retryable, RecordFailure, Deferred, RunFailure)
    found = _product_exceptions()
    assert len(found) >= 15  # the walk really found the product's exceptions
    for name, exc in found.items():
        if exc is CzError or exc in branches:
            continue
        assert issubclass(exc, CzError), f"{name} is outside the tree"
        assert sum(issubclass(exc, b) for b in branches) == 1, f"{name} is in {exc.__mro__}"


def test_the_tree_is_drawn_where_it_is_defined():
    """The docstring names every leaf, so the drawing cannot fall behind the code."""
    import cz_dagster.errors as errors

    leaves = {exc.__name__ for exc in _product_exceptions().values()} - {
        "CzError", "Retryable", "RecordFailure", "Deferred", "RunFailure", "ApiError"}
    missing = sorted(name for name in leaves if name not in (errors.__doc__ or ""))
    assert not missing, f"add to the tree in cz_dagster/errors.py: {missing}"
