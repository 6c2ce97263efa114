"""Byte-for-byte output for the fixture bundle directory, both migrate levels, all three formats.

The expected files were produced once and reviewed against the rules tested one by one in
test_bundle_rules.py / test_goyamlout.py / test_gojson.py (opm's WriteJSON: indented 4, HTML not
escaped, RawMessage values kept; WriteYAML: "---" + JSONToYAML; ndjson: the compact encoding)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from imgextract.catalog.render.bundle import render_bundle
from imgextract.catalog.render.migrate import migrate_bundle
from imgextract.catalog.render.writer import write
from imgextract.rendering import encode, render, render_raw

DATA = Path(__file__).resolve().parents[2] / "data" / "render"
WIDGET = DATA / "widget-operator"
TEMPLATE = "127.0.0.1:50000/render/widget:v{{.Version}}"


def _text(name: str) -> str:
    return (DATA / "expected" / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("level", ["none", "bundle-object-to-csv-metadata"])
@pytest.mark.parametrize("fmt", ["json", "yaml", "ndjson"])
def test_directory_with_image_template(level: str, fmt: str) -> None:
    objs = render_raw(None, [str(WIDGET)], migrate_level=level, image_ref_template=TEMPLATE)
    assert encode(objs, fmt) == _text(f"widget-image.{level}.{fmt}")


@pytest.mark.parametrize("level", ["none", "bundle-object-to-csv-metadata"])
@pytest.mark.parametrize("fmt", ["json", "yaml", "ndjson"])
def test_directory_without_image(level: str, fmt: str) -> None:
    # convertObjectsToCSVMetadata skips a bundle without an image: both levels give the same bytes
    objs = render_raw(None, [str(WIDGET)], migrate_level=level)
    assert encode(objs, fmt) == _text(f"widget-dir.{fmt}")


def test_formats_carry_the_same_objects() -> None:
    b = migrate_bundle(render_bundle(WIDGET, image="r/x:1"), "bundle-object-to-csv-metadata")
    outs = {}
    for fmt in ("json", "ndjson", "yaml"):
        buf = io.StringIO()
        write([b.to_fbc()], buf, fmt)
        outs[fmt] = buf.getvalue()
    assert json.loads(outs["json"]) == json.loads(outs["ndjson"])
    assert outs["ndjson"].count("\n") == 1
    assert outs["yaml"].startswith("---\nimage: r/x:1\nname: widget-operator.v1.2.0\n")


def test_library_objects_match_the_output() -> None:
    objs = render(None, str(WIDGET), image_ref_template=TEMPLATE)
    assert objs == [json.loads(line) for line in _text("widget-image.none.ndjson").splitlines()]


def test_several_refs_are_written_in_opm_order(tmp_path: Path) -> None:
    # declcfg.WriteJSON: by package, then bundles by name, whatever order the refs came in
    import shutil

    other = tmp_path / "aaa"
    shutil.copytree(WIDGET, other)
    ann = other / "metadata" / "annotations.yaml"
    ann.write_text(ann.read_text().replace("package.v1: widget-operator", "package.v1: aaa-operator"))
    objs = render(None, [str(WIDGET), str(other)])
    assert [o["package"] for o in objs] == ["aaa-operator", "widget-operator"]


def test_top_level_render_is_the_library_call() -> None:
    import imgextract

    assert imgextract.render(str(WIDGET), image_ref_template=TEMPLATE, use_cache=False) == render(
        None, str(WIDGET), image_ref_template=TEMPLATE
    )
    with imgextract.Client(use_cache=False) as client:
        assert client.render(str(WIDGET), raw=True) == render_raw(None, [str(WIDGET)])
