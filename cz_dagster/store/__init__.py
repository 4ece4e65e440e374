"""The app database: a control database and one database per tenant (isolation by database boundary)."""

from cz_dagster.store.db import Store, StoreError, open_store

__all__ = ["Store", "StoreError", "open_store"]
