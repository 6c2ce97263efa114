"""The deterministic image builder: imgpkg's layer shape, Docker media types, stable digests."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest

from imgextract import oci
from imgextract.imgpkg.image import build_image, build_tar


def _entries(layer: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
        return tar.getmembers()


def test_layer_shape_like_imgpkg() -> None:
    img = build_image({".imgpkg/images.yml": b"x", "config/b.yml": b"bb", "a.txt": b"a"})
    entries = _entries(img.layer)
    assert [e.name.rstrip("/") for e in entries] == [
        ".",
        ".imgpkg",
        ".imgpkg/images.yml",
        "a.txt",
        "config",
        "config/b.yml",
    ]
    for e in entries:
        assert (e.mtime, e.uid, e.gid, e.uname, e.gname) == (0, 0, 0, "", "")
        assert e.mode == (0o700 if e.isdir() else 0o600)
        assert e.isdir() or e.isfile()
    assert img.layer[4:8] == b"\0\0\0\0"  # gzip mtime 0


def test_manifest_and_config_are_consistent_docker_schema2() -> None:
    img = build_image({"f": b"data"}, labels={"dev.carvel.imgpkg.bundle": "true"})
    man = oci.parse_manifest(img.manifest, oci.DOCKER_MANIFEST)
    assert man.media_type == oci.DOCKER_MANIFEST
    assert man.config.media_type == oci.DOCKER_CONFIG and man.config.digest == img.config_digest
    assert [(d.media_type, d.digest, d.size) for d in man.layers] == [
        (oci.DOCKER_LAYER, img.layer_digest, len(img.layer))
    ]
    cfg = oci.parse_config(img.config)
    assert cfg.labels == {"dev.carvel.imgpkg.bundle": "true"}
    assert cfg.diff_ids == ("sha256:" + hashlib.sha256(gzip.decompress(img.layer)).hexdigest(),)
    assert img.digest == "sha256:" + hashlib.sha256(img.manifest).hexdigest()


def test_no_labels_means_empty_config_section() -> None:
    assert json.loads(build_image({"f": b""}).config)["config"] == {}


def test_deterministic_and_content_sensitive() -> None:
    files = {"image-locations.yml": b"---\nkind: ImageLocations\n"}
    assert build_image(files).digest == build_image(dict(files)).digest
    assert build_image(files).digest != build_image({"image-locations.yml": b"other"}).digest


def test_rejects_paths_that_name_root_or_clash() -> None:
    with pytest.raises(ValueError):
        build_tar({".": b""})
    with pytest.raises(ValueError):
        build_tar({"a": b"", "a/b": b""})
