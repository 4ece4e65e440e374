"""The product's exceptions as one tree, ordered by what becomes of the work when one is raised (the way
httpx draws its exception hierarchy):

    CzError
    ├── Retryable .................. tried again with exponential backoff, then fails the run
    │   └── TransientError ........... 429, 5xx, timeouts, dropped connections (resources/retry.py)
    ├── RecordFailure .............. fails one record: its ledger row keeps the message, the batch goes on
    │   ├── RecordError .............. a ConnectWise document that cannot become a Xero one (sync/invoices.py)
    │   └── PeriodError .............. a time entry outside every open pay period (sync/timesheets.py)
    ├── Deferred ................... stops writing cleanly; what is left waits for the next run
    │   └── XeroDailyLimitReached .... the organisation's daily call budget is spent (resources/xero/client.py)
    └── RunFailure ................. fails the run with a message a person can act on; ``sync_scope`` makes it
        │                            a Dagster Failure, and a failed run alerts the tenant
        ├── ApiError ................. an API refused; a flow that can tie it to one record fails only that one
        │   ├── ConnectWiseError ....... (resources/connectwise.py)
        │   └── XeroApiError ........... (resources/xero/client.py)
        │       └── XeroMalformedAnswer .. a success status with a body that is not what the API promises
        ├── StoreError ............... configuration and stored state: unknown tenant, no organisation, ...
        │   ├── XeroNotConnected ....... no token set stored yet (resources/xero/tokens.py)
        │   ├── XeroConnectionPaused ... revoked or expired; runs skip until reconnected
        │   └── XeroConnectError ....... the OAuth 2.0 authorization did not complete (resources/xero/connect.py)
        ├── ScheduleError ............ a cron string that does not parse (sync/schedule.py)
        ├── SecretKeyError ........... keys missing, malformed, or not the ones that encrypted (store/crypto.py)
        └── LeaseLost ................ another run took the flow over: write nothing more (store/leases.py)

Each leaf lives beside the code that raises it; this module holds only the branches, and imports nothing, so
every layer (``sync/`` included) can use it. Branches that were ``ValueError`` before keep it as a second base:
code that validates input still catches ``ValueError``.
"""


class CzError(Exception):
    """Every exception the product raises on purpose."""


class Retryable(CzError):
    """Worth trying again: the same request, after a backoff."""


class RecordFailure(CzError, ValueError):
    """One record cannot be moved; the message says why in words for the finance lead."""


class Deferred(CzError):
    """Not a failure: a budget is spent, and the rest waits for the next run."""


class RunFailure(CzError):
    """The run cannot go on; the message says what to do."""


class ApiError(RunFailure):
    """An API answered with a refusal that retrying will not change."""
