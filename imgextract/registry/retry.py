"""Retry policy: 408/429/5xx and connection errors, exponential backoff honouring ``Retry-After``.

Defaults follow containers/image (2 s doubling, capped at 60 s, 5 tries).  The base delay and the
sleep function are injectable so tests stay quick and can observe the delays chosen.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, delta)


@dataclass(frozen=True)
class RetryPolicy:
    """``tries``/``base_delay`` for answers that ask us to come back (429, 5xx).

    A connection that fails outright (refused, reset, timed out) gets fewer, shorter tries
    (``connect_tries``, ``connect_base_delay``): with mirrors configured the next source is a
    better bet than waiting half a minute on one that is down.
    """

    tries: int = 5
    base_delay: float = 2.0
    max_delay: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    connect_tries: int = 3
    connect_base_delay: float = 0.5

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Delay before try number ``attempt + 1`` (``attempt`` counts from 0)."""
        hinted = parse_retry_after(retry_after)
        if hinted is not None:
            return min(hinted, self.max_delay)
        return float(min(self.base_delay * (2**attempt), self.max_delay))

    def should_retry_status(self, status: int) -> bool:
        return status in RETRYABLE_STATUSES


RETRYABLE_EXCEPTIONS: tuple[type[BaseException], ...] = (requests.ConnectionError, requests.Timeout)


def send_with_retry(
    send: Callable[[], requests.Response], policy: RetryPolicy, *, replayable: bool = True
) -> requests.Response:
    """Call ``send`` until it answers with a non-retryable status or the tries run out.

    The last response (possibly still 429/5xx) is returned for the caller to map to an error;
    the last connection error is re-raised.  A non-``replayable`` request (a streamed body) is
    sent exactly once.
    """
    tries = max(1, policy.tries) if replayable else 1
    connect_failures = 0
    for attempt in range(tries):
        last = attempt == tries - 1
        try:
            response = send()
        except RETRYABLE_EXCEPTIONS as exc:
            connect_failures += 1
            if (
                last
                or connect_failures >= policy.connect_tries
                or isinstance(exc, requests.exceptions.SSLError)
            ):  # a TLS failure will not heal
                raise
            policy.sleep(min(policy.connect_base_delay * (2 ** (connect_failures - 1)), policy.max_delay))
            continue
        if last or not policy.should_retry_status(response.status_code):
            return response
        wait = policy.delay(attempt, response.headers.get("Retry-After"))
        response.close()
        policy.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
