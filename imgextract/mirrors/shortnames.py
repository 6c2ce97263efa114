"""Short-name aliases (``[aliases]`` in registries.conf) and ``short-name-mode``.

Parsed and validated as containers/image does so that a registries.conf that CRI-O or podman
would reject is rejected here too.  Resolution of short names itself is not done by this
project (references are always normalised to docker.io), but ``mirrors`` can report aliases.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from imgextract.errors import InvalidReference
from imgextract.records import FrozenRecord
from imgextract.reference import parse_raw, parse_reference

SHORT_NAME_MODES = ("disabled", "enforcing", "permissive")
DEFAULT_SHORT_NAME_MODE = "permissive"


class AliasError(ValueError):
    """An alias name or value that containers/image would reject."""


class Alias(FrozenRecord):
    """An alias: ``value`` is the normalised name, or None when set to "" (erased); ``origin`` is the file."""

    __slots__ = ("value", "origin")

    def __init__(self, value: str | None, origin: str) -> None:
        self.value: Final = value
        self.origin: Final = origin


def _is_host(domain: str) -> bool:
    """``reference.Domain`` names a registry: it has a ``.`` or ``:``, or is ``localhost``.

    The domain is what the name grammar captured (``RawReference.domain``), not the first path
    component: in ``a.b_c/x`` the first component is no domain (``_``), so the domain is empty."""
    return any(c in domain for c in ".:") or domain == "localhost"


def validate_short_name(name: str) -> None:
    """The left-hand side: a repository name without registry, tag or digest."""
    try:
        raw = parse_raw(name)
    except InvalidReference as e:
        raise AliasError(f"cannot parse short name {name!r}: {e.message}") from None
    if raw.digest is not None:
        raise AliasError(f"invalid short name {name!r}: must not contain digest")
    if raw.tag is not None:
        raise AliasError(f"invalid short name {name!r}: must not contain tag")
    if _is_host(raw.domain):
        raise AliasError(f"invalid short name {name!r}: must not contain registry")


def parse_short_name_value(value: str) -> str:
    """The right-hand side: ``registry/repository`` without tag or digest; returns it normalised."""
    try:
        raw = parse_raw(value)
    except InvalidReference as e:
        raise AliasError(f"error parsing alias {value!r}: {e.message}") from None
    if raw.digest is not None:
        raise AliasError(f"invalid alias {value!r}: must not contain digest")
    if raw.tag is not None:
        raise AliasError(f"invalid alias {value!r}: must not contain tag")
    if not _is_host(raw.domain):
        raise AliasError(f"invalid alias {value!r}: must contain registry and repository")
    try:
        return parse_reference(value).name
    except InvalidReference as e:
        raise AliasError(f"error parsing alias {value!r}: {e.message}") from None


def parse_aliases(aliases: Mapping[str, str], origin: str) -> dict[str, Alias]:
    """Validate a whole ``[aliases]`` table; every malformed entry is reported at once."""
    result: dict[str, Alias] = {}
    errors: list[str] = []
    for name, value in aliases.items():
        try:
            validate_short_name(name)
        except AliasError as e:
            errors.append(str(e))
        if value == "":
            result[name] = Alias(None, origin)
            continue
        try:
            result[name] = Alias(parse_short_name_value(value), origin)
        except AliasError as e:
            errors.append(str(e))
    if errors:
        raise AliasError("; ".join(errors))
    return result
