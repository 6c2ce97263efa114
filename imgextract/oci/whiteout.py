"""The whiteout vocabulary of OCI layers (image-spec ``layer.md``), in one place.

* ``.wh.NAME`` in directory D removes ``D/NAME`` (and everything below it) from the lower layers.
* ``.wh..wh..opq`` in directory D removes every child of D from the lower layers; D itself and
  the entries of D in the same layer stay.
* Other names starting ``.wh..wh.`` are reserved: they are ignored.
* A whiteout never affects entries of its own layer.

The layer applier (hostile-input rules), the content cache's layer index and the imgpkg file
reader all classify names with these functions.
"""

from __future__ import annotations

PREFIX = ".wh."
"""Prefix of a whiteout file name."""

META_PREFIX = ".wh..wh."
"""Prefix of the reserved (meta) whiteout names."""

OPAQUE = ".wh..wh..opq"
"""The opaque-directory marker."""


def is_whiteout(base: str) -> bool:
    """True for any name the whiteout vocabulary claims (plain, opaque or reserved)."""
    return base.startswith(PREFIX)


def is_opaque(base: str) -> bool:
    """True for the opaque-directory marker."""
    return base == OPAQUE


def is_reserved(base: str) -> bool:
    """True for ``.wh..wh.*`` names other than the opaque marker (they are ignored)."""
    return base.startswith(META_PREFIX) and base != OPAQUE


def target(base: str) -> str | None:
    """The name a plain whiteout ``.wh.NAME`` removes; None for opaque/reserved/other names.

    The empty name and ``.``/``..`` come back as they are: whether they are an error is the
    caller's policy (the applier refuses them).
    """
    if not base.startswith(PREFIX) or base.startswith(META_PREFIX):
        return None
    return base[len(PREFIX) :]
