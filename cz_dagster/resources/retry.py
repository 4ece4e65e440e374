"""Retry policy shared by both API clients (tenacity): exponential backoff with jitter, bounded, honouring
``Retry-After``; only transient failures (429, 5xx, timeouts, dropped connections) are retried."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from cz_dagster.errors import Retryable


class TransientError(Retryable):
    """A failure worth retrying; ``retry_after`` is the server's own advice in seconds, when it gave one."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    retry_after_cap: float = 120.0

    def retrying(self, on_retry: Callable[[TransientError], None] | None = None) -> Retrying:
        backoff = wait_exponential_jitter(multiplier=self.base_delay, max=self.max_delay, jitter=self.base_delay)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, TransientError) and exc.retry_after is not None:
                return min(max(exc.retry_after, 0.0), self.retry_after_cap)
            return backoff(state)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            if on_retry is not None and isinstance(exc, TransientError):
                on_retry(exc)

        return Retrying(stop=stop_after_attempt(self.attempts), wait=wait,
                        retry=retry_if_exception_type(TransientError), before_sleep=before_sleep, reraise=True)


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None
