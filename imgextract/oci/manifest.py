"""Descriptors, image manifests and indexes (OCI and Docker v2): strict parsing, platform selection.

Pure: no network.  Parsing is strict about what the specs require (a missing or mistyped
required field raises :class:`IntegrityError`) and lenient about what they leave optional
(``mediaType`` in OCI documents, annotations, platform details).  Docker schema 1 manifests
are recognised only to be refused with a clear message.  A descriptor's digest is parsed into
a :class:`~imgextract.oci.digest.Digest` here, at the edge.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from imgextract.errors import IntegrityError, NotFoundError, remedy
from imgextract.oci.digest import Digest, is_unsupported_algorithm
from imgextract.oci.fields import Struct, fold, go_fields, load_object, string_map, strings
from imgextract.oci.mediatypes import (
    DOCKER_MANIFEST,
    DOCKER_SCHEMA2_TYPES,
    INDEX_TYPES,
    MANIFEST_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    SCHEMA1_MESSAGE,
    SCHEMA1_TYPES,
    base_media_type,
    check_schema,
)
from imgextract.oci.platform import Platform
from imgextract.records import FrozenRecord

# The image-spec Go types (specs-go/v1), as encoding/json decodes them (see imgextract.oci.fields).
_DESCRIPTOR = Struct(
    "descriptor",
    mediaType="string",
    digest="string",
    size="int64",
    urls="strings",
    annotations="map",
    data="bytes",
    platform="pointer",
    artifactType="string",
)
_MANIFEST = Struct(
    "manifest",
    schemaVersion="int64",
    mediaType="string",
    artifactType="string",
    config="struct",
    layers="list",
    subject="pointer",
    annotations="map",
)
_INDEX = Struct(
    "index",
    schemaVersion="int64",
    mediaType="string",
    artifactType="string",
    manifests="list",
    subject="pointer",
    annotations="map",
)


class Descriptor(FrozenRecord):
    """A content descriptor: media type, digest and size of a blob or manifest, and its extras."""

    __slots__ = ("media_type", "digest", "size", "urls", "annotations", "platform", "artifact_type")

    def __init__(
        self,
        media_type: str,
        digest: str,
        size: int,
        urls: tuple[str, ...] = (),
        annotations: Mapping[str, str] | None = None,
        platform: Platform | None = None,
        artifact_type: str = "",
    ) -> None:
        self.media_type: Final = media_type
        self.digest: Final = digest
        self.size: Final = size
        self.urls: Final = urls
        self.annotations: Final[Mapping[str, str]] = annotations if annotations is not None else {}
        self.platform: Final = platform
        self.artifact_type: Final = artifact_type

    @classmethod
    def from_json(cls, data: Any, what: str = "descriptor", *, used: bool = True) -> Descriptor:
        """Decoded as Go decodes ``v1.Descriptor`` (see :mod:`imgextract.oci.fields`);
        ``mediaType``, ``digest`` and ``size`` are required, the size not negative.

        ``used=False`` (an index entry, a subject: read, not necessarily fetched): a digest of an
        algorithm we do not support but within the spec's grammar is kept as written, for
        :func:`select_platform` to refuse if that entry is the one chosen."""
        if not isinstance(data, dict):
            raise IntegrityError(f"malformed {what}: not an object")
        fields = _DESCRIPTOR.decode(data, what)
        for name in ("mediaType", "digest", "size"):
            if name.lower() not in fields:
                raise IntegrityError(f"malformed {what}: missing {name!r}")
        media_type: str = fields["mediatype"]
        raw_digest: str = fields["digest"]
        size: int = fields["size"]
        try:
            digest = str(Digest.parse(raw_digest))
        except IntegrityError:
            if used or not is_unsupported_algorithm(raw_digest):
                raise IntegrityError(f"malformed {what}: bad digest {raw_digest[:80]!r}") from None
            digest = raw_digest
        if size < 0:
            raise IntegrityError(f"malformed {what}: bad size {size}")
        urls = strings(fields.get("urls"))
        annotations = string_map(fields.get("annotations"))
        platform = fields.get("platform")
        artifact_type = fields.get("artifacttype", "")
        return cls(
            media_type=media_type,
            digest=digest,
            size=size,
            urls=urls,
            annotations=annotations,
            platform=Platform.from_json(platform) if platform is not None else None,
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


class Manifest(FrozenRecord):
    """An image manifest: its config and layer descriptors."""

    __slots__ = ("media_type", "config", "layers", "annotations", "artifact_type", "subject")

    def __init__(
        self,
        media_type: str,
        config: Descriptor,
        layers: tuple[Descriptor, ...],
        annotations: Mapping[str, str] | None = None,
        artifact_type: str = "",
        subject: Descriptor | None = None,
    ) -> None:
        self.media_type: Final = media_type
        self.config: Final = config
        self.layers: Final = layers
        self.annotations: Final[Mapping[str, str]] = annotations if annotations is not None else {}
        self.artifact_type: Final = artifact_type
        self.subject: Final = subject


class Index(FrozenRecord):
    """An image index (or Docker manifest list): one descriptor per platform image."""

    __slots__ = ("media_type", "manifests", "annotations")

    def __init__(
        self, media_type: str, manifests: tuple[Descriptor, ...], annotations: Mapping[str, str] | None = None
    ) -> None:
        self.media_type: Final = media_type
        self.manifests: Final = manifests
        self.annotations: Final[Mapping[str, str]] = annotations if annotations is not None else {}

    def platforms(self) -> list[Platform]:
        return [d.platform for d in self.manifests if d.platform is not None]


def _document_type(
    data: Mapping[str, Any], content_type: str | None, allowed: frozenset[str], oci_default: str, what: str
) -> str:
    """The document's media type: ``mediaType`` in the body (optional for OCI), else the HTTP type."""
    declared = go_fields(data).get("mediatype")
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


