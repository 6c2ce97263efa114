"""Where pull --from-catalog writes: one safe directory per bundle, and its completion marker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imgextract.catalog.model import Bundle
from imgextract.catalog.pull import bundle_dir, is_complete, marker_path, read_marker
from imgextract.errors import InvalidBundleError


def _b(
    package: str = "etcd", name: str = "etcd.v1.0.0", image: str = "r.example/etcd@sha256:" + "a" * 64
) -> Bundle:
    return Bundle(package, name, image, "1.0.0", ("stable",), ())


@pytest.mark.parametrize(
    ("package", "name"),
    [("..", "x"), ("etcd", "../../etc"), ("etcd", "a/b"), ("", "x"), ("etcd", ".hidden"), ("e\0", "x")],
)
def test_hostile_names_are_refused(tmp_path: Path, package: str, name: str) -> None:
    with pytest.raises(InvalidBundleError, match="cannot be a directory name"):
        bundle_dir(tmp_path, _b(package, name))


def test_marker_decides_completion(tmp_path: Path) -> None:
    b = _b()
    dest = bundle_dir(tmp_path, b)
    assert dest == tmp_path / "etcd" / "etcd.v1.0.0"
    assert not is_complete(dest, b)
    dest.mkdir(parents=True)
    assert not is_complete(dest, b), "a directory without its marker is not complete"
    marker_path(dest).write_text(json.dumps({"image": b.image, "digest": "sha256:" + "b" * 64}))
    assert is_complete(dest, b) and read_marker(dest) == {"image": b.image, "digest": "sha256:" + "b" * 64}
    assert not is_complete(dest, _b(image="r.example/etcd@sha256:" + "c" * 64)), "another image: pull again"
    marker_path(dest).write_text("{not json")
    assert not is_complete(dest, b)
