"""Dagster resources: the two APIs (``connectwise``, and ``xero/`` with everything else of Xero), the app
database (``store``) and the SMTP mailer (``mailer``); the retry policy and the call recorder they share."""

from cz_dagster.resources.connectwise import ConnectWiseResource
from cz_dagster.resources.store import StoreResource
from cz_dagster.resources.xero import XeroResource

__all__ = ["ConnectWiseResource", "StoreResource", "XeroResource"]
