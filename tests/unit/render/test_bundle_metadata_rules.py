"""How a bundle directory's metadata files and the CSV's ``olm.properties`` annotation become
properties, rule by rule (operator-registry ``pkg/registry/parse.go``), on copies of the widget bundle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from imgextract.catalog.render.bundle import render_bundle

WIDGET = Path(__file__).resolve().parents[2] / "data" / "render" / "widget-operator"
IMAGE = "registry.example.com/widgets/bundle:v1.2.0"
CSV = "widget-operator.clusterserviceversion.yaml"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "bundle"
    shutil.copytree(WIDGET, root)
    return root


def _props(root: Path) -> list[tuple[str, str]]:
    return [(p.type, p.value) for p in render_bundle(root, image=IMAGE).properties]


def _with_csv_properties(root: Path, annotation: str) -> None:
    path = root / "manifests" / CSV
    lines = path.read_text().splitlines(keepends=True)
    out = [
        f"    olm.properties: {json.dumps(annotation)}\n" if ln.startswith("    olm.properties:") else ln
        for ln in lines
    ]
    path.write_text("".join(out))


def test_empty_dependencies_file_does_not_hide_the_real_one(tmp_path: Path) -> None:
    """``bundleParser.addMetadata`` keeps a dependencies (properties) file only when its list is not
    empty: a file listing none, read first, leaves the search open for the next file."""
    root = _copy(tmp_path)
    (root / "metadata" / "a-empty.yaml").write_text("dependencies: []\nproperties: []\n")
    props = _props(root)
    assert (
        "olm.package.required",
        '{"packageName":"database-operator","versionRange":">=1.0.0 <2.0.0"}',
    ) in props
    assert any(t == "olm.maxOpenShiftVersion" for t, _v in props)


def test_csv_properties_with_one_mistyped_entry_keep_the_others(tmp_path: Path) -> None:
    """``bundleParser.derivedProperties``: ``json.Unmarshal`` into ``[]Property`` stores what it can
    when a field has the wrong type (the error is only logged): the mistyped ``type`` stays empty, the
    other entries are kept (values as the RawMessage bytes written in the annotation)."""
    root = _copy(tmp_path)
    _with_csv_properties(
        root, '[{"type": 5, "value": {"a": 1}}, {"type": "example.com/kept", "value": {"k": 1}}]'
    )
    props = _props(root)
    assert ("example.com/kept", '{"k": 1}') in props
    assert ("", '{"a": 1}') in props


def test_csv_property_with_null_value_is_kept_as_null(tmp_path: Path) -> None:
    """``json.RawMessage`` receives the literal ``null``: the property is written with ``"value": null``."""
    root = _copy(tmp_path)
    _with_csv_properties(root, '[{"type": "example.com/nothing", "value": null}]')
    assert ("example.com/nothing", "null") in _props(root)


def test_csv_properties_syntax_error_keeps_none(tmp_path: Path) -> None:
    """``json.Unmarshal`` checks the whole text first: a syntax error stores nothing."""
    root = _copy(tmp_path)
    _with_csv_properties(root, '[{"type": "example.com/kept", "value": 1}, ')
    assert not any(t == "example.com/kept" for t, _v in _props(root))


def test_property_without_value_is_written_as_null(tmp_path: Path) -> None:
    """``property.Property.Value`` is a ``json.RawMessage``: absent, it is nil and Go's encoder writes
    ``null`` (never an empty value, which would not be JSON)."""
    from imgextract.catalog.render.writer import encode

    root = _copy(tmp_path)
    (root / "metadata" / "properties.yaml").write_text("properties:\n- type: example.com/bare\n")
    b = render_bundle(root, image=IMAGE)
    text = encode(b.to_fbc(), "json")
    assert '"type": "example.com/bare",\n            "value": null\n' in text
    json.loads(text)


def test_image_ref_template_trim_markers() -> None:
    """``--image-ref-template`` is a Go ``text/template``: ``{{- `` trims the white space before the
    action and `` -}}`` the white space after it."""
    b = render_bundle(WIDGET, image_template="reg.test/{{.Package}} :  {{- .Version -}}  \n @x")
    assert b.image == "reg.test/widget-operator :1.2.0@x"
