"""Bundles loaded from an FBC directory, and the migration levels, as ``opm render`` treats them.

opm reads every ``olm.bundle.object`` of every FBC bundle while loading (whatever the migration level):
a value that does not decode is an error, and the bundle's CSV is the first bundle object whose kind is
ClusterServiceVersion, its data converted from YAML or JSON.  The expectations below follow those rules
with data of our own.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from imgextract.catalog.render.migrate import LEVELS, check_level
from imgextract.catalog.render.pipeline import RenderError, RenderOptions, render_refs

MIGRATE = RenderOptions(migrate_level="bundle-object-to-csv-metadata")


def _csv(name: str, display: str) -> dict[str, Any]:
    return {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "ClusterServiceVersion",
        "metadata": {"name": name},
        "spec": {"displayName": display, "version": "1.0.0"},
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _catalog(tmp_path: Path, objects: list[dict[str, Any]]) -> Path:
    bundle = {
        "schema": "olm.bundle",
        "name": "gadget.v1",
        "package": "gadget",
        "image": "reg.test/gadget-bundle:1",
        "properties": [{"type": "olm.package", "value": {"packageName": "gadget", "version": "1.0.0"}}]
        + [{"type": "olm.bundle.object", "value": v} for v in objects],
    }
    root = tmp_path / "fbc"
    root.mkdir()
    (root / "catalog.json").write_text(json.dumps(bundle))
    return root


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    [meta] = [p for p in obj["properties"] if p["type"] == "olm.csv.metadata"]
    value: dict[str, Any] = json.loads(str(meta["value"]))
    return value


def test_all_is_a_migration_level() -> None:
    """``migrations.NewMigrations``: "all" runs every migration (alpha/action/migrations)."""
    assert check_level("all") == "all"
    assert "all" not in LEVELS  # not a step of its own


def test_level_all_migrates_like_the_last_level(tmp_path: Path) -> None:
    """``migrations.NewMigrations("all")`` clones every migration: bundle objects become csv metadata."""
    root = _catalog(tmp_path, [{"data": _b64(json.dumps(_csv("gadget.v1", "Gadget")).encode())}])
    [obj] = render_refs([str(root)], options=RenderOptions(migrate_level="all"))
    assert [p["type"] for p in obj["properties"]] == ["olm.package", "olm.csv.metadata"]
    assert _metadata(obj)["displayName"] == "Gadget"


def test_first_csv_object_is_the_bundles_csv(tmp_path: Path) -> None:
    """``declcfg.extractCSV`` returns the first bundle object of kind ClusterServiceVersion."""
    first = _b64(json.dumps(_csv("gadget.v1", "First")).encode())
    second = _b64(json.dumps(_csv("gadget.v1", "Second")).encode())
    root = _catalog(tmp_path, [{"data": first}, {"data": second}])
    [obj] = render_refs([str(root)], options=MIGRATE)
    assert _metadata(obj)["displayName"] == "First"


def test_yaml_bundle_object_data_is_read(tmp_path: Path) -> None:
    """``declcfg.readBundleObjects`` converts each object's data with ``yaml.ToJSON``: YAML counts."""
    text = (
        "apiVersion: operators.coreos.com/v1alpha1\nkind: ClusterServiceVersion\n"
        "metadata:\n  name: gadget.v1\nspec:\n  displayName: Gadget in YAML\n  version: 1.0.0\n"
    )
    root = _catalog(tmp_path, [{"data": _b64(text.encode())}])
    [obj] = render_refs([str(root)], options=MIGRATE)
    assert [p["type"] for p in obj["properties"]] == ["olm.package", "olm.csv.metadata"]
    assert _metadata(obj)["displayName"] == "Gadget in YAML"


@pytest.mark.parametrize("level", ["none", "bundle-object-to-csv-metadata"])
def test_undecodable_bundle_object_is_an_error(tmp_path: Path, level: str) -> None:
    """``declcfg.readBundleObjects``: data that is not standard base64 fails the load, at any level
    ("parse property at index N as bundle object: illegal base64 data at input byte K")."""
    root = _catalog(tmp_path, [{"data": "Z2Fk*2V0"}])
    with pytest.raises(RenderError) as info:
        render_refs([str(root)], options=RenderOptions(migrate_level=level))
    msg = str(info.value)
    assert 'package "gadget", bundle "gadget.v1": parse property at index 1 as bundle object' in msg
    assert "illegal base64 data at input byte 4" in msg


def test_bundle_object_data_of_wrong_type_is_an_error(tmp_path: Path) -> None:
    """``property.BundleObject.Data`` is ``[]byte``: a number does not unmarshal into it."""
    root = _catalog(tmp_path, [{"data": 7}])
    with pytest.raises(RenderError, match="parse property at index 1 as bundle object"):
        render_refs([str(root)])


def test_bundle_object_data_that_is_not_yaml_is_an_error(tmp_path: Path) -> None:
    """``yaml.ToJSON`` of the decoded data fails: "convert bundle object property at index N to JSON"."""
    root = _catalog(tmp_path, [{"data": _b64(b"kind: [unclosed\n")}])
    with pytest.raises(RenderError, match="convert bundle object property at index 1 to JSON"):
        render_refs([str(root)])


@pytest.mark.parametrize(
    ("text", "offset"),
    [(b"QQ", 0), (b"QQ=", 3), (b"QQ==QQ==", 4), (b"=QQQ", 0), (b"QQ=x", 2), (b"Q===", 1), (b"QUJD=", 4)],
)
def test_base64_errors_name_gos_offset(text: bytes, offset: int) -> None:
    """``base64.StdEncoding.Decode`` (``CorruptInputError``): the offsets Go reports."""
    from imgextract.catalog.render.fbc import go_base64_decode

    with pytest.raises(ValueError, match=f"illegal base64 data at input byte {offset}$"):
        go_base64_decode(text)


def test_base64_fast_and_exact_paths_agree() -> None:
    """Well-formed input is decoded by binascii, the rest by the byte-by-byte decoder: both give the
    same bytes or the same error for every short input over an alphabet that exercises padding,
    line breaks and bad characters."""
    import itertools

    from imgextract.oci.jsontext import _go_base64_slow, go_base64_decode

    def outcome(fn: Any, data: bytes) -> tuple[str, object]:
        try:
            return "ok", fn(data)
        except ValueError as exc:
            return "error", str(exc)

    for length in range(7):
        for chars in itertools.product(b"AQ=\n*", repeat=length):
            data = bytes(chars)
            assert outcome(go_base64_decode, data) == outcome(_go_base64_slow, data), data


def test_a_file_reference_is_opms_not_a_directory_error(tmp_path: Path) -> None:
    """``Render.renderReference``: a path that exists but is no directory ("ref %q is not a directory")."""
    f = tmp_path / "index.db"
    f.write_bytes(b"SQLite format 3\x00")
    with pytest.raises(RenderError) as info:
        render_refs([str(f)])
    assert str(info.value) == f'render reference "{f}": ref "{f}" is not a directory'
