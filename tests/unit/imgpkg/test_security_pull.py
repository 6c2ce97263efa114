"""Security: after extraction, imgpkg localisation reads/writes ``.imgpkg/images.yml`` and creates
``.imgpkg/bundles/<digest>/`` through the kernel; symlinks planted by the image there must not lead
those reads, writes and nested extractions outside the output."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from imgextract.errors import InvalidBundleError
from imgextract.imgpkg.lock import ImageRef, ImagesLock
from imgextract.imgpkg.pull import pull_nested_bundles, read_local_lock
from imgextract.imgpkg.relocate import Relocation

DIGEST = "sha256:" + "ab" * 32
LOCK = ImagesLock((ImageRef(f"reg.example/inner@{DIGEST}"),))


def test_images_lock_through_absolute_symlink_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / ".imgpkg").mkdir(parents=True)
    (outside / ".imgpkg" / "images.yml").write_bytes(LOCK.to_yaml())
    root = tmp_path / "root"
    root.mkdir()
    (root / ".imgpkg").symlink_to(outside / ".imgpkg")
    with pytest.raises(InvalidBundleError):
        read_local_lock(root)


def test_nested_bundles_dir_symlink_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    (root / ".imgpkg").mkdir(parents=True)
    (root / ".imgpkg" / "images.yml").write_bytes(LOCK.to_yaml())
    (root / ".imgpkg" / "bundles").symlink_to(outside)
    top = Relocation(bundle="reg.example/outer@" + DIGEST, lock=LOCK, via="images-lock")
    image = SimpleNamespace(
        media_type="application/vnd.oci.image.manifest.v1+json",
        config=SimpleNamespace(labels={"dev.carvel.imgpkg.bundle": "true"}),
    )
    extracted: list[Path] = []

    def extract_into(img: object, dest: Path) -> None:
        extracted.append(dest)
        raise RuntimeError("stop here")

    with pytest.raises(InvalidBundleError):
        pull_nested_bundles(
            root,
            top,
            resolve=lambda ref: image,  # type: ignore[arg-type,return-value]
            extract_into=extract_into,
        )
    assert extracted == []
    assert list(outside.iterdir()) == []
