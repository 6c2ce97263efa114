"""Decide from the image config what kind of image this is and which paths to extract.

The labels let us plan before downloading anything; after extraction, ``registry_v1.check``
cross-checks them with ``metadata/annotations.yaml`` (an unambiguous metadata directory; docs/formats.md).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from typing import Final, Literal, cast

from imgextract.bundles import labels as L
from imgextract.errors import InvalidBundleError, UsageError, option, remedy
from imgextract.records import FrozenRecord

Kind = Literal["registry+v1", "plain+v0", "fbc", "imgpkg", "image"]


class Plan(FrozenRecord):
    """What to extract: the kind, the selected paths (None = everything), bundle facts from labels."""

    __slots__ = ("kind", "paths", "manifests_dir", "metadata_dir", "labels")

    def __init__(
        self,
        kind: Kind,
        paths: tuple[str, ...] | None,
        manifests_dir: str | None = None,
        metadata_dir: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self.kind: Final = kind
        self.paths: Final = paths
        self.manifests_dir: Final = manifests_dir
        self.metadata_dir: Final = metadata_dir
        self.labels: Final[Mapping[str, str]] = labels if labels is not None else {}


def clean_dir(value: str, *, what: str) -> str:
    """Normalise a directory label (``/manifests``, ``manifests/``, ``./manifests``) to ``manifests/``."""
    p = posixpath.normpath("/" + value.strip()).lstrip("/")
    if not p or p == ".":
        raise InvalidBundleError(f"{what} directory {value!r} names the image root")
    return p + "/"


def detect_kind(labels: Mapping[str, str]) -> Kind:
    if L.SQLITE_INDEX in labels and L.FBC_CONFIGS not in labels:
        raise InvalidBundleError(
            f"sqlite-based index images are no longer supported; use {option('paths')} or {option('all')}"
        )
    if L.FBC_CONFIGS in labels:
        return "fbc"
    if L.IMGPKG_BUNDLE in labels:
        return "imgpkg"
    mediatype = labels.get(L.MEDIATYPE)
    if mediatype == "registry+v1" or (mediatype is None and L.PACKAGE in labels):
        return "registry+v1"
    if mediatype in ("plain", "plain+v0"):
        return "plain+v0"
    return "image"


KINDS = ("registry+v1", "plain+v0", "fbc", "imgpkg", "image")


def check_request(*, paths: Sequence[str] = (), all_paths: bool = False, kind: str | None = None) -> None:
    """What :func:`plan` refuses whatever the image: an unknown ``kind``, ``all`` with ``paths``
    (checked again by ``plan``; a pull checks it first, before any request)."""
    if kind is not None and kind not in KINDS:
        raise UsageError(f"{option('kind', kind)}: expected one of {', '.join(KINDS)}")
    if all_paths and paths:
        raise UsageError(f"{option('all')} and {option('paths')} are mutually exclusive")


def plan(
    labels: Mapping[str, str] | None,
    *,
    paths: Sequence[str] = (),
    all_paths: bool = False,
    kind: str | None = None,
) -> Plan:
    """What to extract.  ``kind`` overrides detection (a bundle built without labels: OLM's unpacker
    needs none); directories then default to what the labels would have said (``manifests/``,
    ``metadata/``, ``configs/``).  ``kind="imgpkg"`` still needs imgpkg's bundle label, as imgpkg does."""
    labels = dict(labels or {})
    check_request(paths=paths, all_paths=all_paths, kind=kind)
    kind = cast(Kind, kind) if kind is not None else detect_kind(labels)
    if kind == "imgpkg" and L.IMGPKG_BUNDLE not in labels:
        # imgpkg decides from the config's labels alone, before any layer (a label's presence counts)
        raise InvalidBundleError("Expected bundle image but found plain image")
    manifests = metadata = None
    if kind == "registry+v1":
        manifests = clean_dir(labels.get(L.MANIFESTS, "manifests/"), what="manifests")
        metadata = clean_dir(labels.get(L.METADATA, "metadata/"), what="metadata")
    elif kind == "plain+v0":
        manifests = clean_dir(labels.get(L.MANIFESTS, "manifests/"), what="manifests")
    if all_paths or kind == "imgpkg":
        return Plan(kind, None, manifests, metadata, labels)
    if paths:
        cleaned = tuple(_clean_path(p) for p in paths)
        return Plan(kind, None if "." in cleaned else cleaned, manifests, metadata, labels)
    if kind == "registry+v1":
        assert manifests and metadata
        return Plan(kind, (manifests.rstrip("/"), metadata.rstrip("/")), manifests, metadata, labels)
    if kind == "plain+v0":
        assert manifests
        return Plan(kind, (manifests.rstrip("/"),), manifests, None, labels)
    if kind == "fbc":
        configs = labels.get(L.FBC_CONFIGS, "configs/")
        return Plan(kind, (clean_dir(configs, what="catalog configs").rstrip("/"),), None, None, labels)
    mediatype = labels.get(L.MEDIATYPE)
    if kind == "image" and mediatype:
        raise UsageError(
            f"bundle media type {mediatype!r} is not supported (registry+v1 and plain are): {remedy('paths_or_all')}"
        )
    raise UsageError(f"image type could not be determined from its labels: {remedy('paths_or_all')}")


def _clean_path(p: str) -> str:
    cleaned = posixpath.normpath("/" + p).lstrip("/")
    return cleaned or "."
