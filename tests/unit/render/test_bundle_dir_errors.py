"""A bundle image without its ``manifests`` or ``metadata`` directory, as opm reports it.

``bundleParser.Parse`` (operator-registry ``pkg/registry/parse.go``) reads ``fs.Sub(root, "manifests")``
(then ``"metadata"``) of an ``os.DirFS`` with ``fs.ReadDir(sub, ".")``: ``os.DirFS`` names the failing
path ``manifests``, and ``fs.Sub``'s ``fixErr`` shortens it to the sub-filesystem's own name, ``.``;
the error is the system's (``ENOENT``: "no such file or directory", ``ENOTDIR`` from getdents: "not a
directory"), returned unwrapped up to ``Render.Run``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.catalog.render.bundle import BundleError, render_bundle, render_listed
from imgextract.catalog.render.bundlefiles import memory_listing

WIDGET = Path(__file__).resolve().parents[2] / "data" / "render" / "widget-operator"


def _files(prefix: str) -> dict[str, bytes]:
    return {
        p.relative_to(WIDGET).as_posix(): p.read_bytes()
        for p in sorted(WIDGET.rglob("*"))
        if p.is_file() and p.relative_to(WIDGET).as_posix().startswith(prefix)
    }


def _dirs(files: dict[str, bytes]) -> set[str]:
    return {""} | {p.rsplit("/", 1)[0] for p in files}


@pytest.mark.parametrize("keep", ["metadata/", "manifests/"])
def test_a_missing_directory_is_open_dot_enoent(tmp_path: Path, keep: str) -> None:
    files = _files(keep)
    for path, data in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    for call in (
        lambda: render_bundle(tmp_path, image="r/b:1"),
        lambda: render_listed(memory_listing(files, _dirs(files)), image="r/b:1"),
    ):
        with pytest.raises(BundleError) as exc:
            call()
        assert str(exc.value) == "open .: no such file or directory"


def test_a_file_where_the_directory_should_be_is_readdirent_dot(tmp_path: Path) -> None:
    files = _files("metadata/")
    for path, data in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    (tmp_path / "manifests").write_text("not a directory\n")
    with pytest.raises(BundleError) as exc:
        render_bundle(tmp_path, image="r/b:1")
    assert str(exc.value) == "readdirent .: not a directory"
