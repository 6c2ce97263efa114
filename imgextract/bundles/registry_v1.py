"""registry+v1 bundles: cross-check image labels against ``metadata/annotations.yaml``.

Nobody upstream compares the two (shared/spec/olm-formats.md); the seed's goal is an
unambiguous metadata directory, so a disagreement on any key both sides carry is an
invalid bundle (exit 6) naming both values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from imgextract.bundles import labels as L
from imgextract.bundles.detect import Plan, clean_dir
from imgextract.errors import InvalidBundleError
from imgextract.layers.fsroot import RootFS

MAX_ANNOTATIONS_BYTES = 1024 * 1024


@dataclass(frozen=True)
class BundleInfo:
    """An OLM bundle's package, channels and directories (from its labels and annotations.yaml)."""

    package: str | None
    channels: tuple[str, ...]
    default_channel: str | None
    manifests_dir: str | None
    metadata_dir: str | None
    annotations: Mapping[str, str]

    def to_json(self) -> dict[str, object]:
        return {
            "package": self.package,
            "channels": list(self.channels),
            "defaultChannel": self.default_channel,
            "manifestsDir": self.manifests_dir,
            "metadataDir": self.metadata_dir,
        }


def read_annotations(path: Path) -> dict[str, str]:
    """The ``annotations:`` map of an annotations.yaml, values as strings."""
    import yaml  # only registry+v1 bundles with an annotations.yaml pay for the YAML parser

    try:
        if path.stat().st_size > MAX_ANNOTATIONS_BYTES:
            raise InvalidBundleError(f"{path.name} is larger than {MAX_ANNOTATIONS_BYTES} bytes")
        doc = yaml.safe_load(path.read_bytes())
    except yaml.YAMLError as exc:
        raise InvalidBundleError(f"{path.name} is not valid YAML: {str(exc).splitlines()[0]}") from None
    except OSError as exc:
        raise InvalidBundleError(f"cannot read {path.name}: {exc.strerror}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("annotations"), dict):
        raise InvalidBundleError(f"{path.name} has no 'annotations' map")
    if any(isinstance(v, list | dict) for v in doc["annotations"].values()):  # str() would expand alias bombs
        raise InvalidBundleError(f"{path.name}: annotation values must be strings")
    return {str(k): "" if v is None else str(v) for k, v in doc["annotations"].items()}


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


def check(root: Path, plan: Plan) -> BundleInfo:
    """Validate an extracted registry+v1 bundle under ``root`` against the labels in ``plan``."""
    assert plan.metadata_dir is not None and plan.manifests_dir is not None
    ann_path = root / plan.metadata_dir / L.ANNOTATIONS_FILE
    fs = RootFS(root)
    try:  # read through the kernel below: an absolute or climbing symlink would read a host file
        escapes = fs.escapes([*plan.metadata_dir.split("/"), L.ANNOTATIONS_FILE])
    finally:
        fs.close()
    if escapes:
        raise InvalidBundleError(
            f"{plan.metadata_dir}{L.ANNOTATIONS_FILE} is a symlink that leads outside the image"
        )
    if not ann_path.is_file():
        raise InvalidBundleError(
            f"registry+v1 bundle has no {plan.metadata_dir}{L.ANNOTATIONS_FILE} (metadata dir from image labels)"
        )
    annotations = read_annotations(ann_path)
    for key in L.BUNDLE_KEYS:
        if key in plan.labels and key in annotations and not _same(key, plan.labels[key], annotations[key]):
            raise InvalidBundleError(
                f"bundle label {key}={plan.labels[key]!r} disagrees with "
                f"{plan.metadata_dir}{L.ANNOTATIONS_FILE} value {annotations[key]!r}"
            )
    package = annotations.get(L.PACKAGE) or plan.labels.get(L.PACKAGE)
    if not package:
        raise InvalidBundleError(f"bundle has no {L.PACKAGE} in labels or {L.ANNOTATIONS_FILE}")
    manifests = root / plan.manifests_dir
    if not manifests.is_dir() or not any(manifests.iterdir()):
        raise InvalidBundleError(f"bundle manifests directory {plan.manifests_dir} is missing or empty")
    channels = _channels(annotations.get(L.CHANNELS) or plan.labels.get(L.CHANNELS))
    default = annotations.get(L.DEFAULT_CHANNEL) or plan.labels.get(L.DEFAULT_CHANNEL) or None
    return BundleInfo(package, channels, default, plan.manifests_dir, plan.metadata_dir, annotations)


def check_plain(root: Path, plan: Plan) -> BundleInfo:
    """plain+v0: a flat manifests directory with at least one file."""
    assert plan.manifests_dir is not None
    manifests = root / plan.manifests_dir
    if not manifests.is_dir() or not any(p.is_file() for p in manifests.iterdir()):
        raise InvalidBundleError(f"plain bundle manifests directory {plan.manifests_dir} is missing or empty")
    return BundleInfo(
        plan.labels.get(L.PACKAGE), _channels(plan.labels.get(L.CHANNELS)), None, plan.manifests_dir, None, {}
    )
