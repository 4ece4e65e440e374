"""Everything of Xero in one place: the client and its errors on the official SDK (``client``), the Dagster
resource that builds it (``resource``), the encrypted token sets (``tokens``), the organisation-wide pace
(``pacer``), the OAuth 2.0 connect flow (``connect``), and the operations the flows speak (``reads``,
``writes``): assets call those, never the SDK, so paging, enum decoding and lookups are written once."""

from cz_dagster.resources.xero.client import (
    XeroApiError,
    XeroClient,
    XeroDailyLimitReached,
    XeroMalformedAnswer,
)
from cz_dagster.resources.xero.resource import XeroResource, no_organisation_message

__all__ = ["XeroApiError", "XeroClient", "XeroDailyLimitReached", "XeroMalformedAnswer", "XeroResource",
           "no_organisation_message"]
