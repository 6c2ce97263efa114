"""ConfigMap keys for bundle files: opm's translation, without opm's silent collisions.

opm (``pkg/configmap``) keys a file by its base name with every character outside
``[-A-Za-z0-9_.]`` replaced by ``-``; two files that translate to the same key silently
overwrite each other, and ``.``, ``..`` or over-long names produce an invalid ConfigMap.
Here the first file (in opm's order) keeps opm's key; every other file that would collide,
and every name that is not a valid key, gets a derived key that is unique and valid, built
deterministically from the file's relative path.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

MAX_KEY_LENGTH = 253
KEY_RE = re.compile(r"[-._a-zA-Z0-9]+")  # matched whole, as Go's "^...$" matches
_UNALLOWED = re.compile(r"[^-A-Za-z0-9_.]")
_MAX_SUFFIX = 16


def opm_key(basename: str) -> str:
    """The key opm gives a file name (may be invalid: empty, ``.``, ``..``, too long)."""
    return _UNALLOWED.sub("-", basename)


def is_valid_key(key: str) -> bool:
    """A key Kubernetes accepts in ``data``/``binaryData`` (apimachinery ``IsConfigMapKey``: not
    ``.``, ``..`` nor starting with ``..``, where the kubelet keeps a mounted volume's own links)."""
    return (
        bool(KEY_RE.fullmatch(key)) and not key.startswith("..") and key != "." and len(key) <= MAX_KEY_LENGTH
    )


def _derived(key: str, path: str, digits: int) -> str:
    tag = hashlib.sha256(path.encode("utf-8")).hexdigest()[:digits]
    stem, dot, suffix = key.rpartition(".")
    if not dot or not stem or len(suffix) > _MAX_SUFFIX or key in (".", ".."):
        stem, suffix = key.strip("."), ""
    if (
        stem.startswith("..") or stem == "."
    ):  # "<stem>.<tag>" would start with "..": IsConfigMapKey refuses it
        stem = stem.lstrip(".")
    ext = f".{suffix}" if suffix else ""
    room = MAX_KEY_LENGTH - len(ext) - len(tag) - 1
    stem = stem[:room] or "file"
    return f"{stem}.{tag}{ext}"


def assign_keys(paths: Iterable[str]) -> dict[str, str]:
    """Map each relative path to a unique valid key; ``paths`` in priority order.

    A path keeps ``opm_key(basename)`` when that is valid and not taken yet, files whose
    name needs no translation being served first (so ``a-b.yaml`` keeps its name next to
    ``a+b.yaml``); otherwise it gets ``<stem>.<first hex digits of sha256(path)>[.<ext>]``,
    lengthening the hash (then counting) in the unlikely case that is taken too.
    """
    ordered = list(paths)
    untranslated = [p for p in ordered if opm_key(_basename(p)) == _basename(p)]
    translated = [p for p in ordered if opm_key(_basename(p)) != _basename(p)]
    taken: set[str] = set()
    keys: dict[str, str] = {}
    for path in untranslated + translated:
        key = opm_key(_basename(path))
        if not is_valid_key(key) or key in taken:
            key = _unique(key, path, taken)
        taken.add(key)
        keys[path] = key
    return {p: keys[p] for p in ordered}


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _unique(key: str, path: str, taken: set[str]) -> str:
    for digits in (8, 16, 64):
        candidate = _derived(key, path, digits)
        if candidate not in taken:
            return candidate
    counter = 0
    while candidate in taken:
        counter += 1
        candidate = _derived(f"{key}-{counter}", path, 64)
    return candidate
