"""OCI / Docker manifests: media types, descriptors, strict parsing, platform selection, image config.

Pure: no network.  Parsing is strict about what the specs require (a missing or mistyped
required field raises :class:`IntegrityError`) and lenient about what they leave optional
(``mediaType`` in OCI documents, annotations, platform details).  Docker schema 1 manifests
are recognised only to be refused with a clear message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from imgextract.errors import IntegrityError, NotFoundError, UsageError

# --- media types -------------------------------------------------------------------------------

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDISTRIBUTABLE = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_NONDISTRIBUTABLE_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_UNCOMPRESSED = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
DOCKER_PLUGIN_CONFIG = "application/vnd.docker.plugin.v1+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
SCHEMA1_TYPES = frozenset({DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED})
NON_DISTRIBUTABLE_LAYER_TYPES = frozenset(
    {
        OCI_LAYER_NONDISTRIBUTABLE,
        OCI_LAYER_NONDISTRIBUTABLE_GZIP,
        OCI_LAYER_NONDISTRIBUTABLE_ZSTD,
        DOCKER_FOREIGN_LAYER,
    }
)

# The Accept list sent when fetching a manifest: every type we can identify, schema 1 included so that
# a schema-1-only registry answers with something we can name in the error instead of a 404.
MANIFEST_ACCEPT: tuple[str, ...] = (
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST,
    DOCKER_SCHEMA1_SIGNED,
    DOCKER_SCHEMA1,
)

SCHEMA1_MESSAGE = "Docker schema1 manifests are not supported (re-push the image with a current client)"


def base_media_type(content_type: str | None) -> str:
    """``Content-Type`` without parameters, lower-cased (``a/b; charset=utf-8`` -> ``a/b``)."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def is_index(media_type: str) -> bool:
    return media_type in INDEX_TYPES


def is_manifest(media_type: str) -> bool:
    return media_type in MANIFEST_TYPES


def is_non_distributable(media_type: str) -> bool:
    return media_type in NON_DISTRIBUTABLE_LAYER_TYPES


# --- platforms ---------------------------------------------------------------------------------


def _normalize_os(os_name: str) -> str:
    os_name = os_name.lower()
    return "darwin" if os_name == "macos" else os_name


def _normalize_arch(arch: str, variant: str) -> tuple[str, str]:
    """containerd ``platforms.NormalizeArch``: canonical architecture and variant."""
    arch, variant = arch.lower(), variant.lower()
    if arch == "i386":
        return "386", ""
    if arch in ("x86_64", "x86-64", "amd64"):
        return "amd64", "" if variant == "v1" else variant
    if arch in ("aarch64", "arm64"):
        return "arm64", "v8" if variant in ("", "8", "v8", "v8.0") else variant
    if arch == "armhf":
        return "arm", "v7"
    if arch == "armel":
        return "arm", "v6"
    if arch == "arm":
        if variant in ("", "7"):
            return "arm", "v7"
        if variant in ("5", "6", "8"):
            return "arm", "v" + variant
        return "arm", variant
    return arch, variant


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""
    os_features: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Platform:
        """``os/arch[/variant]`` as given to ``--platform``; raises :class:`UsageError` when malformed."""
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise UsageError(f"invalid platform {text!r}: expected os/arch[/variant]")
        return cls(os=parts[0], architecture=parts[1], variant=parts[2] if len(parts) == 3 else "")

    @classmethod
    def from_json(cls, data: Any) -> Platform:
        if not isinstance(data, dict):
            raise IntegrityError("malformed descriptor: platform is not an object")
        os_name, arch = data.get("os"), data.get("architecture")
        if not isinstance(os_name, str) or not isinstance(arch, str):
            raise IntegrityError("malformed descriptor: platform needs string os and architecture")
        variant = data.get("variant") or ""
        os_version = data.get("os.version") or ""
        features = data.get("os.features") or []
        if not isinstance(variant, str) or not isinstance(os_version, str) or not isinstance(features, list):
            raise IntegrityError("malformed descriptor: platform variant/os.version/os.features mistyped")
        return cls(
            os=os_name,
            architecture=arch,
            variant=variant,
            os_version=os_version,
            os_features=tuple(str(f) for f in features),
        )

    def normalized(self) -> Platform:
        arch, variant = _normalize_arch(self.architecture, self.variant)
        return Platform(
            os=_normalize_os(self.os),
            architecture=arch,
            variant=variant,
            os_version=self.os_version,
            os_features=self.os_features,
        )

    def matches(self, other: Platform) -> bool:
        """containerd's exact matcher: os, architecture and variant equal after normalisation."""
        a, b = self.normalized(), other.normalized()
        return (a.os, a.architecture, a.variant) == (b.os, b.architecture, b.variant)

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


