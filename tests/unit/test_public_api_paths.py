"""A local path that does not exist is named as such by the library, as by the command line: a
pipeline that renders or opens ``/srv/catalogs/x`` before it was written must not be told
"invalid reference format" (the text was never meant as an image reference)."""

from __future__ import annotations

from pathlib import Path

import pytest

import imgextract


@pytest.mark.parametrize("form", ["{tmp}/missing", "./missing-render-dir", "../missing-render-dir"])
def test_render_of_a_missing_directory_says_so(tmp_path: Path, form: str) -> None:
    ref = form.format(tmp=tmp_path)
    with pytest.raises(imgextract.UsageError) as caught:
        imgextract.render(ref, env={"HOME": str(tmp_path)})
    assert str(caught.value).startswith(f"{ref}: no such directory")
    assert not isinstance(caught.value, imgextract.InvalidReference)


def test_render_of_a_file_is_not_an_image_reference(tmp_path: Path) -> None:
    (tmp_path / "catalog.yaml").write_text("schema: olm.package\nname: x\n")
    with pytest.raises(imgextract.ImgExtractError) as caught:
        imgextract.render(str(tmp_path / "catalog.yaml"), env={"HOME": str(tmp_path)})
    assert not isinstance(caught.value, imgextract.InvalidReference)


@pytest.mark.parametrize("how", ["open_catalog", "pull_catalog", "Catalog.open"])
def test_opening_a_missing_catalog_directory_says_so(tmp_path: Path, how: str) -> None:
    ref = str(tmp_path / "catalogs" / "missing")
    with pytest.raises(imgextract.UsageError) as caught:
        if how == "Catalog.open":
            imgextract.Catalog.open(ref, env={"HOME": str(tmp_path)})
        else:
            with imgextract.Client(env={"HOME": str(tmp_path)}) as client:
                if how == "open_catalog":
                    client.open_catalog(ref)
                else:
                    client.pull_catalog(ref, tmp_path / "out")
    assert str(caught.value).startswith(f"{ref}: not a directory")
    assert not (tmp_path / "out").exists()


def test_render_takes_directories_as_paths(tmp_path: Path) -> None:
    """``render(Path(...))`` and ``render([Path(...)])`` read the directory as ``render(str)`` does
    (a path object was refused with AttributeError)."""
    root = tmp_path / "catalog"
    (root / "etcd").mkdir(parents=True)
    (root / "etcd" / "catalog.yaml").write_text(
        "---\nschema: olm.package\nname: etcd\ndefaultChannel: stable\n"
        "---\nschema: olm.channel\npackage: etcd\nname: stable\nentries:\n- name: etcd.v1.0.0\n"
        "---\nschema: olm.bundle\npackage: etcd\nname: etcd.v1.0.0\nimage: example.test/etcd@sha256:"
        + "0" * 64
        + "\nproperties:\n- type: olm.package\n  value: {packageName: etcd, version: 1.0.0}\n"
    )
    env = {"HOME": str(tmp_path)}
    expected = imgextract.render(str(root), env=env)
    assert [o["schema"] for o in expected] == ["olm.package", "olm.channel", "olm.bundle"]
    assert imgextract.render(root, env=env) == expected
    assert imgextract.render([root], env=env) == expected
