"""Kubernetes image pull secrets (``--pull-secret FILE``) read into a :class:`Keyring`.

Accepted, as YAML or JSON (several YAML documents and ``kind: List`` are fine):
- a Secret of type ``kubernetes.io/dockerconfigjson``: ``.dockerconfigjson`` in ``data``
  (base64) or ``stringData`` (plain), holding ``{"auths": {...}}``;
- a Secret of type ``kubernetes.io/dockercfg``: ``.dockercfg``, the bare legacy map;
- a bare ``config.json`` (an object with ``auths``).
Entries are matched with kubelet's rules (see :mod:`.keyring`).  Malformed entries are
skipped with a warning; a file that holds no pull secret at all is a ConfigError.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from imgextract.auth.credentials import Credentials, MalformedEntry, decode_entry, go_map
from imgextract.auth.keyring import Keyring
from imgextract.errors import ConfigError
from imgextract.oci import jsontext

log = logging.getLogger(__name__)

DOCKERCONFIGJSON = "kubernetes.io/dockerconfigjson"
DOCKERCFG = "kubernetes.io/dockercfg"
_KEYS = {DOCKERCONFIGJSON: ".dockerconfigjson", DOCKERCFG: ".dockercfg"}

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _payload(doc: Mapping[str, Any], key: str, origin: str) -> str | None:
    string_data = doc.get("stringData")
    data = doc.get("data")
    string_data = {} if string_data is None else string_data
    data = {} if data is None else data
    if not isinstance(string_data, Mapping) or not isinstance(data, Mapping):
        raise ConfigError(f"{origin}: Secret 'data'/'stringData' must be objects")
    if isinstance(string_data.get(key), str):
        return str(string_data[key])
    raw = data.get(key)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ConfigError(f"{origin}: Secret data {key!r} must be a base64 string")
    try:
        return base64.b64decode("".join(raw.split()), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ConfigError(f"{origin}: Secret data {key!r} is not valid base64") from None


def _has_auths(doc: Mapping[Any, Any]) -> bool:
    """Whether ``doc`` has an ``auths`` key in any case (Go's ``encoding/json`` field match)."""
    return any(isinstance(k, str) and k.lower() == "auths" for k in doc)


def _auth_maps(doc: Any, origin: str) -> Iterator[Mapping[str, Any]]:
    """The ``auths``-style maps held by one YAML/JSON document."""
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{origin}: expected a Kubernetes Secret or a config.json object")
    if doc.get("kind") == "List" or (isinstance(doc.get("items"), list) and "kind" not in doc):
        for item in doc.get("items") or []:
            yield from _auth_maps(item, origin)
        return
    if "kind" not in doc and _has_auths(doc):
        auths = go_map(doc, "auths")  # a config.json: read by Go's encoding/json
        if not isinstance(auths, Mapping):
            raise ConfigError(f"{origin}: 'auths' must be an object")
        yield auths
        return
    if doc.get("kind") not in (None, "Secret"):
        raise ConfigError(f"{origin}: a {doc.get('kind')} is not a pull secret")
    secret_type = doc.get("type")
    for stype, key in _KEYS.items():
        if secret_type not in (None, stype):
            continue
        text = _payload(doc, key, origin)
        if text is None:
            continue
        try:
            parsed = jsontext.loads(text)
        except ValueError:
            raise ConfigError(f"{origin}: Secret {key!r} is not valid JSON") from None
        if stype == DOCKERCONFIGJSON:
            # kubelet decodes it with encoding/json: "auths" in any case (every such key adds)
            parsed = go_map(parsed, "auths") if isinstance(parsed, Mapping) and _has_auths(parsed) else None
        if not isinstance(parsed, Mapping):
            raise ConfigError(f"{origin}: Secret {key!r} does not hold a registry map")
        yield parsed
        return
    raise ConfigError(f"{origin}: Secret of type {secret_type!r} holds no .dockerconfigjson or .dockercfg")


def parse_pull_secret(text: str, origin: str) -> Keyring:
    """Parse the content of a pull-secret file; ConfigError (naming ``origin``) when invalid."""
    try:
        # libyaml's parser: it refuses nesting past 1000 levels (the pure-Python one recurses until
        # RecursionError); int() refuses a number of more than 4300 digits with a ValueError
        docs = [d for d in yaml.load_all(text, Loader=_LOADER) if d is not None]  # noqa: S506 - a safe loader
    except (yaml.YAMLError, ValueError, RecursionError, TypeError, KeyError, AttributeError):
        # PyYAML raises the last three for a tagged value that does not fit (``!!bool maybe``)
        raise ConfigError(f"{origin}: not valid YAML or JSON") from None
    if not docs:
        raise ConfigError(f"{origin}: empty pull secret")
    entries: list[tuple[str, Credentials]] = []
    for doc in docs:
        for auths in _auth_maps(doc, origin):
            for key, value in auths.items():
                try:
                    creds = decode_entry(value, kubelet=True)
                except MalformedEntry as exc:
                    log.warning("skipping malformed credential entry %r in %s: %s", key, origin, exc)
                    continue
                if creds is not None:
                    entries.append((str(key), creds))
    return Keyring(entries)


def load_pull_secret(path: Path) -> Keyring:
    """Read and parse ``path``; ConfigError when missing, unreadable or not a pull secret."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(f"{path}: cannot read pull secret ({reason})") from None
    return parse_pull_secret(text, str(path))
