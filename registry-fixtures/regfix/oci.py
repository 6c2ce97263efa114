"""Build OCI image layouts (and Docker-media-type variants) in pure Python, deterministically.

Layers are given as lists of tar entries (see the entry constructors below) or as raw tar bytes.
Everything is deterministic: fixed mtime, uid/gid 0, empty user/group names, gzip header mtime 0.

    layout = write_layout(tmp / "img", ImageSpec(layers=[Layer([File("a.txt", "hi")])]), tag="v1")
    layout.digest          # manifest digest (or index digest for multi-platform)
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import zstandard

FIXED_MTIME = 1_700_000_000  # 2023-11-14T22:13:20Z
FIXED_CREATED = "2023-11-14T22:13:20Z"

# Media types
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
REF_NAME = "org.opencontainers.image.ref.name"

Compression = Literal["gzip", "zstd", "none"]
MediaFlavor = Literal["oci", "docker"]


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- tar entries


@dataclass(frozen=True)
class Entry:
    """One tar member: a TarInfo template plus its data (regular files only)."""

    info: tarfile.TarInfo
    data: bytes = b""


def _info(path: str, type_: bytes, mode: int, uid: int = 0, gid: int = 0) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(path)
    ti.type = type_
    ti.mode = mode
    ti.uid, ti.gid = uid, gid
    ti.uname = ti.gname = ""
    ti.mtime = FIXED_MTIME
    return ti


def File(path: str, content: bytes | str = b"", mode: int = 0o644, uid: int = 0, gid: int = 0) -> Entry:  # noqa: N802
    data = content.encode() if isinstance(content, str) else content
    ti = _info(path, tarfile.REGTYPE, mode, uid, gid)
    ti.size = len(data)
    return Entry(ti, data)


def Dir(path: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> Entry:  # noqa: N802
    return Entry(_info(path.rstrip("/") + "/", tarfile.DIRTYPE, mode, uid, gid))


def Symlink(path: str, target: str) -> Entry:  # noqa: N802
    ti = _info(path, tarfile.SYMTYPE, 0o777)
    ti.linkname = target
    return Entry(ti)


def Hardlink(path: str, target: str) -> Entry:  # noqa: N802
    """A hard link to `target` (a path inside the same layer, as written in the tar)."""
    ti = _info(path, tarfile.LNKTYPE, 0o644)
    ti.linkname = target
    return Entry(ti)


def Whiteout(path: str) -> Entry:  # noqa: N802
    """Delete `path` from lower layers: writes `<dir>/.wh.<name>`."""
    head, _, name = path.rstrip("/").rpartition("/")
    return File(f"{head}/.wh.{name}" if head else f".wh.{name}", b"", 0o644)


def Opaque(dir_path: str) -> Entry:  # noqa: N802
    """Opaque whiteout marker: hide everything below `dir_path` from lower layers."""
    d = dir_path.strip("/")
    return File(f"{d}/.wh..wh..opq" if d else ".wh..wh..opq", b"", 0o644)


def Device(path: str, kind: Literal["char", "block"] = "char", major: int = 1, minor: int = 3) -> Entry:  # noqa: N802
    ti = _info(path, tarfile.CHRTYPE if kind == "char" else tarfile.BLKTYPE, 0o666)
    ti.devmajor, ti.devminor = major, minor
    return Entry(ti)


def Fifo(path: str, mode: int = 0o644) -> Entry:  # noqa: N802
    return Entry(_info(path, tarfile.FIFOTYPE, mode))


def Raw(info: tarfile.TarInfo, data: bytes = b"") -> Entry:  # noqa: N802
    """Arbitrary TarInfo, written as given (size is set from data for regular files)."""
    if info.isreg():
        info.size = len(data)
    return Entry(info, data)


def build_tar(entries: Iterable[Entry], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for e in entries:
            tf.addfile(e.info, io.BytesIO(e.data) if e.info.isreg() or e.data else None)
    return buf.getvalue()


def compress(data: bytes, compression: Compression) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor(level=3, write_content_size=True).compress(data)
    if compression == "none":
        return data
    raise ValueError(f"unknown compression {compression!r}")


# --------------------------------------------------------------------------- specs


@dataclass
class Layer:
    """A layer: `entries` (list of Entry) or `tar` (raw uncompressed tar bytes; or already-compressed
    bytes with compression="none" and an explicit media_type).

    Overrides for negative tests: `media_type`, `diff_id` (written into the config instead of the real one),
    `annotations` on the descriptor.
    """

    entries: Sequence[Entry] | None = None
    tar: bytes | None = None
    compression: Compression = "gzip"
    media_type: str | None = None
    diff_id: str | None = None
    annotations: Mapping[str, str] | None = None

    def tar_bytes(self) -> bytes:
        if self.tar is not None:
            return self.tar
        return build_tar(self.entries or [])


@dataclass
class ImageSpec:
    layers: Sequence[Layer | Sequence[Entry]] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None
    media: MediaFlavor = "oci"
    env: Sequence[str] = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)
    cmd: Sequence[str] | None = None
    manifest_annotations: Mapping[str, str] | None = None
    config_override: bytes | None = None  # raw config blob instead of the generated one
    artifact_type: str | None = None

    def platform(self) -> dict[str, str]:
        p = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            p["variant"] = self.variant
        return p


@dataclass(frozen=True)
class BuiltLayer:
    digest: str
    size: int
    media_type: str
    diff_id: str
    tar: bytes  # uncompressed tar


@dataclass(frozen=True)
class BuiltImage:
    digest: str  # manifest digest
    size: int
    media_type: str
    manifest: bytes
    config_digest: str
    config: bytes
    layers: tuple[BuiltLayer, ...]
    platform: dict[str, str]

    @property
    def diff_ids(self) -> list[str]:
        return [la.diff_id for la in self.layers]


@dataclass(frozen=True)
class Layout:
    path: Path
    tag: str
    digest: str  # what the tag points at: manifest digest, or index digest when multi-platform
    media_type: str
    images: tuple[BuiltImage, ...]
    index: bytes | None = None  # raw image index (multi-platform only)

    @property
    def image(self) -> BuiltImage:
        return self.images[0]

    @property
    def oci_ref(self) -> str:
        """`oci:DIR:TAG` as understood by skopeo."""
        return f"oci:{self.path}:{self.tag}"


# --------------------------------------------------------------------------- building


class BlobStore:
    """blobs/sha256 of one layout directory."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "blobs" / "sha256"
        self.dir.mkdir(parents=True, exist_ok=True)

    def put(self, data: bytes) -> tuple[str, int]:
        digest = sha256_digest(data)
        p = self.dir / digest.split(":", 1)[1]
        if not p.exists():
            p.write_bytes(data)
        return digest, len(data)


