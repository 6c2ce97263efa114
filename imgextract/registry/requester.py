"""One registry endpoint's HTTP: ping once, authorize, retry, follow redirects, map errors.

Every registry operation goes through :meth:`Requester.request`, which returns the final response
(status not yet checked: the caller decides which statuses are success) or raises an
:class:`~imgextract.errors.ImgExtractError` for network-level failures.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from imgextract.errors import ImgExtractError, RegistryError, UsageError, shorten
from imgextract.reference import registry_api_host
from imgextract.registry.authorizer import Authorizer, CredentialLookup
from imgextract.registry.errors import endpoint_of, error_for_exception, error_for_response
from imgextract.registry.exceptions import TransportError, label_of
from imgextract.registry.ping import ping
from imgextract.registry.redirects import (
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
    headers_for_hop,
    redirect_target,
    same_origin,
)
from imgextract.registry.response import Response
from imgextract.registry.retry import RetryPolicy, send_with_retry
from imgextract.registry.transport import TransportSettings, new_session
from imgextract.registry.watchdog import open_within, pause_unless_aborted, watch_response

log = logging.getLogger(__name__)


def check_host(host: str) -> None:
    """A registry host name must be a valid DNS name (labels of at most 63 characters, 253 in all)."""
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else ""
    if name and (len(name) > 253 or any(len(label) > 63 for label in name.split("."))):
        raise UsageError(
            f"registry host {shorten(name, 80)!r} is not a valid host name "
            "(a DNS label has at most 63 characters, a name at most 253)"
        )


SMALL_BODY = 1024 * 1024  # request bodies up to this size are sent within the deadline

# An absolute API path that joining to the base URL leaves as it is (with no "/." in it: no dot segment)
_PLAIN_PATH = re.compile(r"/(?!/)[A-Za-z0-9._~/:+=-]*")


class Requester:
    def __init__(
        self,
        registry: str,
        settings: TransportSettings,
        credentials: CredentialLookup | None,
        *,
        insecure: bool = False,
        sleep: Callable[[float], None] = pause_unless_aborted,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.host = registry_api_host(registry)
        check_host(self.host)
        self.settings = settings
        self.insecure = insecure or settings.is_insecure(registry, self.host)
        self.policy = RetryPolicy(
            tries=max(1, settings.retries),
            base_delay=settings.retry_base_delay,
            max_delay=settings.retry_max_delay,
            sleep=sleep,
            budget=settings.retry_time,
            clock=clock,
        )
        self.session = new_session((registry, self.host), settings, insecure=self.insecure)
        self.authorizer = Authorizer(
            registry=registry,
            host=self.host,
            session=self.session,
            credentials=credentials,
            insecure=self.insecure,
            timeout=settings.timeout,
            policy=self.policy,
            clock=clock,
            deadline=settings.deadline,
        )
        self._base_url: str | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    def base_url(self, *, reference: str | None = None) -> str:
        with self._lock:
            if self._base_url is None:
                result = ping(
                    self.session,
                    self.host,
                    insecure=self.insecure,
                    timeout=self.settings.timeout,
                    policy=self.policy,
                    reference=reference,
                    deadline=self.settings.deadline,
                )
                self.authorizer.set_challenges(result.challenges)
                self._base_url = result.base_url
            return self._base_url

    def url(self, path: str, *, reference: str | None = None) -> str:
        """Absolute URL for an API path (``/v2/...``) or a Location header value."""
        if path.startswith(("http://", "https://")):
            return path
        base = self.base_url(reference=reference)
        if "/." not in path and _PLAIN_PATH.fullmatch(path):
            return base + path  # what joining gives, without parsing both URLs
        return redirect_target(base + "/", path)

    def request(
        self,
        method: str,
        path: str,
        *,
        repository: str,
        scopes: Sequence[str],
        what: str,
        reference: str | None,
        headers: Mapping[str, str] | None = None,
        data: Any = None,
        params: Mapping[str, str] | None = None,
        replayable: bool = True,
        follow_redirects: bool = False,
        deadline: float | None = None,
    ) -> Response:
        """``deadline``: seconds the whole answer (headers and body) may take; default the
        transport's ``deadline`` setting."""
        url = self.url(path, reference=reference)
        seconds = self.settings.deadline if deadline is None else deadline
        scopes = tuple(scopes)
        for auth_try in range(2):
            hdrs = dict(headers or {})
            base = self.base_url()
            if url.startswith(base + "/") or same_origin(url, base):
                authorization = self.authorizer.authorization(repository, scopes)
                if authorization:
                    hdrs["Authorization"] = authorization
            response = self._send(method, url, hdrs, data, params, replayable, what, reference, seconds)
            # A 401 means the body was not taken: resending is safe unless the body is a one-shot stream.
            resendable = data is None or isinstance(data, bytes | bytearray)
            if response.status_code == 401 and auth_try == 0 and resendable:
                retry = self.authorizer.retry_scopes(response, repository, scopes)
                if retry is not None:
                    response.close()
                    scopes = retry
                    continue
            if follow_redirects and response.status_code in REDIRECT_STATUSES:
                return self._follow(response, method, url, hdrs, what, reference, seconds)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        data: Any,
        params: Mapping[str, str] | None,
        replayable: bool,
        what: str,
        reference: str | None,
        deadline: float,
    ) -> Response:
        session = self.session

        def request() -> Response:
            return session.request(method, url, headers=headers, body=data, params=params)

        def send() -> Response:
            if data is None or (isinstance(data, bytes | bytearray) and len(data) <= SMALL_BODY):
                return open_within(request, deadline)  # the deadline covers the headers too
            # a large upload may take long to send: its deadline starts with the answer
            response = request()
            watch_response(response, deadline)
            return response

        try:
            response = send_with_retry(send, self.policy, replayable=replayable, what=what)
        except TransportError as exc:
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s %s failed: %s", method, endpoint_of(url), label_of(exc))
            raise error_for_exception(exc, what=what, url=url, reference=reference) from None
        if log.isEnabledFor(logging.DEBUG):  # never headers or query
            log.debug("%s %s -> %s", method, endpoint_of(url), response.status_code)
        return response

    def _follow(
        self,
        response: Response,
        method: str,
        url: str,
        headers: dict[str, str],
        what: str,
        reference: str | None,
        deadline: float,
    ) -> Response:
        for _ in range(MAX_REDIRECTS):
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                return response
            response.close()
            target = redirect_target(url, location)
            headers = headers_for_hop(headers, url, target)
            if response.status_code == 303 and method != "HEAD":  # a HEAD stays a HEAD (RFC 9110)
                method = "GET"
            url = target
            response = self._send(method, url, headers, None, None, True, what, reference, deadline)
        response.close()
        raise RegistryError(f"{what}: more than {MAX_REDIRECTS} redirects", reference=reference)

    def fail(self, response: Response, *, what: str, reference: str | None) -> ImgExtractError:
        return error_for_response(response, what=what, reference=reference)
