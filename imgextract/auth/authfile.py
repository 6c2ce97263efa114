"""One auth file: containers ``auth.json``, docker ``config.json`` or legacy ``~/.dockercfg``.

``auths`` entries are matched with the containers/image rules of :mod:`.keys`;
``credHelpers[host]`` and ``credsStore`` name docker credential helpers.  A malformed
entry is skipped with a warning naming the file and key (never the value), and the
search goes on with the next candidate key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from imgextract.auth.credentials import Credentials, MalformedEntry, decode_entry, go_field, go_map
from imgextract.auth.keys import candidate_keys, convert_to_hostname, normalize_registry
from imgextract.errors import ConfigError
from imgextract.oci import jsontext
from imgextract.records import FrozenRecord

log = logging.getLogger(__name__)


class AuthFile(FrozenRecord):
    """One parsed auth file: its ``auths`` entries, ``credHelpers`` and ``credsStore``."""

    __slots__ = ("origin", "auths", "cred_helpers", "creds_store", "legacy")

    def __init__(
        self,
        origin: str,
        auths: Mapping[str, Any] | None = None,
        cred_helpers: Mapping[str, str] | None = None,
        creds_store: str | None = None,
        legacy: bool = False,
    ) -> None:
        self.origin: Final = origin
        self.auths: Final[Mapping[str, Any]] = auths if auths is not None else {}
        self.cred_helpers: Final[Mapping[str, str]] = cred_helpers if cred_helpers is not None else {}
        self.creds_store: Final = creds_store
        self.legacy: Final = legacy

    @classmethod
    def parse(cls, text: str, origin: str, *, legacy: bool = False) -> AuthFile:
        """Parse file content; raises ConfigError (naming ``origin`` only) when invalid."""
        try:
            data = jsontext.loads(text) if text.strip() else {}
        except ValueError as exc:
            raise ConfigError(f"{origin}: not valid JSON (line {getattr(exc, 'lineno', '?')})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{origin}: expected a JSON object")
        if legacy:
            return cls(origin=origin, auths=data, legacy=True)
        auths = go_map(data, "auths")
        helpers = go_map(data, "credHelpers")
        store = go_field(data, "credsStore") or None
        if not isinstance(auths, dict):
            raise ConfigError(f"{origin}: 'auths' must be an object")
        if not isinstance(helpers, dict) or not all(isinstance(v, str) for v in helpers.values()):
            raise ConfigError(f"{origin}: 'credHelpers' must map registries to helper names")
        if store is not None and not isinstance(store, str):
            raise ConfigError(f"{origin}: 'credsStore' must be a helper name")
        return cls(origin=origin, auths=auths, cred_helpers=helpers, creds_store=store)

    @classmethod
    def load(cls, path: Path, *, legacy: bool = False) -> AuthFile | None:
        """Read ``path``; None when it does not exist.  Raises ConfigError when unreadable/invalid."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise ConfigError(f"{path}: cannot read auth file ({reason})") from None
        return cls.parse(text, str(path), legacy=legacy)

    def helper_for(self, registry: str) -> str | None:
        """The ``credHelpers`` entry for ``registry`` (exact key, else same host), else ``credsStore``."""
        if registry in self.cred_helpers:
            return self.cred_helpers[registry]
        target = normalize_registry(registry)
        for key in sorted(self.cred_helpers):
            if normalize_registry(convert_to_hostname(key)) == target:
                return self.cred_helpers[key]
        return self.creds_store

    def lookup(self, name: str) -> Credentials | None:
        """The credentials of the first candidate key for ``name`` that decodes to something."""
        for key in candidate_keys(self.auths, name, legacy=self.legacy):
            try:
                creds = decode_entry(self.auths[key])
            except MalformedEntry as exc:
                log.warning("skipping malformed credential entry %r in %s: %s", key, self.origin, exc)
                continue
            if creds is not None:
                log.debug("using credentials for %s from key %r in %s", name, key, self.origin)
                return creds
        return None
