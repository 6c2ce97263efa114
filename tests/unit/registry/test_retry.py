from __future__ import annotations

from datetime import UTC, datetime

import pytest

from imgextract.registry.exceptions import ConnectFailed, TLSFailed
from imgextract.registry.response import BytesBody, Headers, Request, Response
from imgextract.registry.retry import RetryPolicy, parse_retry_after, send_with_retry


def _response(status: int, headers: dict[str, str] | None = None) -> Response:
    request = Request("GET", "https://reg.example/v2/", Headers())
    return Response(request, status, "", Headers(headers or {}), BytesBody(b""))


def test_parse_retry_after_seconds_and_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_exponential_backoff_capped() -> None:
    policy = RetryPolicy(tries=5, base_delay=2.0, max_delay=60.0)
    assert [policy.delay(i) for i in range(7)] == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


def test_retry_after_honoured_but_capped() -> None:
    policy = RetryPolicy(base_delay=2.0, max_delay=60.0)
    assert policy.delay(0, "5") == 5.0
    assert policy.delay(0, "3600") == 60.0


def test_retries_429_then_succeeds() -> None:
    sleeps: list[float] = []
    answers = iter([_response(429, {"Retry-After": "3"}), _response(503), _response(200)])
    policy = RetryPolicy(tries=5, base_delay=1.0, max_delay=10.0, sleep=sleeps.append)
    assert send_with_retry(lambda: next(answers), policy).status_code == 200
    assert sleeps == [3.0, 2.0]


def test_bounded_tries_return_last_response() -> None:
    calls = []
    policy = RetryPolicy(tries=3, base_delay=0.0, sleep=lambda s: None)

    def send() -> Response:
        calls.append(1)
        return _response(502)

    assert send_with_retry(send, policy).status_code == 502
    assert len(calls) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_not_retried(status: int) -> None:
    calls = []
    policy = RetryPolicy(tries=3, base_delay=0.0, sleep=lambda s: None)

    def send() -> Response:
        calls.append(1)
        return _response(status)

    assert send_with_retry(send, policy).status_code == status
    assert len(calls) == 1


def test_connection_errors_retried_then_raised() -> None:
    calls = []
    policy = RetryPolicy(tries=2, base_delay=0.0, sleep=lambda s: None)

    def send() -> Response:
        calls.append(1)
        raise ConnectFailed("refused")

    with pytest.raises(ConnectFailed):
        send_with_retry(send, policy)
    assert len(calls) == 2


def test_tls_errors_not_retried() -> None:
    calls = []
    policy = RetryPolicy(tries=4, base_delay=0.0, sleep=lambda s: None)

    def send() -> Response:
        calls.append(1)
        raise TLSFailed("bad cert")

    with pytest.raises(TLSFailed):
        send_with_retry(send, policy)
    assert len(calls) == 1


def test_non_replayable_sent_once() -> None:
    calls = []
    policy = RetryPolicy(tries=4, base_delay=0.0, sleep=lambda s: None)

    def send() -> Response:
        calls.append(1)
        return _response(503)

    assert send_with_retry(send, policy, replayable=False).status_code == 503
    assert len(calls) == 1


def test_connection_failures_get_fewer_shorter_tries() -> None:
    """A source that is down must not hold up the next mirror for half a minute."""
    calls: list[int] = []
    slept: list[float] = []
    policy = RetryPolicy(tries=5, base_delay=2.0, sleep=slept.append, connect_tries=3, connect_base_delay=0.5)

    def send() -> Response:
        calls.append(1)
        raise ConnectFailed("refused")

    with pytest.raises(ConnectFailed):
        send_with_retry(send, policy)
    assert len(calls) == 3 and slept == [0.5, 1.0]
