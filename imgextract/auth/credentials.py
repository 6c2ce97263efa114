"""Credentials for one registry, and decoding of the entries found in auth files.

``Credentials`` never shows a secret in ``repr``/``str``, and registers its secrets with
:mod:`imgextract.auth.redact` when created, so every later message is redacted too.
"""

from __future__ import annotations

import binascii
import logging
from collections.abc import Mapping
from typing import Any, Final

from imgextract.auth.redact import MASK, register_secret
from imgextract.errors import UsageError, option
from imgextract.oci.jsontext import go_base64
from imgextract.records import FrozenRecord

log = logging.getLogger(__name__)


class Credentials(FrozenRecord):
    """What to authenticate with.

    ``username``/``password``: HTTP Basic (also sent to the token endpoint).
    ``identity_token``: an OAuth2 refresh token (``identitytoken`` in config.json).
    ``registry_token``: a bearer token sent to the registry as is (``registrytoken``).
    """

    __slots__ = ("username", "password", "identity_token", "registry_token")

    def __init__(
        self, username: str = "", password: str = "", identity_token: str = "", registry_token: str = ""
    ) -> None:
        self.username: Final = username
        self.password: Final = password
        self.identity_token: Final = identity_token
        self.registry_token: Final = registry_token
        register_secret(password, username=username)
        register_secret(identity_token)
        register_secret(registry_token)

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to authenticate with."""
        return not (self.username or self.password or self.identity_token or self.registry_token)

    def __repr__(self) -> str:
        fields = [f"username={self.username!r}"]
        for name in ("password", "identity_token", "registry_token"):
            if getattr(self, name):
                fields.append(f"{name}={MASK!r}")
        return f"Credentials({', '.join(fields)})"

    __str__ = __repr__


def parse_creds_flag(value: str) -> Credentials:
    """``--creds USER[:PASS]`` (split at the first ``:``; a password may contain ``:``)."""
    username, _, password = value.partition(":")
    if not username:
        raise UsageError(f"{option('creds')}: the user name must not be empty (expected USER[:PASS])")
    return Credentials(username=username, password=password)


def go_field(obj: Mapping[str, Any], name: str) -> Any:
    """What Go's ``encoding/json`` stores in the struct field tagged ``name``: keys match it exactly
    or case-insensitively, a later one wins, a ``null`` leaves the field as it was (None: unset)."""
    if name in obj and len(obj) == 1:
        return obj[name]
    low = name.lower()
    found = None
    for key, value in obj.items():
        if value is not None and (key == name or key.lower() == low):
            found = value
    return found


def go_map(data: Mapping[str, Any], name: str) -> Any:
    """``encoding/json`` into a map field: every key naming it (any case, in order) adds its entries
    to the same map; a value that is not an object is returned as it is (the caller refuses it)."""
    merged: dict[str, Any] = {}
    low = name.lower()
    for key, value in data.items():
        if value is None or not isinstance(key, str) or key.lower() != low:
            continue
        if not isinstance(value, dict):
            return value
        merged.update(value)
    return merged


class MalformedEntry(ValueError):
    """An auth-file entry that cannot be decoded; the message never contains its values."""


def _go_base64(text: str, *, padded: bool) -> bytes:
    """Go's ``base64.StdEncoding`` (``padded``) or ``RawStdEncoding`` ``DecodeString``: CR and LF
    anywhere are skipped, every other character must be of the alphabet (spaces included)."""
    data = text.replace("\r", "").replace("\n", "")
    if not padded:
        if "=" in data or len(data) % 4 == 1:
            raise binascii.Error("illegal base64 data")
        data += "=" * (-len(data) % 4)
    return go_base64(data)


def decode_entry(entry: Any, *, kubelet: bool = False) -> Credentials | None:
    """Decode one ``auths`` entry of auth.json / config.json / .dockercfg / a pull secret.

    ``auth`` (base64 ``user:password``) takes precedence over ``username``/``password``;
    ``identitytoken`` and ``registrytoken`` are kept alongside.  Returns ``None`` for an
    entry that holds nothing (``{}`` is what docker writes next to a credential helper).
    Raises :class:`MalformedEntry` when the entry cannot be decoded.

    ``auth`` is decoded as its reader does: containers/image ``decodeDockerAuth`` (padded base64,
    NUL bytes trimmed around the password), or with ``kubelet`` (pull secrets) kubelet's
    ``decodeDockerConfigFieldAuth`` (unpadded base64 unless the value ends in ``=``, the password
    as decoded).
    """
    if not isinstance(entry, Mapping):
        raise MalformedEntry("entry is not an object")
    fields: dict[str, str] = {}
    for name in ("auth", "username", "password", "identitytoken", "registrytoken"):
        value = go_field(entry, name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise MalformedEntry(f"field {name!r} is not a string")
        fields[name] = value
    username = fields.get("username", "")
    password = fields.get("password", "")
    auth = fields.get("auth", "")
    if auth:
        # Register first: even an undecodable value may be a secret.
        register_secret(auth)
        try:
            padded = not kubelet or auth.strip().endswith("=")
            decoded = _go_base64(auth, padded=padded).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise MalformedEntry("field 'auth' is not base64 of 'user:password'") from None
        user, sep, pw = decoded.partition(":")
        if not sep:
            raise MalformedEntry("field 'auth' does not decode to 'user:password' (no ':')") from None
        username, password = user, (pw if kubelet else pw.strip("\x00"))
    creds = Credentials(
        username=username,
        password=password,
        identity_token=fields.get("identitytoken", ""),
        registry_token=fields.get("registrytoken", ""),
    )
    return None if creds.is_empty else creds
