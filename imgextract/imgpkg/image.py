"""Deterministic images in the shape imgpkg builds and reads.

Docker schema 2 media types, ONE gzip layer (``.`` directory first, directories 0700, files 0600,
mtime 0, uid/gid 0, no symlinks, gzip mtime 0), a config with optional labels.  The same files give
the same digests, so writing a locations image twice yields the same manifest.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import posixpath
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass

from imgextract import oci

ZERO_TIME = "0001-01-01T00:00:00Z"  # go-containerregistry's zero time in configs


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class BuiltImage:
    manifest: bytes
    config: bytes
    layer: bytes
    diff_id: str
    media_type: str = oci.DOCKER_MANIFEST

    @property
    def digest(self) -> str:
        return sha256(self.manifest)

    @property
    def config_digest(self) -> str:
        return sha256(self.config)

    @property
    def layer_digest(self) -> str:
        return sha256(self.layer)

    def blobs(self) -> list[tuple[str, bytes]]:
        """(digest, content) of the blobs to upload before the manifest."""
        return [(self.config_digest, self.config), (self.layer_digest, self.layer)]


def _clean(path: str) -> str:
    p = posixpath.normpath("/" + path).lstrip("/")
    if not p or p == ".":
        raise ValueError(f"invalid file path {path!r}")
    return p


def build_tar(files: Mapping[str, bytes]) -> bytes:
    """A tar stream of ``files`` (relative path -> content) with their parent directories."""
    cleaned = {_clean(k): v for k, v in files.items()}
    dirs = {posixpath.dirname(p) for p in cleaned}
    for d in list(dirs):
        while d:
            dirs.add(d)
            d = posixpath.dirname(d)
    dirs.discard("")
    clash = dirs & cleaned.keys()
    if clash:
        raise ValueError(f"{sorted(clash)[0]!r} is both a file and a directory")
    entries = sorted(
        [(tuple(p.split("/")), p, None) for p in dirs]
        + [(tuple(p.split("/")), p, c) for p, c in cleaned.items()]
    )
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_info(".", None))
        for _parts, path, content in entries:
            info = _info(path, content)
            tar.addfile(info, io.BytesIO(content) if content is not None else None)
    return buf.getvalue()


def _info(path: str, content: bytes | None) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if content is None:
        info.type = tarfile.DIRTYPE
        info.mode = 0o700
    else:
        info.type = tarfile.REGTYPE
        info.mode = 0o600
        info.size = len(content)
    return info


def _json(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def build_image(files: Mapping[str, bytes], *, labels: Mapping[str, str] | None = None) -> BuiltImage:
    """An imgpkg-style image holding ``files``; ``labels`` go into the config (none for locations images)."""
    tar = build_tar(files)
    layer = gzip.compress(tar, compresslevel=9, mtime=0)
    diff_id = sha256(tar)
    config = _json(
        {
            "architecture": "",
            "config": {"Labels": dict(labels)} if labels else {},
            "created": ZERO_TIME,
            "history": [{"created": ZERO_TIME}],
            "os": "",
            "rootfs": {"diff_ids": [diff_id], "type": "layers"},
        }
    )
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": oci.DOCKER_MANIFEST,
            "config": {"mediaType": oci.DOCKER_CONFIG, "size": len(config), "digest": sha256(config)},
            "layers": [{"mediaType": oci.DOCKER_LAYER, "size": len(layer), "digest": sha256(layer)}],
        },
        separators=(",", ":"),
    ).encode()
    return BuiltImage(manifest=manifest, config=config, layer=layer, diff_id=diff_id)