def _layer_media_type(flavor: MediaFlavor, compression: Compression) -> str:
    if flavor == "docker":
        if compression == "gzip":
            return DOCKER_LAYER_GZIP
        if compression == "none":
            return DOCKER_LAYER
        return OCI_LAYER_ZSTD  # Docker has no zstd layer type; what real tools write
    return {"gzip": OCI_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD, "none": OCI_LAYER}[compression]


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, indent=None, separators=(",", ":")).encode()


def build_image(store: BlobStore, spec: ImageSpec) -> BuiltImage:
    layers: list[BuiltLayer] = []
    for raw in spec.layers:
        layer = raw if isinstance(raw, Layer) else Layer(entries=list(raw))
        tar = layer.tar_bytes()
        blob = compress(tar, layer.compression)
        digest, size = store.put(blob)
        layers.append(
            BuiltLayer(
                digest=digest,
                size=size,
                media_type=layer.media_type or _layer_media_type(spec.media, layer.compression),
                diff_id=layer.diff_id or sha256_digest(tar),
                tar=tar,
            )
        )
    if spec.config_override is not None:
        config = spec.config_override
    else:
        cfg: dict[str, object] = {"Env": list(spec.env)}
        if spec.labels:
            cfg["Labels"] = dict(spec.labels)
        if spec.cmd:
            cfg["Cmd"] = list(spec.cmd)
        conf: dict[str, object] = {
            "created": FIXED_CREATED,
            "architecture": spec.architecture,
            "os": spec.os,
            "config": cfg,
            "rootfs": {"type": "layers", "diff_ids": [la.diff_id for la in layers]},
            "history": [{"created": FIXED_CREATED, "created_by": "regfix"} for _ in layers],
        }
        if spec.variant:
            conf["variant"] = spec.variant
        config = _dumps(conf)
    config_digest, config_size = store.put(config)
    docker = spec.media == "docker"
    manifest: dict[str, object] = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
    }
    if spec.artifact_type:
        manifest["artifactType"] = spec.artifact_type
    manifest["config"] = {
        "mediaType": DOCKER_CONFIG if docker else OCI_CONFIG,
        "digest": config_digest,
        "size": config_size,
    }
    descs = []
    for raw, la in zip(spec.layers, layers, strict=True):
        d: dict[str, object] = {"mediaType": la.media_type, "digest": la.digest, "size": la.size}
        if isinstance(raw, Layer) and raw.annotations:
            d["annotations"] = dict(raw.annotations)
        descs.append(d)
    manifest["layers"] = descs
    if spec.manifest_annotations:
        manifest["annotations"] = dict(spec.manifest_annotations)
    mbytes = _dumps(manifest)
    mdigest, msize = store.put(mbytes)
    return BuiltImage(
        digest=mdigest,
        size=msize,
        media_type=str(manifest["mediaType"]),
        manifest=mbytes,
        config_digest=config_digest,
        config=config,
        layers=tuple(layers),
        platform=spec.platform(),
    )