# The fields that tell an image manifest, an index and a Docker schema1 manifest apart.
_DISTINCTIVE_FIELDS = {fold(name): name for name in ("config", "fsLayers", "history", "layers", "manifests")}


def _check_unambiguous(data: Mapping[str, Any], allowed: tuple[str, ...], media_type: str, what: str) -> None:
    """containers/image ``validateUnambiguousManifestFormat``: a document holding the fields of
    another kind (an index's ``manifests``, a manifest's ``config``/``layers``, schema1's
    ``fsLayers``/``history``) is refused, so the same bytes cannot mean two things to two tools.
    Names match as Go's JSON decoder matches them (:func:`~imgextract.oci.fields.fold`, not
    ``str.casefold``, which expands ligatures such as U+FB01: ``conﬁg`` names no field in Go), the
    last key wins, and a ``null`` value leaves the field unset."""
    last: dict[str, Any] = {}
    for key, value in data.items():
        field = _DISTINCTIVE_FIELDS.get(fold(key))
        if field is not None:
            last[field] = value
    unexpected = sorted(f for f, value in last.items() if value is not None and f not in allowed)
    if unexpected:
        raise IntegrityError(
            f"malformed {what}: rejecting ambiguous manifest, unexpected fields {unexpected} "
            f"in supposedly {media_type}"
        )


def parse_manifest(raw: bytes, media_type: str | None = None) -> Manifest:
    """Parse an image manifest (OCI or Docker v2); ``media_type`` is the HTTP Content-Type, if any."""
    what = "manifest"
    data = load_object(raw, what)
    check_schema(data, what)
    mt = _document_type(data, media_type, MANIFEST_TYPES, OCI_MANIFEST, what)
    _check_unambiguous(data, ("config", "layers"), mt, what)
    fields = _MANIFEST.decode(data)
    config = Descriptor.from_json(fields.get("config"), "manifest config descriptor")
    if "layers" not in fields:
        raise IntegrityError(f"malformed {what}: missing 'layers'")
    layers = tuple(Descriptor.from_json(item, "manifest layer descriptor") for item in fields["layers"])
    if mt == DOCKER_MANIFEST:
        _check_docker_types(fields.get("mediatype", ""), layers)
    return Manifest(
        media_type=mt,
        config=config,
        layers=layers,
        annotations=string_map(fields.get("annotations")),
        artifact_type=fields.get("artifacttype", ""),
        subject=_subject(fields, what),
    )


def _check_docker_types(declared: str, layers: Iterable[Descriptor]) -> None:
    """containers/image ``Schema2FromManifest``: the body's ``mediaType`` and every layer's are
    Docker types (``SupportedSchema2MediaType``); skopeo and podman refuse anything else."""
    for media_type in (declared, *(layer.media_type for layer in layers)):
        if media_type not in DOCKER_SCHEMA2_TYPES:
            raise IntegrityError(f"malformed manifest: unsupported docker v2s2 media type: {media_type!r}")


def _subject(fields: Mapping[str, Any], what: str) -> Descriptor | None:
    """The ``subject`` descriptor, or None.  containers/image decodes it (a mistyped field is an
    error) but a pull never validates it: one missing a required field or with a digest no
    algorithm reads (``"subject": {}``) is None here, not a malformed document."""
    subject = fields.get("subject")
    if subject is None:
        return None
    try:
        return Descriptor.from_json(subject, f"{what} subject", used=False)
    except IntegrityError:
        checked = _DESCRIPTOR.decode(subject, f"{what} subject")  # mistyped: malformed, as in Go
        if checked.get("platform") is not None:
            Platform.from_json(checked["platform"])
        return None


