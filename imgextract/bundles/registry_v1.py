"""registry+v1 bundles: cross-check image labels against ``metadata/annotations.yaml``.

OLM and opm read annotations.yaml and never the labels, so the check rejects only real
ambiguity: which directory holds the manifests or the metadata, which package, which media
type (a disagreement is an invalid bundle naming both values).  Channels and the
default channel are what annotations.yaml says; a label that differs is a warning
(operator-registry's own test bundles carry such labels).  ``strict`` makes every
disagreement fatal.
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from imgextract.bundles import labels as L
from imgextract.bundles.detect import Plan, clean_dir
from imgextract.errors import InvalidBundleError, option
from imgextract.layers.fsroot import RootFS
from imgextract.records import value_hash

log = logging.getLogger(__name__)

# Keys whose disagreement leaves OLM's reading of the bundle unchanged (annotations.yaml wins).
ADVISORY_KEYS = frozenset({L.CHANNELS, L.DEFAULT_CHANNEL})
__all__ = ["ADVISORY_KEYS", "BundleInfo", "check", "check_plain"]


@dataclass(frozen=True)
class BundleInfo:
    """An OLM bundle's package, channels and directories (from its labels and annotations.yaml)."""

    package: str | None
    channels: tuple[str, ...]
    default_channel: str | None
    manifests_dir: str | None
    metadata_dir: str | None
    annotations: Mapping[str, str]

    def __hash__(self) -> int:  # by value: the generated one refuses the mapping fields
        return value_hash(self)

    def to_json(self) -> dict[str, object]:
        """The ``bundle`` object of ``--json``: package, channels, default channel, directories."""
        return {
            "package": self.package,
            "channels": list(self.channels),
            "defaultChannel": self.default_channel,
            "manifestsDir": self.manifests_dir,
            "metadataDir": self.metadata_dir,
        }


def _channels(value: str | None) -> tuple[str, ...]:
    return tuple(c.strip() for c in (value or "").split(",") if c.strip())


def _same(key: str, a: str, b: str) -> bool:
    if key in (L.MANIFESTS, L.METADATA):
        try:
            return clean_dir(a, what=key) == clean_dir(b, what=key)
        except InvalidBundleError:
            return a == b
    if key == L.CHANNELS:
        return set(_channels(a)) == set(_channels(b))
    return a.strip() == b.strip()


def _has_own_file(directory: Path) -> bool:
    """True when ``directory`` holds a file (not a directory) itself, as opm's bundle parser needs.

    opm skips subdirectories of manifests/ and fails with "no bundle objects found" when nothing
    is left; operator-controller refuses them.  The directory may be a symlink within the image
    (the caller checks it does not escape); its entries are not followed (a symlink counts as a
    file, as opm's directory listing sees it).
    """
    if not directory.is_dir():
        return False
    return any(not stat.S_ISDIR(entry.lstat().st_mode) for entry in directory.iterdir())


