"""Dagster resources wrapping the two APIs, the app database and (later) the mailer."""

from cz_dagster.resources.connectwise import ConnectWiseResource
from cz_dagster.resources.store import StoreResource
from cz_dagster.resources.xero import XeroResource

__all__ = ["ConnectWiseResource", "StoreResource", "XeroResource"]