# --- descriptors, manifests, indexes -----------------------------------------------------------


def _require(data: Mapping[str, Any], key: str, kind: type, what: str) -> Any:
    value = data.get(key)
    if value is None:
        raise IntegrityError(f"malformed {what}: missing {key!r}")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise IntegrityError(f"malformed {what}: {key!r} has the wrong type")
    return value


def _string_map(data: Mapping[str, Any], key: str, what: str) -> dict[str, str]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise IntegrityError(f"malformed {what}: {key!r} must map strings to strings")
    return dict(value)


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    urls: tuple[str, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None
    artifact_type: str = ""

    @classmethod
    def from_json(cls, data: Any, what: str = "descriptor") -> Descriptor:
        if not isinstance(data, dict):
            raise IntegrityError(f"malformed {what}: not an object")
        media_type = _require(data, "mediaType", str, what)
        digest = _require(data, "digest", str, what)
        size = _require(data, "size", int, what)
        if ":" not in digest or size < 0:
            raise IntegrityError(f"malformed {what}: bad digest {digest!r} or size {size}")
        urls = data.get("urls") or []
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise IntegrityError(f"malformed {what}: 'urls' must be a list of strings")
        platform = Platform.from_json(data["platform"]) if data.get("platform") is not None else None
        artifact_type = data.get("artifactType") or ""
        if not isinstance(artifact_type, str):
            raise IntegrityError(f"malformed {what}: 'artifactType' must be a string")
        return cls(
            media_type=media_type,
            digest=digest,
            size=size,
            urls=tuple(urls),
            annotations=_string_map(data, "annotations", what),
            platform=platform,
            artifact_type=artifact_type,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.platform is not None:
            p = self.platform
            plat: dict[str, Any] = {"architecture": p.architecture, "os": p.os}
            if p.variant:
                plat["variant"] = p.variant
            if p.os_version:
                plat["os.version"] = p.os_version
            if p.os_features:
                plat["os.features"] = list(p.os_features)
            out["platform"] = plat
        return out


@dataclass(frozen=True)
class Manifest:
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)
    artifact_type: str = ""
    subject: Descriptor | None = None


@dataclass(frozen=True)
class Index:
    media_type: str
    manifests: tuple[Descriptor, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)

    def platforms(self) -> list[Platform]:
        return [d.platform for d in self.manifests if d.platform is not None]


def _load(raw: bytes, what: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"malformed {what}: not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise IntegrityError(f"malformed {what}: not a JSON object")
    return data


def _check_schema(data: Mapping[str, Any], what: str) -> None:
    version = data.get("schemaVersion")
    if version == 1 or base_media_type(data.get("mediaType")) in SCHEMA1_TYPES:
        raise IntegrityError(SCHEMA1_MESSAGE)
    if version != 2 or isinstance(version, bool):
        raise IntegrityError(f"malformed {what}: schemaVersion must be 2, got {version!r}")


def _document_type(
    data: Mapping[str, Any], content_type: str | None, allowed: frozenset[str], oci_default: str, what: str
) -> str:
    """The document's media type: ``mediaType`` in the body (optional for OCI), else the HTTP type."""
    declared = data.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise IntegrityError(f"malformed {what}: 'mediaType' must be a string")
    header = base_media_type(content_type)
    if header in SCHEMA1_TYPES:
        raise IntegrityError(SCHEMA1_MESSAGE)
    if declared:
        if declared not in allowed:
            raise IntegrityError(f"malformed {what}: unexpected mediaType {declared!r}")
        if header in MANIFEST_TYPES | INDEX_TYPES and header != declared:
            raise IntegrityError(
                f"malformed {what}: mediaType {declared!r} disagrees with Content-Type {header!r}"
            )
        return declared
    if header in allowed:
        return header
    if header in MANIFEST_TYPES | INDEX_TYPES:
        raise IntegrityError(f"malformed {what}: Content-Type {header!r} is not a {what}")
    return oci_default


def parse_manifest(raw: bytes, media_type: str | None = None) -> Manifest:
    """Parse an image manifest (OCI or Docker v2); ``media_type`` is the HTTP Content-Type, if any."""
    what = "manifest"
    data = _load(raw, what)
    _check_schema(data, what)
    mt = _document_type(data, media_type, MANIFEST_TYPES, OCI_MANIFEST, what)
    if "manifests" in data:
        raise IntegrityError("malformed manifest: has 'manifests' (an index, not an image manifest)")
    config = Descriptor.from_json(data.get("config"), "manifest config descriptor")
    layers_raw = _require(data, "layers", list, what)
    layers = tuple(Descriptor.from_json(item, "manifest layer descriptor") for item in layers_raw)
    subject = Descriptor.from_json(data["subject"], "manifest subject") if data.get("subject") else None
    artifact_type = data.get("artifactType") or ""
    if not isinstance(artifact_type, str):
        raise IntegrityError("malformed manifest: 'artifactType' must be a string")
    return Manifest(
        media_type=mt,
        config=config,
        layers=layers,
        annotations=_string_map(data, "annotations", what),
        artifact_type=artifact_type,
        subject=subject,
    )


def parse_index(raw: bytes, media_type: str | None = None) -> Index:
    """Parse an image index (OCI) or manifest list (Docker)."""
    what = "index"
    data = _load(raw, what)
    _check_schema(data, what)
    mt = _document_type(data, media_type, INDEX_TYPES, OCI_INDEX, what)
    if "layers" in data or "config" in data:
        raise IntegrityError("malformed index: has 'config'/'layers' (an image manifest, not an index)")
    items = _require(data, "manifests", list, what)
    manifests = tuple(Descriptor.from_json(item, "index entry") for item in items)
    return Index(media_type=mt, manifests=manifests, annotations=_string_map(data, "annotations", what))


def sniff_media_type(raw: bytes, content_type: str | None = None) -> str:
    """The document type of a manifest or index, from Content-Type or, when generic, from the body."""
    header = base_media_type(content_type)
    if header in MANIFEST_TYPES | INDEX_TYPES:
        return header
    if header in SCHEMA1_TYPES:
        raise IntegrityError(SCHEMA1_MESSAGE)
    data = _load(raw, "manifest")
    _check_schema(data, "manifest")
    declared = data.get("mediaType")
    if isinstance(declared, str) and declared in MANIFEST_TYPES | INDEX_TYPES:
        return declared
    if "manifests" in data:
        return OCI_INDEX
    if "config" in data or "layers" in data:
        return OCI_MANIFEST
    raise IntegrityError(f"unrecognised manifest type {header or declared!r}")


def select_platform(index: Index, platform: Platform) -> Descriptor:
    """The first entry of ``index`` matching ``platform`` (containerd semantics; see :meth:`Platform.matches`).

    Entries without a platform (attestations, artifacts) never match.  No match raises
    :class:`NotFoundError` listing the platforms the index offers.
    """
    for descriptor in index.manifests:
        if descriptor.platform is not None and platform.matches(descriptor.platform):
            return descriptor
    available = _describe_platforms(index.platforms())
    raise NotFoundError(
        f"no manifest for platform {platform} in index (available: {available}); choose one with --platform"
    )


def _describe_platforms(platforms: Iterable[Platform]) -> str:
    names = sorted({str(p) for p in platforms if p.os != "unknown"})
    return ", ".join(names) if names else "none"


# --- image config --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageConfig:
    os: str
    architecture: str
    variant: str
    labels: Mapping[str, str]
    diff_ids: tuple[str, ...]

    @property
    def platform(self) -> Platform:
        return Platform(os=self.os, architecture=self.architecture, variant=self.variant)

    @classmethod
    def parse(cls, raw: bytes) -> ImageConfig:
        return parse_config(raw)


def parse_config(raw: bytes) -> ImageConfig:
    """Parse an image config blob (OCI or Docker): labels, rootfs diff_ids, os/arch/variant."""
    what = "image config"
    data = _load(raw, what)
    rootfs = data.get("rootfs")
    if not isinstance(rootfs, dict):
        raise IntegrityError("malformed image config: missing 'rootfs'")
    diff_ids = _require(rootfs, "diff_ids", list, what)
    if not all(isinstance(d, str) and ":" in d for d in diff_ids):
        raise IntegrityError("malformed image config: 'rootfs.diff_ids' must be a list of digests")
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise IntegrityError("malformed image config: 'config' is not an object")
    os_name = data.get("os") or ""
    arch = data.get("architecture") or ""
    variant = data.get("variant") or ""
    if not all(isinstance(v, str) for v in (os_name, arch, variant)):
        raise IntegrityError("malformed image config: os/architecture/variant must be strings")
    return ImageConfig(
        os=os_name,
        architecture=arch,
        variant=variant,
        labels=_string_map(config, "Labels", what),
        diff_ids=tuple(diff_ids),
    )
