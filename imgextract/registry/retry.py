"""Retry policy: 408/429/5xx and connection errors, exponential backoff honouring ``Retry-After``.

Defaults follow containers/image (2 s doubling, capped at 60 s, 5 tries).  The time one operation
may spend retrying is bounded (``budget``, the ``retry_time`` setting): a wait that would end past
it is not started, nor one for a ``Retry-After`` longer than ``max_delay``; the last answer is
returned at once for the caller to report (its error names the ``Retry-After``).  Waits of ``notice_after`` seconds or
more are announced with a one-line warning on the ``imgextract.registry`` logger.  The base delay,
the clock and the sleep function are injectable so tests stay quick and can observe the delays.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from imgextract.records import FrozenRecord
from imgextract.registry.exceptions import (
    ConnectFailed,
    ProxyRefused,
    TimedOut,
    TLSFailed,
    TransportError,
    label_of,
)
from imgextract.registry.response import Response
from imgextract.registry.watchdog import pause_unless_aborted, transfers_aborted

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
DEFAULT_RETRY_TIME = 120.0

log = logging.getLogger("imgextract.registry")


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    import email.utils  # an HTTP-date (rare): not loaded by every command

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, delta)


class RetryPolicy(FrozenRecord):
    """``tries``/``base_delay`` for answers that ask us to come back (429, 5xx).

    A connection that fails outright (refused, reset, timed out) gets fewer, shorter tries
    (``connect_tries``, ``connect_base_delay``): with mirrors configured the next source is a
    better bet than waiting half a minute on one that is down.
    """

    __slots__ = (
        "tries",
        "base_delay",
        "max_delay",
        "sleep",
        "connect_tries",
        "connect_base_delay",
        "budget",
        "notice_after",
        "clock",
    )
    _uncompared = frozenset({"sleep", "clock"})

    def __init__(
        self,
        tries: int = 5,
        base_delay: float = 2.0,
        max_delay: float = 60.0,
        sleep: Callable[[float], None] = pause_unless_aborted,
        connect_tries: int = 3,
        connect_base_delay: float = 0.5,
        budget: float = DEFAULT_RETRY_TIME,
        notice_after: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tries: Final = tries
        self.base_delay: Final = base_delay
        self.max_delay: Final = max_delay
        self.sleep: Final = sleep
        self.connect_tries: Final = connect_tries
        self.connect_base_delay: Final = connect_base_delay
        self.budget: Final = budget
        self.notice_after: Final = notice_after
        self.clock: Final = clock

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Delay before try number ``attempt + 1`` (``attempt`` counts from 0)."""
        hinted = parse_retry_after(retry_after)
        if hinted is not None:
            return min(hinted, self.max_delay)
        return float(min(self.base_delay * (2**attempt), self.max_delay))

    def should_retry_status(self, status: int) -> bool:
        return status in RETRYABLE_STATUSES

    def wait(self, seconds: float, why: str) -> None:
        """Sleep, announcing waits long enough for a user to wonder what is happening; the default
        sleep (:func:`~.watchdog.pause_unless_aborted`) ends early when every transfer is aborted
        (the process is told to stop)."""
        if seconds >= self.notice_after:
            log.warning("%s; retrying in %.0f s", why, seconds)
        self.sleep(seconds)


RETRYABLE_EXCEPTIONS: tuple[type[BaseException], ...] = (ConnectFailed, TimedOut)


def send_with_retry(
    send: Callable[[], Response],
    policy: RetryPolicy,
    *,
    replayable: bool = True,
    what: str = "request",
) -> Response:
    """Call ``send`` until it answers with a non-retryable status, the tries run out, or the next
    wait would go past ``policy.budget`` seconds from the first try.

    The last response (possibly still 429/5xx) is returned for the caller to map to an error;
    the last connection error is re-raised.  A non-``replayable`` request (a streamed body) is
    sent exactly once.  Once every transfer is aborted (:func:`~.watchdog.abort_all_transfers`:
    the process is told to stop) nothing is retried: the failure or answer at hand is the result.
    """
    tries = max(1, policy.tries) if replayable else 1
    connect_failures = 0
    start = policy.clock()
    waited = 0.0

    def spent() -> float:  # the clock, or the waits alone when sleep is not real (tests)
        return max(policy.clock() - start, waited)

    for attempt in range(tries):
        last = attempt == tries - 1
        try:
            response = send()
        except RETRYABLE_EXCEPTIONS as exc:
            connect_failures += 1
            if (
                last
                or connect_failures >= policy.connect_tries
                or isinstance(exc, TLSFailed)
                or (isinstance(exc, ProxyRefused) and exc.status == 407)
            ):  # a TLS failure or refused proxy credentials will not heal
                raise
            wait = min(policy.connect_base_delay * (2 ** (connect_failures - 1)), policy.max_delay)
            if spent() + wait > policy.budget or transfers_aborted():
                raise
            policy.wait(wait, f"{what}: {label_of(exc)}")
            waited += wait
            if transfers_aborted():  # (told to stop while waiting)
                raise
            continue
        if last or not policy.should_retry_status(response.status_code) or transfers_aborted():
            return response
        hinted = parse_retry_after(response.headers.get("Retry-After"))
        wait = policy.delay(attempt, response.headers.get("Retry-After"))
        if (hinted is not None and hinted > policy.max_delay) or spent() + wait > policy.budget:
            return response  # fail fast: the caller's error names the status and the Retry-After
        response.close()
        reason = "rate limited (429)" if response.status_code == 429 else f"answered {response.status_code}"
        policy.wait(wait, f"{what}: {reason}")
        waited += wait
        if transfers_aborted():  # told to stop while waiting: the request is not sent again
            raise TransportError("transfer aborted")
    raise AssertionError("unreachable")  # pragma: no cover