def build_index(
    store: BlobStore, images: Sequence[BuiltImage], media: MediaFlavor = "oci"
) -> tuple[str, int, bytes]:
    index = {
        "schemaVersion": 2,
        "mediaType": DOCKER_LIST if media == "docker" else OCI_INDEX,
        "manifests": [
            {"mediaType": im.media_type, "digest": im.digest, "size": im.size, "platform": im.platform}
            for im in images
        ],
    }
    raw = _dumps(index)
    digest, size = store.put(raw)
    return digest, size, raw


def write_layout(
    path: Path,
    images: ImageSpec | Sequence[ImageSpec],
    tag: str = "latest",
    *,
    index: bool | None = None,
) -> Layout:
    """Write (or add to) an OCI image layout at `path`; the tag is recorded as ref.name in index.json.

    Several ImageSpecs, or index=True, make a multi-platform image index that the tag points at.
    Calling again on the same directory adds another tag (same tag is replaced).
    """
    specs = [images] if isinstance(images, ImageSpec) else list(images)
    if not specs:
        raise ValueError("at least one image")
    multi = index if index is not None else len(specs) > 1
    path.mkdir(parents=True, exist_ok=True)
    (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    store = BlobStore(path)
    built = tuple(build_image(store, s) for s in specs)
    idx_raw: bytes | None = None
    if multi:
        flavor: MediaFlavor = "docker" if all(s.media == "docker" for s in specs) else "oci"
        digest, size, idx_raw = build_index(store, built, flavor)
        media_type = DOCKER_LIST if flavor == "docker" else OCI_INDEX
        top: dict[str, object] = {"mediaType": media_type, "digest": digest, "size": size}
    else:
        digest, size, media_type = built[0].digest, built[0].size, built[0].media_type
        top = {"mediaType": media_type, "digest": digest, "size": size, "platform": built[0].platform}
    top["annotations"] = {REF_NAME: tag}
    index_path = path / "index.json"
    manifests: list[dict[str, object]] = []
    if index_path.exists():
        old = json.loads(index_path.read_text())
        manifests = [m for m in old.get("manifests", []) if m.get("annotations", {}).get(REF_NAME) != tag]
    manifests.append(top)
    index_path.write_text(
        json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}, indent=2)
    )
    return Layout(path=path, tag=tag, digest=digest, media_type=media_type, images=built, index=idx_raw)
