"""Which ``Authorization`` to send for a request, and whether a 401 is worth one retry.

The scheme comes from the registry's challenge (ping, or the first 401 when ``/v2/`` was open):
Bearer -> :class:`TokenSource` (one per credentials, since credentials may differ per repository),
Basic -> user name and password.  Credentials are looked up per repository in the store.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from imgextract.auth.credentials import Credentials
from imgextract.registry.basic import basic_authorization
from imgextract.registry.response import Response
from imgextract.registry.retry import RetryPolicy
from imgextract.registry.scopes import merge_scopes
from imgextract.registry.transport import Transport

if TYPE_CHECKING:  # loaded once a registry challenges (401): anonymous pulls never need them
    from imgextract.auth.challenge import Challenge
    from imgextract.registry.bearer import TokenSource


class CredentialLookup(Protocol):
    """What the client needs of ``imgextract.auth.CredentialStore``."""

    def lookup(self, registry: str, repository: str) -> Credentials | None: ...


def _params(challenge: Challenge) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in challenge.params.items()}


def _pick(challenges: Sequence[Challenge]) -> Challenge | None:
    """The first Basic or Bearer challenge, in the order the registry sent them; other schemes are
    ignored (containers/image ``setupRequestAuth`` answers the first challenge it supports)."""
    return next((c for c in challenges if c.scheme.lower() in ("basic", "bearer")), None)


class Authorizer:
    def __init__(
        self,
        *,
        registry: str,
        host: str,
        session: Transport,
        credentials: CredentialLookup | None,
        insecure: bool,
        timeout: float,
        policy: RetryPolicy,
        clock: Callable[[], float] = time.monotonic,
        deadline: float = 120.0,
    ) -> None:
        self._deadline = deadline
        self._registry = registry
        self._host = host
        self._session = session
        self._store = credentials
        self._insecure = insecure
        self._timeout = timeout
        self._policy = policy
        self._clock = clock
        self._lock = threading.Lock()
        self._challenge: Challenge | None = None
        self._sources: dict[tuple[str, str, Credentials | None], TokenSource] = {}

    @property
    def scheme(self) -> str:
        return self._challenge.scheme.lower() if self._challenge is not None else ""

    def set_challenges(self, challenges: Sequence[Challenge]) -> None:
        picked = _pick(challenges)
        if picked is not None:
            self._challenge = picked

    def credentials_for(self, repository: str) -> Credentials | None:
        if self._store is None:
            return None
        return self._store.lookup(self._registry, repository)

    def token_source(self, repository: str) -> TokenSource | None:
        challenge = self._challenge
        if challenge is None or challenge.scheme.lower() != "bearer":
            return None
        params = _params(challenge)
        creds = self.credentials_for(repository)
        key = (params.get("realm", ""), params.get("service", ""), creds)
        with self._lock:
            source = self._sources.get(key)
            if source is None:
                from imgextract.registry.bearer import TokenSource

                source = TokenSource(
                    session=self._session,
                    realm=key[0],
                    service=key[1],
                    credentials=creds,
                    registry_host=self._host,
                    insecure=self._insecure,
                    timeout=self._timeout,
                    deadline=self._deadline,
                    policy=self._policy,
                    clock=self._clock,
                )
                self._sources[key] = source
            return source

    def authorization(self, repository: str, scopes: Sequence[str]) -> str | None:
        scheme = self.scheme
        if scheme == "bearer":
            source = self.token_source(repository)
            assert source is not None
            return source.authorization(scopes)
        if scheme == "basic":
            return basic_authorization(self.credentials_for(repository))
        return None

    def retry_scopes(
        self, response: Response, repository: str, scopes: Sequence[str]
    ) -> tuple[str, ...] | None:
        """After a 401: the scopes to retry with once, or None when retrying cannot help.

        ``insufficient_scope`` -> our scopes plus the server's; otherwise the cached token is
        assumed expired and dropped.  A registry that did not challenge at ping time but does
        now gets its challenge recorded.
        """
        from imgextract.auth.challenge import parse_www_authenticate

        challenges = parse_www_authenticate(response.headers.get("WWW-Authenticate", ""))
        had_challenge = self._challenge is not None
        self.set_challenges(challenges)
        if self.scheme != "bearer":
            # Basic: retrying with the same credentials cannot succeed, unless we sent none.
            return tuple(scopes) if not had_challenge and self.scheme == "basic" else None
        picked = _pick(challenges)
        params = _params(picked) if picked is not None and picked.scheme.lower() == "bearer" else {}
        source = self.token_source(repository)
        assert source is not None
        if params.get("error") == "insufficient_scope" and params.get("scope"):
            return merge_scopes(tuple(scopes), tuple(params["scope"].split()))
        source.invalidate(scopes)
        return tuple(scopes)
