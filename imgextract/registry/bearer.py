"""Bearer tokens (distribution token spec, OAuth2 refresh flow) with a per-scope cache.

GET ``realm?service=S&scope=...[&account=USER]`` (Basic auth when we have a user name), or, with
an identity token, POST ``grant_type=refresh_token`` and fall back to GET when the endpoint answers
404.  A registry token is sent as the bearer token unchanged.  Tokens live ``expires_in`` seconds
(at least and by default 60) and are shared by every request with the same scopes.

The GET follows redirects (``Authorization`` dropped on a change of origin, as for every
redirect); the refresh-token POST never does (a 307/308 would resend the token past
:func:`check_realm`).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlencode, urlsplit

from imgextract.auth.credentials import Credentials
from imgextract.auth.redact import register_secret
from imgextract.errors import AuthError, RegistryError, UnreachableError
from imgextract.oci import jsontext
from imgextract.registry.basic import basic_authorization
from imgextract.registry.errors import endpoint_of, error_for_exception
from imgextract.registry.exceptions import TransportError
from imgextract.registry.redirects import MAX_REDIRECTS, REDIRECT_STATUSES, headers_for_hop, redirect_target
from imgextract.registry.response import Response
from imgextract.registry.retry import RetryPolicy, send_with_retry
from imgextract.registry.transport import Transport
from imgextract.registry.watchdog import deadline_message, open_within

CLIENT_ID = "bundle-extract"
MIN_EXPIRY = 60.0
_TOKEN_BODY_LIMIT = 1024 * 1024
_CONTROL = re.compile("[\x00-\x1f\x7f]")  # (urlsplit drops a tab or line end silently; Go refuses them)


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The literal address ``host`` stands for, as the resolver reads it: also the legacy IPv4
    spellings ``inet_aton`` accepts (``127.1``, ``2130706433``, ``0x7f.1``, ``0177.0.0.1``)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not host or not host[0].isdigit():  # inet_aton reads only numbers; a name is not one
            return None
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, ValueError):  # (ValueError: a NUL in the text)
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _non_public(host: str) -> bool:
    """Loopback, private, link-local or unspecified address (however spelled), or ``localhost``."""
    name = host.lower().removesuffix(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    address = _address(name)
    if address is None:
        return False
    return address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified


def check_realm(realm: str, registry_host: str, *, insecure: bool) -> None:
    """Refuse a token realm we must not send credentials to.

    A plain-HTTP realm is accepted only for an insecure registry.  A loopback/private realm is
    accepted only when the registry itself is that host or is itself loopback/private (a public
    registry must not steer us into the local network).
    """
    try:
        parts = urlsplit(realm)
        realm_host = parts.hostname or ""
        valid = (
            parts.scheme in ("https", "http")
            and bool(realm_host)
            and parts.port != 0
            and _CONTROL.search(realm) is None  # Go's url.Parse: "invalid control character in URL"
        )
    except ValueError:  # an unclosed IPv6 literal, a bad port: the registry's challenge is hostile
        valid = False
    if not valid:
        raise AuthError(
            f"refusing token realm {endpoint_of(realm)!r}: not an http(s) URL", endpoint=registry_host
        )
    if parts.scheme == "http" and not insecure:
        raise AuthError(
            f"refusing plain-HTTP token realm {endpoint_of(realm)} for a secure registry",
            endpoint=registry_host,
        )
    registry_name = urlsplit(f"//{registry_host}").hostname or registry_host
    if _non_public(realm_host) and realm_host != registry_name and not _non_public(registry_name):
        raise AuthError(
            f"refusing token realm {endpoint_of(realm)} on a local address for a remote registry",
            endpoint=registry_host,
        )


class TokenSource:
    """Bearer ``Authorization`` values for one registry's challenge, cached per scope set."""

    def __init__(
        self,
        *,
        session: Transport,
        realm: str,
        service: str,
        credentials: Credentials | None,
        registry_host: str,
        insecure: bool,
        timeout: float,
        policy: RetryPolicy,
        clock: Callable[[], float] = time.monotonic,
        deadline: float = 120.0,
    ) -> None:
        self._deadline = deadline
        check_realm(realm, registry_host, insecure=insecure)
        self.realm = realm
        self.service = service
        self._session = session
        self._credentials = credentials
        self._timeout = timeout
        self._policy = policy
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, ...], tuple[str, float]] = {}
        self.fetches = 0  # how many tokens were requested from the realm (observable in tests)

    @staticmethod
    def _key(scopes: Sequence[str]) -> tuple[str, ...]:
        return tuple(sorted(set(scopes)))

    def authorization(self, scopes: Sequence[str]) -> str:
        creds = self._credentials
        if creds is not None and creds.registry_token:
            return f"Bearer {creds.registry_token}"
        key = self._key(scopes)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and self._clock() < cached[1]:
                return cached[0]
            token, lifetime = self._fetch(key)
            header = f"Bearer {token}"
            self._cache[key] = (header, self._clock() + lifetime)
            return header

    def invalidate(self, scopes: Sequence[str]) -> None:
        with self._lock:
            self._cache.pop(self._key(scopes), None)

    # --- token endpoint ---------------------------------------------------------------------------

    def _fetch(self, scopes: tuple[str, ...]) -> tuple[str, float]:
        self.fetches += 1
        creds = self._credentials
        if creds is not None and creds.identity_token:
            form = urlencode(self._refresh_form(creds.identity_token, scopes)).encode()
            response = self._send(
                self.realm,
                lambda: self._session.request(
                    "POST",
                    self.realm,
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                    body=form,
                    timeout=self._timeout,
                ),
            )  # never redirected: a 307/308 would resend the refresh token past check_realm
            if response.status_code != 404:
                return self._parse(response)
            response.close()
        url = self.realm + ("&" if "?" in self.realm else "?") + urlencode(self._query(scopes))
        headers = self._basic()
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(
                url,
                lambda url=url, headers=headers: self._session.request(  # type: ignore[misc]
                    "GET", url, headers=headers, timeout=self._timeout
                ),
            )
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                return self._parse(response)
            response.close()
            target = redirect_target(url, location)  # refuses anything but http(s)://host[:port]
            headers = headers_for_hop(headers, url, target)
            url = target
        raise RegistryError("token endpoint: too many redirects", endpoint=endpoint_of(self.realm))

    def _refresh_form(self, refresh_token: str, scopes: tuple[str, ...]) -> dict[str, str]:
        return {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": CLIENT_ID,
            "service": self.service,
            "scope": " ".join(scopes),
        }

    def _query(self, scopes: tuple[str, ...]) -> list[tuple[str, str]]:
        query = [("service", self.service)] if self.service else []
        query += [("scope", s) for s in scopes]
        creds = self._credentials
        if creds is not None and creds.username:
            query.append(("account", creds.username))
        return query

    def _basic(self) -> dict[str, str]:
        """Basic credentials for the token endpoint, UTF-8 encoded as docker and the token spec do
        (a latin-1 encoding, as some clients use, fails on other characters)."""
        header = basic_authorization(self._credentials)
        return {"Authorization": header} if header else {}

    def _send(self, url: str, send: Callable[[], Response]) -> Response:
        def watched() -> Response:
            return open_within(send, self._deadline)

        try:
            return send_with_retry(watched, self._policy, what="token request")
        except TransportError as exc:
            raise error_for_exception(exc, what="token request", url=url, reference=None) from None

    def _parse(self, response: Response) -> tuple[str, float]:
        endpoint = endpoint_of(self.realm)
        status = response.status_code
        body = b""
        try:
            for chunk in response.iter_content(64 * 1024):
                body += chunk
                if len(body) > _TOKEN_BODY_LIMIT:
                    break
        except TransportError as exc:
            cut = deadline_message(response)
            if cut is not None:
                raise UnreachableError(f"token request: {cut}", endpoint=endpoint) from None
            raise error_for_exception(exc, what="token request", url=self.realm, reference=None) from None
        finally:
            response.close()
        if len(body) > _TOKEN_BODY_LIMIT:
            raise RegistryError(
                f"token endpoint answer larger than {_TOKEN_BODY_LIMIT} bytes", endpoint=endpoint
            )
        if status in (401, 403):
            raise AuthError(f"token endpoint refused the credentials ({status})", endpoint=endpoint)
        if status == 429:
            wait = response.headers.get("Retry-After", "")
            hint = f"; it asks to retry after {wait[:32]} s" if wait.isdigit() else ""
            raise RegistryError(f"token endpoint: rate limited (429){hint}", endpoint=endpoint)
        if status != 200:
            raise RegistryError(f"token endpoint answered {status}", endpoint=endpoint)
        try:
            data = jsontext.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise RegistryError("token endpoint answered with invalid JSON", endpoint=endpoint) from None
        token = data.get("token") or data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise RegistryError("token endpoint answer has no token", endpoint=endpoint)
        register_secret(token)
        # containers/image decodes it into an int: anything else (a float, a string, a number past
        # int64) fails the token request; absent or null is 0
        expires = data.get("expires_in")
        if expires is None:
            expires = 0
        if type(expires) is not int or not -(2**63) <= expires < 2**63:
            raise RegistryError("token endpoint answer: expires_in is not an integer", endpoint=endpoint)
        return token, max(MIN_EXPIRY, float(expires))