def parse_index(raw: bytes, media_type: str | None = None) -> Index:
    """Parse an image index (OCI) or manifest list (Docker)."""
    what = "index"
    data = load_object(raw, what)
    check_schema(data, what)
    mt = _document_type(data, media_type, INDEX_TYPES, OCI_INDEX, what)
    _check_unambiguous(data, ("manifests",), mt, what)
    fields = _INDEX.decode(data)
    if "manifests" not in fields:
        raise IntegrityError(f"malformed {what}: missing 'manifests'")
    manifests = tuple(Descriptor.from_json(item, "index entry", used=False) for item in fields["manifests"])
    _subject(fields, what)
    return Index(media_type=mt, manifests=manifests, annotations=string_map(fields.get("annotations")))


def select_platform(index: Index, platform: Platform) -> Descriptor:
    """The entry of ``index`` a pull for ``platform`` takes: the first of :func:`matching`.

    No match raises :class:`NotFoundError` in containers/image's words (``ChooseInstance``: "no
    image found in image index for architecture ..., variant ..., OS ...", "manifest list" for a
    Docker list), listing the platforms the index offers.
    """
    found = matching(index, platform)
    if found:
        return usable(found[0])
    available = _describe_platforms(index.platforms())
    kind = "image index" if index.media_type == OCI_INDEX else "manifest list"
    raise NotFoundError(
        f"no image found in {kind} for architecture {_quoted(platform.architecture)}, variant "
        f"{_quoted(platform.variant)}, OS {_quoted(platform.os)} (available: {available}){remedy('platform')}"
    )


# Index entry types a pull knows (schema 1 and a nested index only to refuse them by name).
_KNOWN_ENTRY_TYPES = MANIFEST_TYPES | INDEX_TYPES | SCHEMA1_TYPES


def is_candidate(descriptor: Descriptor) -> bool:
    """An index entry platform matching may take: it has a platform, and a media type we know
    (image-index.md: "An encountered mediaType that is unknown to the implementation MUST be
    ignored")."""
    return descriptor.platform is not None and descriptor.media_type in _KNOWN_ENTRY_TYPES


def candidates(index: Index) -> list[tuple[Descriptor, tuple[str, str, str]]]:
    """The entries of ``index`` platform matching may take (:func:`is_candidate`), in order,
    each with its platform's :meth:`~Platform.key`, normalised once."""
    return [(d, d.platform.key()) for d in index.manifests if d.platform is not None and is_candidate(d)]


def matching(index: Index, platform: Platform) -> list[Descriptor]:
    """The entries a pull for ``platform`` may take, in index order: those of the first of
    :meth:`Platform.compatible` any entry matches (containerd semantics, see
    :meth:`Platform.matches`; arm/v7 runs arm/v6, ...).  When none matches, an OCI index's image
    manifests without a platform, as containers/image's ``OCI1Index.chooseInstance`` (and
    containerd's ``images.Manifest``) take them, after every platform match; a Docker list's
    entries always carry a platform (an empty one matches nothing).  Entries with a platform that
    does not match (attestations: ``unknown/unknown``) or of a media type we do not know never
    match."""
    offered = candidates(index)
    for candidate in platform.compatible():
        wanted = candidate.key()
        found = [d for d, key in offered if key == wanted]
        if found:
            return found
    if index.media_type != OCI_INDEX:
        return []
    return [d for d in index.manifests if d.platform is None and d.media_type in MANIFEST_TYPES]


def usable(descriptor: Descriptor) -> Descriptor:
    """``descriptor``, when its digest is one we can verify (go-digest ``Validate``: an entry of an
    unsupported algorithm, kept by :func:`parse_index`, is an IntegrityError once chosen)."""
    if is_unsupported_algorithm(descriptor.digest):
        raise IntegrityError(f"unsupported digest algorithm in {descriptor.digest[:80]!r}")
    return descriptor


def _quoted(text: str) -> str:
    """Go's ``%q`` of a platform field (JSON's quoting, which agrees for what a platform holds)."""
    return json.dumps(text[:200])


def _describe_platforms(platforms: Iterable[Platform]) -> str:
    names = sorted({str(p) for p in platforms if p.os and p.architecture and p.os != "unknown"})
    return ", ".join(names) if names else "none"
