"""Content digests (``algorithm:hex``) as the OCI image spec defines them."""

from __future__ import annotations

import hashlib
import re

from imgextract.errors import IntegrityError

ALGORITHMS = {"sha256": 64, "sha384": 96, "sha512": 128}
_DIGEST = re.compile(r"^(sha256|sha384|sha512):([a-f0-9]+)$")


def is_digest(value: str) -> bool:
    match = _DIGEST.match(value)
    return bool(match) and len(match.group(2)) == ALGORITHMS[match.group(1)]  # type: ignore[union-attr]


def new_hasher(algorithm: str) -> hashlib._Hash:
    if algorithm not in ALGORITHMS:
        raise IntegrityError(f"unsupported digest algorithm {algorithm!r}")
    return hashlib.new(algorithm)


def compute_digest(data: bytes, *, algorithm: str = "sha256") -> str:
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return f"{algorithm}:{hasher.hexdigest()}"
