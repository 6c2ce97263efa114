"""Load and validate ONE registries.conf file (v2 format, or v1 converted to v2).

Validation and normalisation follow containers/image ``loadConfigFile`` +
``postProcessRegistries``: trailing ``/`` stripped, URI schemes rejected, an empty prefix takes
the location, an empty location only with a ``*.`` prefix, ``pull-from-mirror`` only on mirrors
and never together with ``mirror-by-digest-only``, conflicting ``insecure``/``blocked`` settings
for one location rejected, duplicate prefixes: the first wins, entries sorted by prefix.
Mixing v1 (``[registries.search]`` ...) and v2 keys is an error; drop-ins must be v2.
Field names are matched as BurntSushi/toml matches them to the Go structs: exactly, else
case-insensitively (``Blocked``, ``[[Registry]]``); ``[aliases]`` names are map keys, as written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from imgextract.errors import ConfigError
from imgextract.mirrors import conf_toml
from imgextract.mirrors.model import PULL_FROM_MIRROR_VALUES, WILDCARD_PREFIX, Endpoint, Registry
from imgextract.mirrors.shortnames import SHORT_NAME_MODES, Alias, AliasError, parse_aliases
from imgextract.records import Record

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_ANCHORED_DOMAIN_RE = re.compile(
    rf"^(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?\Z", re.ASCII
)

_V2_KEYS = ("registry", "unqualified-search-registries", "credential-helpers", "aliases")
# The fields of the Go structs each table decodes into (tomlConfig, Registry, Endpoint, V1TOMLConfig).
_FILE_FIELDS = (*_V2_KEYS, "short-name-mode", "additional-layer-store-auth-helper", "registries")
_REGISTRY_FIELDS = (
    "prefix",
    "location",
    "insecure",
    "pull-from-mirror",
    "mirror",
    "blocked",
    "mirror-by-digest-only",
)
_MIRROR_FIELDS = ("location", "insecure", "pull-from-mirror")
_V1_FIELDS = ("search", "insecure", "block")
_V2_STRING_KEYS = ("short-name-mode", "additional-layer-store-auth-helper")


class InvalidRegistries(ValueError):
    """A validation failure inside one file; wrapped into ConfigError naming the file."""


class ParsedFile(Record):
    """One file's contribution; ``None`` fields were absent and do not override earlier files."""

    __slots__ = (
        "path",
        "registries",
        "unqualified_search_registries",
        "credential_helpers",
        "short_name_mode",
        "aliases",
    )

    def __init__(
        self,
        path: str,
        registries: list[Registry] | None = None,
        unqualified_search_registries: list[str] | None = None,
        credential_helpers: list[str] | None = None,
        short_name_mode: str | None = None,
        aliases: dict[str, Alias] | None = None,
    ) -> None:
        self.path = path
        self.registries: list[Registry] = registries if registries is not None else []
        self.unqualified_search_registries = unqualified_search_registries
        self.credential_helpers = credential_helpers
        self.short_name_mode = short_name_mode
        self.aliases: dict[str, Alias] = aliases if aliases is not None else {}


def _q(value: str) -> str:
    """Go's %q for the ASCII strings found here (double quotes), so messages match upstream's."""
    return json.dumps(value)


def parse_location(value: str) -> str:
    """Strip trailing slashes; reject ``http://`` / ``https://`` (``parseLocation``)."""
    trimmed = value.rstrip("/")
    if trimmed.startswith(("http://", "https://")):
        raise InvalidRegistries(f"invalid location '{value}': URI schemes are not supported")
    return trimmed


# --- typed access to the decoded TOML ---------------------------------------------------------


def _fields(table: Any, names: tuple[str, ...]) -> Any:
    """``table`` with its keys renamed to the struct fields they decode into (BurntSushi/toml's
    ``unifyStruct``: an exact key, else a key equal under case folding); other keys are dropped (the
    decoder ignores them). Two keys for one field: the exact one (Go's pick is map order)."""
    if not isinstance(table, dict):
        return table
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key in names:
            out[key] = value
    for key, value in table.items():
        if key not in names:
            folded = key.casefold()
            for name in names:
                if folded == name and name not in out:
                    out[name] = value
                    break
    return out


