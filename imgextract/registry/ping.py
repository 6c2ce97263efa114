"""Ping ``GET /v2/``: which scheme answers and which authentication the registry asks for.

HTTPS first; plain HTTP is tried only for an insecure registry and only when HTTPS failed at the
connection/TLS level.  200 means no authentication; 401 carries the ``WWW-Authenticate`` challenges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgextract.errors import ImgExtractError, RegistryError
from imgextract.registry.errors import endpoint_of, error_for_exception, error_for_response
from imgextract.registry.exceptions import TransportError
from imgextract.registry.redirects import MAX_REDIRECTS, REDIRECT_STATUSES, redirect_target
from imgextract.registry.response import Response
from imgextract.registry.retry import RetryPolicy, send_with_retry
from imgextract.registry.transport import Transport
from imgextract.registry.watchdog import open_within

if TYPE_CHECKING:  # challenges are parsed only when the registry asks for authentication
    from imgextract.auth.challenge import Challenge


class PingResult:
    """What ``GET /v2/`` told: the base URL that answered and the authentication it asks for."""

    __slots__ = ("base_url", "challenges")

    def __init__(self, base_url: str, challenges: tuple[Challenge, ...]) -> None:
        self.base_url = base_url  # scheme://host[:port], no trailing slash
        self.challenges = challenges  # empty: no authentication required

    def __repr__(self) -> str:
        return f"PingResult(base_url={self.base_url!r}, challenges={self.challenges!r})"


_BODY_LIMIT = 64 * 1024


def _drain(response: Response) -> None:
    """Read a small body so the connection goes back to the pool; a bigger one is dropped unread."""
    read = 0
    try:
        for chunk in response.iter_content(8192):
            read += len(chunk)
            if read > _BODY_LIMIT:
                return
    except TransportError:
        return


def ping(
    session: Transport,
    host: str,
    *,
    insecure: bool,
    timeout: float,
    policy: RetryPolicy,
    reference: str | None = None,
    deadline: float = 120.0,
) -> PingResult:
    schemes = ("https", "http") if insecure else ("https",)
    first_error: ImgExtractError | None = None
    for scheme in schemes:
        url = f"{scheme}://{host}/v2/"

        def send(url: str = url) -> Response:
            # the body is read capped; headers and body within the deadline; redirects followed
            # (no credentials are sent here), their bodies left unread
            for _ in range(MAX_REDIRECTS):
                response = open_within(lambda url=url: session.request("GET", url, timeout=timeout), deadline)  # type: ignore[misc]
                location = response.headers.get("Location")
                if response.status_code not in REDIRECT_STATUSES or not location:
                    return response
                response.close()
                url = redirect_target(url, location)
            return response

        try:
            response = send_with_retry(send, policy, what="registry ping")
        except TransportError as exc:
            first_error = first_error or error_for_exception(
                exc, what="registry ping", url=url, reference=reference
            )
            continue
        if response.status_code == 429 or response.status_code >= 500:
            raise error_for_response(response, what="registry ping", reference=reference)
        with response:
            _drain(response)
            if response.status_code == 401:
                from imgextract.auth.challenge import parse_www_authenticate

                header = response.headers.get("WWW-Authenticate", "")
                return PingResult(f"{scheme}://{host}", tuple(parse_www_authenticate(header)))
            if 200 <= response.status_code < 300:
                return PingResult(f"{scheme}://{host}", ())
            raise RegistryError(
                f"registry ping: GET /v2/ answered {response.status_code}, not a registry API",
                reference=reference,
                endpoint=endpoint_of(url),
            )
    assert first_error is not None
    raise first_error
