"""Content digests (``algorithm:hex``): one type, one set of rules, parsed once at the edge.

The OCI image spec registers ``sha256`` and ``sha512``; ``sha384`` is accepted as go-digest and
containers/image accept it.  The encoded part is lowercase hex of exactly the algorithm's length.
Anything else (another algorithm, upper-case hex, a wrong length, a path trick such as
``sha256:../x``) is refused with :class:`~imgextract.errors.IntegrityError` before it reaches a
hasher, a URL or a file name.  One exception, as the image spec asks ("SHOULD allow digests with
unrecognized algorithms to pass validation if they comply with the above grammar"): an index
entry or a subject, which a pull reads but need not fetch, may carry another algorithm within the
spec's grammar (:func:`is_unsupported_algorithm`); choosing such an entry is the IntegrityError.

:class:`Digest` is the parsed form; documents and results keep the canonical text (``str``).
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from imgextract.errors import IntegrityError
from imgextract.records import FrozenRecord

ALGORITHMS: dict[str, int] = {"sha256": 64, "sha384": 96, "sha512": 128}
"""Supported algorithms and the length of their hex encoding."""

_DIGEST = re.compile(r"(sha256|sha384|sha512):([a-f0-9]+)")
# The image spec's digest grammar (descriptor.md; go-digest's DigestRegexp): any algorithm.
_GRAMMAR = re.compile(r"([a-z0-9]+(?:[+._-][a-z0-9]+)*):[a-zA-Z0-9=_-]+")
_HEX = re.compile(r"[a-f0-9]+")


class Digest(FrozenRecord):
    """A validated digest: ``Digest.parse("sha256:…")``; ``str(d)`` is its canonical text.

    Documents keep digests as plain ``str`` (validated by :meth:`parse` where they are read:
    descriptors, diff_ids, references, cache file names); this type is what the validation
    returns and what code that needs the parts (algorithm, hex) works with.
    """

    __slots__ = ("algorithm", "hex")

    def __init__(self, algorithm: str, hex: str) -> None:
        self.algorithm: Final = algorithm
        self.hex: Final = hex
        if ALGORITHMS.get(algorithm) != len(hex) or not _HEX.fullmatch(hex):
            raise IntegrityError(f"unsupported or malformed digest {str(self)[:80]!r}")

    @classmethod
    def parse(cls, value: object) -> Digest:
        """Parse ``algorithm:hex``; anything malformed or unsupported is an IntegrityError."""
        if not isinstance(value, str):
            raise IntegrityError(f"malformed digest {value!r}")
        match = _DIGEST.fullmatch(value)
        if not match:
            raise IntegrityError(f"unsupported or malformed digest {value[:80]!r}")
        return cls(match.group(1), match.group(2))

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        """The digest of ``data`` with ``algorithm``."""
        hasher = new_hasher(algorithm)
        hasher.update(data)
        return cls(algorithm, hasher.hexdigest())

    def hasher(self) -> hashlib._Hash:
        """A fresh hash object of this digest's algorithm."""
        return hashlib.new(self.algorithm)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def is_digest(value: object) -> bool:
    """True when ``value`` is a well-formed, supported digest."""
    if not isinstance(value, str):
        return False
    match = _DIGEST.fullmatch(value)
    return bool(match) and len(match.group(2)) == ALGORITHMS[match.group(1)]  # type: ignore[union-attr]


def is_unsupported_algorithm(value: object) -> bool:
    """True when ``value`` follows the spec's digest grammar with an algorithm we do not support
    (``blake3:...``, ``sha256+b64:...``): valid, but not something we can verify.  Such a digest
    passes where it is not used (spec: "SHOULD allow digests with unrecognized algorithms to pass
    validation"); it is no :class:`Digest`, and never safe to hash, fetch or store by."""
    if not isinstance(value, str):
        return False
    match = _GRAMMAR.fullmatch(value)
    return match is not None and match.group(1) not in ALGORITHMS


def new_hasher(algorithm: str) -> hashlib._Hash:
    """A hash object for a supported algorithm; anything else is an IntegrityError."""
    if algorithm not in ALGORITHMS:
        raise IntegrityError(f"unsupported digest algorithm {algorithm!r}")
    return hashlib.new(algorithm)


def compute_digest(data: bytes, *, algorithm: str = "sha256") -> str:
    """``algorithm:hex`` of ``data``."""
    return str(Digest.of(data, algorithm))