def _get_str(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise InvalidRegistries(f"{where}: {key!r} must be a string, not {type(value).__name__}")
    return value


def _get_bool(table: dict[str, Any], key: str, where: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise InvalidRegistries(f"{where}: {key!r} must be a boolean, not {type(value).__name__}")
    return value


def _get_str_list(table: dict[str, Any], key: str, where: str) -> list[str] | None:
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRegistries(f"{where}: {key!r} must be an array of strings")
    return list(value)


def _get_tables(table: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InvalidRegistries(f"{where}: {key!r} must be an array of tables ([[{key}]])")
    return list(value)


# --- v1 --------------------------------------------------------------------------------------


def _v1_lists(doc: dict[str, Any]) -> dict[str, list[str] | None] | None:
    """The v1 ``[registries.search|insecure|block] registries = [...]`` lists, or None if absent."""
    v1 = doc.get("registries")
    if v1 is None:
        return None
    if not isinstance(v1, dict):
        raise InvalidRegistries("'registries' must be a table (v1 format: [registries.search] etc.)")
    v1 = _fields(v1, _V1_FIELDS)
    lists: dict[str, list[str] | None] = {}
    for kind in ("search", "insecure", "block"):
        sub = _fields(v1.get(kind, {}), ("registries",))
        if not isinstance(sub, dict):
            raise InvalidRegistries(f"[registries.{kind}] must be a table")
        lists[kind] = _get_str_list(sub, "registries", f"[registries.{kind}]")
    if all(v is None for v in lists.values()):
        return None
    return lists


def _v2_is_set(doc: dict[str, Any]) -> bool:
    return any(k in doc for k in _V2_KEYS) or any(doc.get(k) not in (None, "") for k in _V2_STRING_KEYS)


def _convert_v1(lists: dict[str, list[str] | None], origin: str) -> tuple[list[Registry], list[str] | None]:
    """``V1RegistriesConf.ConvertToV2``: block first, then insecure, in order of first mention."""
    by_location: dict[str, Registry] = {}
    for kind, flag in (("block", "blocked"), ("insecure", "insecure")):
        for raw in lists[kind] or []:
            location = parse_location(raw)
            reg = by_location.get(location)
            if reg is None:
                reg = Registry(
                    prefix=location, location=location, origin=f"{origin}: v1 [registries] {location}"
                )
                by_location[location] = reg
            setattr(reg, flag, True)
    return list(by_location.values()), lists["search"]


# --- v2 --------------------------------------------------------------------------------------


def _registry_from_table(table: dict[str, Any], index: int) -> Registry:
    where = f"[[registry]] #{index}"
    table = _fields(table, _REGISTRY_FIELDS)
    mirrors = []
    for m in (_fields(t, _MIRROR_FIELDS) for t in _get_tables(table, "mirror", where)):
        mirrors.append(
            Endpoint(
                location=_get_str(m, "location", f"{where} [[registry.mirror]]"),
                insecure=_get_bool(m, "insecure", f"{where} [[registry.mirror]]"),
                pull_from_mirror=_get_str(m, "pull-from-mirror", f"{where} [[registry.mirror]]"),
            )
        )
    return Registry(
        prefix=_get_str(table, "prefix", where),
        location=_get_str(table, "location", where),
        insecure=_get_bool(table, "insecure", where),
        blocked=_get_bool(table, "blocked", where),
        mirror_by_digest_only=_get_bool(table, "mirror-by-digest-only", where),
        pull_from_mirror=_get_str(table, "pull-from-mirror", where),
        mirrors=mirrors,
    )


def post_process(registries: list[Registry], origin: str | None = None) -> list[Registry]:
    """Validate and normalise entries (``postProcessRegistries``); returns them de-duplicated, sorted.

    With ``origin`` (e.g. ``"registries.conf /etc/containers/registries.conf"``) each entry's and
    mirror's ``origin`` is set from it; without, existing origins are kept.
    """
    by_key: dict[str, list[Registry]] = {}
    for reg in registries:
        reg.location = parse_location(reg.location)
        if reg.prefix == "":
            if reg.location == "":
                raise InvalidRegistries("invalid condition: both location and prefix are unset")
            reg.prefix = reg.location
        else:
            reg.prefix = parse_location(reg.prefix)
            if not reg.prefix.startswith(WILDCARD_PREFIX) and reg.location == "":
                raise InvalidRegistries(
                    "invalid condition: location is unset and prefix is not in the format: *.example.com"
                )
        if reg.pull_from_mirror != "":
            raise InvalidRegistries(
                f"pull-from-mirror must not be set for a non-mirror registry {_q(reg.prefix)}"
            )
        if origin is not None:
            reg.origin = f"{origin}: [[registry]] prefix={reg.prefix}"
        for i, mirror in enumerate(reg.mirrors, start=1):
            mirror.location = parse_location(mirror.location)
            if mirror.location == "":
                raise InvalidRegistries("invalid condition: mirror location is unset")
            if reg.mirror_by_digest_only and mirror.pull_from_mirror != "":
                raise InvalidRegistries(
                    f"cannot set mirror usage mirror-by-digest-only for the registry ({_q(reg.prefix)}) "
                    f"and pull-from-mirror for per-mirror ({_q(mirror.location)}) at the same time"
                )
            if mirror.pull_from_mirror not in PULL_FROM_MIRROR_VALUES:
                raise InvalidRegistries(
                    f"unsupported pull-from-mirror value {_q(mirror.pull_from_mirror)} "
                    f"for mirror {_q(mirror.location)}"
                )
            if origin is not None:
                mirror.origin = f"{reg.origin}, mirror {i}"
        by_key.setdefault(reg.location or reg.prefix, []).append(reg)

    for reg in registries:
        for other in by_key[reg.location or reg.prefix]:
            if reg.insecure != other.insecure:
                raise InvalidRegistries(
                    f"registry '{reg.location}' is defined multiple times with conflicting 'insecure' setting"
                )
            if reg.blocked != other.blocked:
                raise InvalidRegistries(
                    f"registry '{reg.location}' is defined multiple times with conflicting 'blocked' setting"
                )

    unique: dict[str, Registry] = {}
    for reg in registries:
        unique.setdefault(reg.prefix, reg)
    return [unique[p] for p in sorted(unique)]


def validate_search_registries(entries: list[str]) -> list[str]:
    result = []
    for entry in entries:
        registry = parse_location(entry)
        if not _ANCHORED_DOMAIN_RE.match(registry):
            raise InvalidRegistries(f"Invalid unqualified-search-registries entry {_q(registry)}")
        result.append(registry)
    return result


def check_wildcard_prefixes(registries: list[Registry]) -> None:
    for reg in registries:
        if reg.prefix.startswith(WILDCARD_PREFIX) and any(c in reg.prefix for c in "/@:"):
            raise InvalidRegistries(
                f"Wildcarded prefix should be in the format: *.example.com. "
                f"Current prefix {_q(reg.prefix)} is incorrectly formatted"
            )


def _parse_document(doc: dict[str, Any], path: str, *, force_v2: bool) -> ParsedFile:
    origin = f"registries.conf {path}"
    doc = _fields(doc, _FILE_FIELDS)
    v1 = _v1_lists(doc)
    search: list[str] | None
    if v1 is not None:
        if force_v2:
            raise InvalidRegistries("registry must be in v2 format but is in v1")
        if _v2_is_set(doc):
            raise InvalidRegistries("mixing sysregistry v1/v2 is not supported")
        registries, search = _convert_v1(v1, origin)
        helpers: list[str] | None = None
        mode: str | None = None
        alias_table: dict[str, Any] = {}
        registries = post_process(registries)
    else:
        registries = [
            _registry_from_table(t, i) for i, t in enumerate(_get_tables(doc, "registry", "file"), start=1)
        ]
        search = _get_str_list(doc, "unqualified-search-registries", "file")
        helpers = _get_str_list(doc, "credential-helpers", "file")
        mode = _get_str(doc, "short-name-mode", "file") or None
        alias_table = doc.get("aliases", {})
        if not isinstance(alias_table, dict) or not all(isinstance(v, str) for v in alias_table.values()):
            raise InvalidRegistries("[aliases] must be a table of strings")
        registries = post_process(registries, origin)
    if search is not None:
        search = validate_search_registries(search)
    if mode is not None and mode not in SHORT_NAME_MODES:
        raise InvalidRegistries(f"invalid short-name mode: {_q(mode)}")
    check_wildcard_prefixes(registries)
    try:
        aliases = parse_aliases(alias_table, path)
    except AliasError as e:
        raise InvalidRegistries(f"validating short-name aliases: {e}") from None
    return ParsedFile(
        path=path,
        registries=registries,
        unqualified_search_registries=search,
        credential_helpers=helpers,
        short_name_mode=mode,
        aliases=aliases,
    )


def load_file(path: Path, *, drop_in: bool = False) -> ParsedFile:
    """Read, decode and validate one file; any problem is a ConfigError naming the file.

    Raises FileNotFoundError (not ConfigError) when the file does not exist, so that the caller
    can decide whether a missing file is acceptable.
    """
    what = "drop-in registries configuration" if drop_in else "registries configuration"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as e:
        raise ConfigError(f'loading {what} "{path}": {e.strerror or e}') from None
    try:
        doc = conf_toml.decode(data.decode("utf-8"))
    except ValueError as e:  # UnicodeDecodeError, tomllib.TOMLDecodeError (tomllib is loaded on demand)
        raise ConfigError(f'loading {what} "{path}": toml: {e}') from None
    try:
        return _parse_document(doc, str(path), force_v2=drop_in)
    except InvalidRegistries as e:
        raise ConfigError(f'loading {what} "{path}": {e}') from None