def check(root: Path, plan: Plan, *, strict: bool = False) -> BundleInfo:
    """Validate an extracted registry+v1 bundle under ``root`` against the labels in ``plan``."""
    assert plan.metadata_dir is not None and plan.manifests_dir is not None
    ann_path = root / plan.metadata_dir / L.ANNOTATIONS_FILE
    # read through the kernel below: an absolute or climbing symlink would read a host file
    with RootFS(root) as fs:
        escapes = fs.escapes([*plan.metadata_dir.split("/"), L.ANNOTATIONS_FILE])
        manifests_escape = fs.escapes(plan.manifests_dir.split("/"))
    if escapes:
        raise InvalidBundleError(
            f"{plan.metadata_dir}{L.ANNOTATIONS_FILE} is a symlink that leads outside the image"
        )
    if not ann_path.is_file():
        raise InvalidBundleError(
            f"registry+v1 bundle has no {plan.metadata_dir}{L.ANNOTATIONS_FILE} (metadata dir from image labels)"
        )
    from imgextract.bundles.annotations import read_annotations  # YAML: loaded for a registry+v1 bundle only

    annotations = read_annotations(ann_path)
    for key in L.BUNDLE_KEYS:
        if key in plan.labels and key in annotations and not _same(key, plan.labels[key], annotations[key]):
            message = (
                f"bundle label {key}={plan.labels[key]!r} disagrees with "
                f"{plan.metadata_dir}{L.ANNOTATIONS_FILE} value {annotations[key]!r}"
            )
            if strict or key not in ADVISORY_KEYS:
                raise InvalidBundleError(
                    message + ("" if key not in ADVISORY_KEYS else f" ({option('strict')})")
                )
            log.warning("%s; using %s as OLM does", message, L.ANNOTATIONS_FILE)
    package = annotations.get(L.PACKAGE) or plan.labels.get(L.PACKAGE)
    if not package:
        raise InvalidBundleError(f"bundle has no {L.PACKAGE} in labels or {L.ANNOTATIONS_FILE}")
    if manifests_escape:
        raise InvalidBundleError(
            f"bundle manifests directory {plan.manifests_dir} is a symlink that leads outside the image"
        )
    if not _has_own_file(root / plan.manifests_dir):
        raise InvalidBundleError(
            f"bundle manifests directory {plan.manifests_dir} has no file directly in it (missing, empty, "
            "or only subdirectories, which opm and OLM do not read)"
        )
    channels = _channels(annotations.get(L.CHANNELS) or plan.labels.get(L.CHANNELS))
    default = annotations.get(L.DEFAULT_CHANNEL) or plan.labels.get(L.DEFAULT_CHANNEL) or None
    return BundleInfo(package, channels, default, plan.manifests_dir, plan.metadata_dir, annotations)


def check_plain(root: Path, plan: Plan) -> BundleInfo:
    """plain+v0: a flat manifests directory whose files hold at least one Kubernetes object.

    rukpak's plain provisioner (``ValidateBundle``, ``getBundleObjects``) reads the manifests
    directory flat and fails on a subdirectory, naming it; it reads every entry as a file of
    objects (a symlink is followed inside the image; an entry it cannot read fails), each
    document must be an object (:mod:`imgextract.bundles.plain`), and zero objects in all is an
    invalid bundle.
    """
    assert plan.manifests_dir is not None
    with RootFS(root) as fs:
        escapes = fs.escapes(plan.manifests_dir.split("/"))
        if escapes:
            raise InvalidBundleError(
                f"plain bundle manifests directory {plan.manifests_dir} is a symlink that leads outside the image"
            )
        manifests = root / plan.manifests_dir
        entries = sorted(manifests.iterdir()) if manifests.is_dir() else []
        for entry in entries:
            if stat.S_ISDIR(entry.lstat().st_mode):
                raise InvalidBundleError(
                    f"{plan.manifests_dir}{entry.name}/ is a directory: a plain bundle's manifests directory "
                    "must be flat (rukpak refuses subdirectories)"
                )
        if not entries:
            raise InvalidBundleError(
                f"plain bundle manifests directory {plan.manifests_dir} is missing or empty"
            )
        from imgextract.bundles.plain import count_objects  # YAML: loaded for a plain bundle only

        objects = 0
        for entry in entries:
            rel = f"{plan.manifests_dir}{entry.name}"
            target = root / fs.canonical(rel.rstrip("/").split("/")) if entry.is_symlink() else entry
            if target.is_symlink() or not target.is_file():
                raise InvalidBundleError(
                    f"{rel} is not a file of the image (a dangling symlink, or one to a directory): "
                    "rukpak cannot read it as manifests"
                )
            with target.open("rb") as fh:
                objects += count_objects(fh, rel)
    if objects == 0:
        raise InvalidBundleError(
            f"plain bundle manifests directory {plan.manifests_dir} holds no Kubernetes object "
            "(rukpak: plain+v0 bundles are required to contain at least one object)"
        )
    return BundleInfo(
        plan.labels.get(L.PACKAGE), _channels(plan.labels.get(L.CHANNELS)), None, plan.manifests_dir, None, {}
    )
