"""Catalog objects re-written as opm does (declcfg.LoadFS then WriteJSON): Meta.UnmarshalJSON re-encodes
every object from map[string]interface{} (float64 numbers, sorted keys, no HTML escaping), then the
known schemas go through their structs (declcfg.Package/Channel/Bundle/Deprecation field order and
omitempty); expectations derived from those types."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from imgextract.catalog.render.fbc import iter_fbc_dir, normalize
from imgextract.catalog.render.writer import write


def _json(objs: list[Any]) -> str:
    buf = io.StringIO()
    write([normalize(o) for o in objs], buf, "ndjson")
    return buf.getvalue()


def test_known_schemas_keep_struct_fields_in_order() -> None:
    pkg = {
        "name": "p",
        "schema": "olm.package",
        "extra": 1,
        "icon": {"mediatype": "image/svg+xml", "base64data": "PHN2Zy8+"},
        "defaultChannel": "stable",
    }
    ch = {
        "schema": "olm.channel",
        "package": "p",
        "name": "stable",
        "entries": [{"name": "p.v1", "skips": []}],
    }
    b = {
        "schema": "olm.bundle",
        "package": "p",
        "name": "p.v1",
        "image": "r/p:1",
        "properties": [{"type": "olm.package", "value": {"version": "1.0.0", "packageName": "p", "n": 2}}],
    }
    assert _json([pkg, ch, b]) == (
        '{"schema":"olm.package","name":"p","defaultChannel":"stable","icon":{"base64data":"PHN2Zy8+",'
        '"mediatype":"image/svg+xml"}}\n'
        '{"schema":"olm.channel","name":"stable","package":"p","entries":[{"name":"p.v1"}]}\n'
        '{"schema":"olm.bundle","name":"p.v1","package":"p","image":"r/p:1","properties":[{"type":'
        '"olm.package","value":{"n":2,"packageName":"p","version":"1.0.0"}}]}\n'
    )


def test_other_schemas_are_the_reencoded_blob() -> None:
    other = {"schema": "acme.thing", "package": "p", "z": 12345678901234567890, "a": "<x>", "f": 1.0}
    assert (
        _json([other]) == '{"a":"<x>","f":1,"package":"p","schema":"acme.thing","z":12345678901234567000}\n'
    )


def test_deprecations_and_null_entries() -> None:
    dep = {
        "schema": "olm.deprecations",
        "package": "p",
        "entries": [{"reference": {"schema": "olm.package"}, "message": "gone"}],
    }
    ch = {"schema": "olm.channel", "package": "p", "name": "c"}
    # written in opm's order: channels before deprecations
    assert _json([dep, ch]) == (
        '{"schema":"olm.channel","name":"c","package":"p","entries":null}\n'
        '{"schema":"olm.deprecations","package":"p","entries":[{"reference":{"schema":"olm.package"},'
        '"message":"gone"}]}\n'
    )


def test_directory_reader_yaml_and_json(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "catalog.yaml").write_text(
        "---\nschema: olm.package\nname: p\ndefaultChannel: stable\n---\n---\n"
        "schema: olm.channel\npackage: p\nname: stable\nentries: [{name: p.v1}]\n---\n"
    )
    (tmp_path / "q.json").write_text(
        '{"schema":"olm.package","name":"q"} {"schema":"olm.package","name":"r"}'
    )
    got = [(f, i, o["name"]) for f, i, o in iter_fbc_dir(tmp_path)]
    assert got == [
        ("p/catalog.yaml", 0, "p"),
        ("p/catalog.yaml", 1, "stable"),
        ("q.json", 0, "q"),
        ("q.json", 1, "r"),
    ]


def test_missing_schema_and_indexignore(tmp_path: Path) -> None:
    import pytest

    from imgextract.catalog.render.fbc import FBCError

    # declcfg readYAMLOrJSON: "object ... is missing root schema field"
    with pytest.raises(FBCError, match="missing root schema field"):
        normalize({"name": "x"})
    (tmp_path / "keep.yaml").write_text("schema: olm.package\nname: keep\n")
    (tmp_path / "skip").mkdir()
    (tmp_path / "skip" / "x.yaml").write_text("not: fbc\n")
    (tmp_path / ".indexignore").write_text("# comment\nskip\n")
    assert [o["name"] for _f, _i, o in iter_fbc_dir(tmp_path)] == ["keep"]


def test_write_fbc_streams_normalised_objects() -> None:
    from imgextract.catalog.render.writer import write_fbc

    buf = io.StringIO()
    objs = [
        {"schema": "olm.bundle", "name": "b", "package": "p", "image": "i", "x": 1},
        {"schema": "z", "v": 1},
    ]
    assert write_fbc(objs, "ndjson", buf) == 2
    assert buf.getvalue() == (
        '{"schema":"olm.bundle","name":"b","package":"p","image":"i"}\n{"schema":"z","v":1}\n'
    )


def test_catalog_bundles_get_render_run_treatment(tmp_path: Path) -> None:
    # Render.Run applies to every reference, catalogs included: bundle objects moved last,
    # relatedImages sorted by image; with a migrate level, olm.bundle.object -> olm.csv.metadata
    import base64
    import json

    from imgextract.catalog.render.pipeline import RenderOptions, render_refs

    csv = {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "ClusterServiceVersion",
        "metadata": {"name": "p.v1"},
        "spec": {"displayName": "P <1>", "version": "1.0.0"},
    }
    data = base64.b64encode(json.dumps(csv).encode()).decode()
    bundle = {
        "schema": "olm.bundle",
        "name": "p.v1",
        "package": "p",
        "image": "r/p:1",
        "properties": [
            {"type": "olm.bundle.object", "value": {"data": data}},
            {"type": "olm.package", "value": {"packageName": "p", "version": "1.0.0"}},
        ],
        "relatedImages": [{"name": "", "image": "z/z:1"}, {"name": "a", "image": "a/a:1"}],
    }
    (tmp_path / "c.json").write_text(json.dumps(bundle))
    [none] = render_refs([str(tmp_path)])
    assert [p["type"] for p in none["properties"]] == ["olm.package", "olm.bundle.object"]
    assert [r["image"] for r in none["relatedImages"]] == ["a/a:1", "z/z:1"]
    [migrated] = render_refs(
        [str(tmp_path)], options=RenderOptions(migrate_level="bundle-object-to-csv-metadata")
    )
    assert [p["type"] for p in migrated["properties"]] == ["olm.package", "olm.csv.metadata"]
    assert str(migrated["properties"][1]["value"]) == (
        '{"apiServiceDefinitions":{},"crdDescriptions":{},"displayName":"P <1>","provider":{}}'
    )


def test_meta_keys_are_case_insensitive() -> None:
    """``declcfg.Meta.UnmarshalJSON`` / ``extractUniqueMetaKeys``: ``schema``, ``package`` and ``name``
    are found whatever their case (FBC templates document ``Schema``), then the typed structs read
    their fields case-insensitively too."""
    pkg = {"Schema": "olm.package", "Name": "gizmo", "DefaultChannel": "candidate"}
    other = {"SCHEMA": "acme.note", "Package": "gizmo", "text": "hi"}
    assert _json([pkg, other]) == (
        '{"schema":"olm.package","name":"gizmo","defaultChannel":"candidate"}\n'
        '{"Package":"gizmo","SCHEMA":"acme.note","text":"hi"}\n'
    )
    assert normalize(other)["package"] == "gizmo"  # ordered with its package


def test_meta_keys_differing_only_by_case_are_an_error() -> None:
    """``extractUniqueMetaKeys``: two top-level keys with the same folded value ("duplicate keys")."""
    import pytest

    from imgextract.catalog.render.fbc import FBCError

    with pytest.raises(FBCError, match='duplicate keys for key "name"'):
        normalize({"schema": "acme.note", "Name": "a", "name": "b"})
    with pytest.raises(FBCError, match='duplicate keys for key "color"'):
        normalize({"schema": "acme.note", "Color": "a", "color": "b"})
    with pytest.raises(FBCError, match='expected value for key "Package" to be a string'):
        normalize({"schema": "acme.note", "Package": 3})


def test_package_icon_as_go_decodes_and_writes_it() -> None:
    """``declcfg.Icon.Data`` is a ``[]byte``: Go's decoder skips line breaks in the base64 text (a
    folded YAML value), an absent value stays nil and is written as ``null``, and an icon that is
    not an object does not unmarshal."""
    import pytest

    from imgextract.catalog.render.fbc import FBCError

    folded = {"schema": "olm.package", "name": "p", "icon": {"base64data": "PHN2\nZy8+\n", "mediatype": "x"}}
    assert '"icon":{"base64data":"PHN2Zy8+","mediatype":"x"}' in _json([folded])
    bare = {"schema": "olm.package", "name": "p", "icon": {"mediatype": "image/png"}}
    assert '"icon":{"base64data":null,"mediatype":"image/png"}' in _json([bare])
    with pytest.raises(FBCError):
        normalize({"schema": "olm.package", "name": "p", "icon": "PHN2Zy8+"})


def test_null_elements_are_go_zero_values_and_skips_are_strings() -> None:
    """``json.Unmarshal`` into ``[]T`` stores a ``null`` element as T's zero value (no error); a
    ``skips`` element that is not a string fails the object (``ChannelEntry.Skips []string``)."""
    import pytest

    from imgextract.catalog.render.fbc import FBCError

    ch = {
        "schema": "olm.channel",
        "package": "p",
        "name": "c",
        "entries": [None, {"name": "p.v1", "skips": [None]}],
    }
    b = {
        "schema": "olm.bundle",
        "package": "p",
        "name": "p.v1",
        "properties": [None],
        "relatedImages": [None],
    }
    assert _json([ch, b]) == (
        '{"schema":"olm.channel","name":"c","package":"p","entries":[{"name":""},{"name":"p.v1","skips":[""]}]}\n'
        '{"schema":"olm.bundle","name":"p.v1","package":"p","image":"","properties":[{"type":"","value":null}],'
        '"relatedImages":[{"name":"","image":""}]}\n'
    )
    with pytest.raises(FBCError, match="skips"):
        normalize(
            {"schema": "olm.channel", "package": "p", "name": "c", "entries": [{"name": "x", "skips": [1]}]}
        )


@pytest.mark.parametrize("empty", ["# only a comment\n", "\n", "~\n", "null\n"])
def test_yaml_document_without_an_object_is_an_error(tmp_path: Path, empty: str) -> None:
    """apimachinery's ``YAMLReader`` hands a document of comments or blank lines to the decoder, which
    leaves the ``Meta`` empty: opm's loader fails with "object '' is missing root schema field"
    (``declcfg.LoadFS``). Separators alone ("---" twice, or at the end) make no document."""
    from imgextract.catalog.render.fbc import FBCError

    (tmp_path / "c.yaml").write_text("schema: olm.package\nname: p\n---\n" + empty + "---\nschema: acme.x\n")
    with pytest.raises(FBCError, match="c.yaml: object 1: object '' is missing root schema field"):
        list(iter_fbc_dir(tmp_path))


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (
            {"schema": "olm.bundle", "name": "b", "package": "p", "image": 5},
            "parse bundle: json: cannot unmarshal number into Go struct field Bundle.image of type string",
        ),
        (
            {"schema": "olm.channel", "name": "c", "package": "p", "entries": [{"name": "x", "skips": [1]}]},
            "parse channel: json: cannot unmarshal number into Go struct field "
            "ChannelEntry.entries.skips of type string",
        ),
        (
            {"schema": "olm.bundle", "name": "b", "package": "p", "properties": [{"type": 5, "value": 1}]},
            "parse bundle: json: cannot unmarshal number into Go struct field Property.properties.type of type string",
        ),
        (
            {"schema": "olm.bundle", "name": "b", "package": "p", "relatedImages": "x"},
            "parse bundle: json: cannot unmarshal string into Go struct field "
            "Bundle.relatedImages of type []declcfg.RelatedImage",
        ),
        (
            {"schema": "olm.deprecations", "package": "p", "entries": [{"reference": {"schema": True}}]},
            "parse deprecation: json: cannot unmarshal bool into Go struct field "
            "PackageScopedReference.entries.reference.schema of type string",
        ),
        (
            # keys in byte order ("image" < "name"), the first mismatch is the one reported
            {"schema": "olm.bundle", "name": 1, "package": "p", "image": False},
            "parse bundle: json: cannot unmarshal bool into Go struct field Bundle.image of type string",
        ),
    ],
)
def test_known_schemas_fail_with_gos_unmarshal_error(obj: dict[str, Any], message: str) -> None:
    """declcfg fbcBuilder.addMeta: json.Unmarshal of the object (re-encoded by Meta, keys sorted) into
    declcfg.Package/Channel/Bundle/Deprecation; the error is "parse <kind>: <json error>"."""
    from imgextract.catalog.render.fbc import FBCError

    if obj.get("name") == 1:  # Meta.UnmarshalJSON wants a string name first: check the walker alone
        from imgextract.catalog.render import gotypes, olmtypes

        with pytest.raises(gotypes.GoTypeError) as gexc:
            gotypes.check(obj, olmtypes.DECLCFG["olm.bundle"], sort_keys=True)
        assert "parse bundle: " + str(gexc.value) == message
        return
    with pytest.raises(FBCError) as exc:
        normalize(obj)
    assert str(exc.value) == message


def test_bundle_directory_needs_real_manifests_and_metadata_directories(tmp_path: Path) -> None:
    """render.go isBundle: os.ReadDir entries whose IsDir() is true; a symbolic link to a directory is
    not one, so the reference is read as a file-based catalog (where opm fails to read the link)."""
    import shutil

    from imgextract.catalog.render.pipeline import RenderError, render_refs

    widget = Path(__file__).resolve().parents[2] / "data" / "render" / "widget-operator"
    real = tmp_path / "b" / "real"
    shutil.copytree(widget, real)
    (tmp_path / "b" / "manifests").symlink_to(real / "manifests")
    (tmp_path / "b" / "metadata").symlink_to(real / "metadata")
    with pytest.raises(RenderError, match="manifests: read manifests: is a directory"):
        render_refs([str(tmp_path / "b")])
    assert render_refs([str(real)])[0]["schema"] == "olm.bundle"


def test_bundle_name_and_package_are_omitted_when_empty() -> None:
    """``declcfg.Bundle`` (operator-registry as OLM vendors it today): ``name`` and ``package`` are
    ``omitempty``, ``image`` is not: a bundle without them (a catalog template's entry, say) is
    written without them."""
    assert _json([{"schema": "olm.bundle", "image": "r/p:1"}]) == '{"schema":"olm.bundle","image":"r/p:1"}\n'
    assert _json([{"schema": "olm.bundle", "package": "", "name": "b"}]) == (
        '{"schema":"olm.bundle","name":"b","image":""}\n'
    )


def test_rendered_bundle_without_a_name_omits_it() -> None:
    """The same struct for a bundle rendered from an image or a directory."""
    from imgextract.catalog.render.rendered import RenderedBundle

    assert RenderedBundle("", "p", "r/p:1", [], []).to_fbc() == {
        "schema": "olm.bundle",
        "package": "p",
        "image": "r/p:1",
    }


@pytest.mark.parametrize(
    ("data", "byte"),
    [("PHN2Zz4", 4), ("PH N2Zz4=", 2), ("PHN2Zz4==", 8), ("!!!!", 0)],
)
def test_package_icon_bad_base64_is_a_parse_package_error(data: str, byte: int) -> None:
    """declcfg fbcBuilder.addMeta: ``json.Unmarshal(in.Blob, &p)`` fills ``Icon.Data []byte`` with
    ``base64.StdEncoding.Decode``, whose CorruptInputError is the unmarshal error, wrapped as
    "parse package: %v" like every other error of the object (the catalog commands say the same)."""
    from imgextract.catalog.render.fbc import FBCError

    obj = {"schema": "olm.package", "name": "p", "icon": {"base64data": data, "mediatype": "image/png"}}
    with pytest.raises(FBCError) as exc:
        normalize(obj)
    assert str(exc.value) == f"parse package: illegal base64 data at input byte {byte}"
