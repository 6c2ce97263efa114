"""Prefix matching and reference rewriting, as containers/image sysregistriesv2 does them.

Matching works on strings that start with a host: a registry, a repository name, or a full
reference string.  A plain prefix matches when it equals the string or is followed by ``/``,
``:`` or ``@``.  Upstream quirk, kept on purpose: prefix ``example.com`` therefore also matches
host ``example.com:5000`` (see docs/mirrors.md).  A wildcard prefix ``*.example.com`` matches a
host ending in ``.example.com`` (never the bare ``example.com``); the matched length is the host
part, and a port after it stays in the rewritten reference.
"""

from __future__ import annotations

from collections.abc import Iterable

from imgextract.errors import InvalidReference
from imgextract.mirrors.model import WILDCARD_PREFIX, Registry
from imgextract.reference import Reference, parse_reference

_TERMINATORS = (":", "/", "@")


class RewriteError(ValueError):
    """A reference cannot be rewritten for an entry (bad prefix, or the result does not parse)."""


def _subdomain_match_length(ref: str, prefix: str) -> int:
    suffix = prefix[1:]  # ".example.com"
    index = ref.find(suffix)
    if index == -1 or "/" in ref[:index]:
        return -1
    index += len(suffix)
    if index == len(ref) or ref[index] in _TERMINATORS:
        return index
    return -1


def ref_matching_prefix(ref: str, prefix: str) -> int:
    """Length of the part of ``ref`` matched by ``prefix``, or -1 (``refMatchingPrefix``)."""
    if prefix.startswith(WILDCARD_PREFIX):
        return _subdomain_match_length(ref, prefix)
    if len(ref) < len(prefix) or not ref.startswith(prefix):
        return -1
    if len(ref) == len(prefix) or ref[len(prefix)] in _TERMINATORS:
        return len(prefix)
    return -1


def find_registry(registries: Iterable[Registry], ref: str) -> Registry | None:
    """The entry with the longest matching prefix; the first one wins a tie (``FindRegistry``)."""
    best: Registry | None = None
    best_len = 0
    for reg in registries:
        if ref_matching_prefix(ref, reg.prefix) != -1 and len(reg.prefix) > best_len:
            best, best_len = reg, len(reg.prefix)
    return best


def rewrite_reference(ref: str, prefix: str, location: str) -> Reference:
    """Replace the part of canonical ``ref`` matched by ``prefix`` with ``location``.

    The result must parse as a canonical (fully qualified, already normalised) reference, as
    ``reference.ParseNamed`` requires.  An empty location (wildcard entries only) keeps ``ref``.
    """
    length = ref_matching_prefix(ref, prefix)
    if length == -1:
        raise RewriteError(f"invalid prefix {prefix!r} for reference {ref!r}")
    if location == "":
        if not prefix.startswith(WILDCARD_PREFIX):
            raise RewriteError(
                f"invalid prefix {prefix!r} for empty location, should be in the format: *.example.com"
            )
        rewritten = ref
    else:
        rewritten = location + ref[length:]
    try:
        parsed = parse_reference(rewritten)
    except InvalidReference as e:
        raise RewriteError(f"rewriting reference {ref!r} to {rewritten!r}: {e.message}") from None
    if str(parsed) != rewritten:
        raise RewriteError(f"rewriting reference {ref!r} to {rewritten!r}: repository name must be canonical")
    return parsed
