"""Once every transfer is aborted (SIGINT/SIGTERM) nothing is retried, and a retry's wait already
under way ends at once: a worker thread must not hold an interrupted command for a backoff."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from imgextract.registry.exceptions import ConnectFailed, TransportError
from imgextract.registry.response import BytesBody, Headers, Request, Response
from imgextract.registry.retry import RetryPolicy, send_with_retry
from imgextract.registry.watchdog import WATCHDOG, abort_all_transfers


@pytest.fixture(autouse=True)
def _accept_transfers_again() -> Iterator[None]:
    yield
    WATCHDOG.reset()


def _response(status: int, headers: dict[str, str] | None = None) -> Response:
    request = Request("GET", "https://reg.example/v2/", Headers())
    return Response(request, status, "", Headers(headers or {}), BytesBody(b""))


def test_a_connection_failure_after_the_abort_is_not_retried() -> None:
    sleeps: list[float] = []
    calls: list[int] = []

    def send() -> Response:
        calls.append(1)
        abort_all_transfers()  # (what the signal handler does while the request is out)
        raise ConnectFailed("cut")

    with pytest.raises(ConnectFailed):
        send_with_retry(send, RetryPolicy(sleep=sleeps.append))
    assert calls == [1]
    assert sleeps == []


def test_a_429_after_the_abort_is_the_answer() -> None:
    sleeps: list[float] = []
    abort_all_transfers()
    answer = send_with_retry(lambda: _response(429, {"Retry-After": "5"}), RetryPolicy(sleep=sleeps.append))
    assert answer.status_code == 429
    assert sleeps == []


def test_the_abort_ends_a_real_wait_and_nothing_is_sent_again() -> None:
    calls: list[int] = []
    waiting = threading.Event()

    def send() -> Response:
        calls.append(1)
        waiting.set()
        return _response(503, {"Retry-After": "30"})

    outcome: list[BaseException | Response] = []

    def run() -> None:
        try:
            outcome.append(send_with_retry(send, RetryPolicy(notice_after=60.0)))  # time.sleep: a real wait
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    assert waiting.wait(10)
    abort_all_transfers()
    worker.join(10)
    assert not worker.is_alive()  # 30 s of Retry-After, ended by the abort
    assert calls == [1]
    assert len(outcome) == 1 and isinstance(outcome[0], TransportError)


def test_after_a_reset_requests_are_retried_again() -> None:
    abort_all_transfers()
    WATCHDOG.reset()
    answers = iter([_response(503), _response(200)])
    sleeps: list[float] = []
    assert send_with_retry(lambda: next(answers), RetryPolicy(sleep=sleeps.append)).status_code == 200
    assert sleeps == [2.0]
