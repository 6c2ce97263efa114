"""The rules opm applies when it turns a catalog into its model (and so refuses a catalog), with
catalogs of our own: each test names the operator-registry function the rule comes from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imgextract.catalog import Catalog
from imgextract.catalog.fbc import CatalogFormatError


def _write(tmp_path: Path, objs: list[dict[str, Any]]) -> Path:
    root = tmp_path / "catalog"
    root.mkdir(parents=True)
    (root / "index.json").write_text("\n".join(json.dumps(o) for o in objs))
    return root


def _objs(
    *, entries: list[dict[str, Any]] | None = None, pkg_prop: dict[str, Any] | None = None
) -> list[Any]:
    return [
        {"schema": "olm.package", "name": "sprocket", "defaultChannel": "fast"},
        {
            "schema": "olm.channel",
            "package": "sprocket",
            "name": "fast",
            "entries": entries or [{"name": "sprocket.v2.0.0"}],
        },
        {
            "schema": "olm.bundle",
            "package": "sprocket",
            "name": "sprocket.v2.0.0",
            "image": "reg.test/sprocket-bundle:2.0.0",
            "properties": [
                {"type": "olm.package", "value": pkg_prop or {"packageName": "sprocket", "version": "2.0.0"}}
            ],
        },
    ]


def test_valid_catalog_loads(tmp_path: Path) -> None:
    cat = Catalog.from_directory(_write(tmp_path, _objs()))
    assert [b.name for b in cat.bundles()] == ["sprocket.v2.0.0"]


def test_duplicate_channel_entry_is_refused(tmp_path: Path) -> None:
    """``declcfg.ConvertToModel``: "invalid package %q, channel %q: duplicate entry %q"."""
    entries = [{"name": "sprocket.v2.0.0"}, {"name": "sprocket.v2.0.0", "skipRange": "<2.0.0"}]
    with pytest.raises(CatalogFormatError, match="channel 'fast': duplicate entry 'sprocket.v2.0.0'"):
        Catalog.from_directory(_write(tmp_path, _objs(entries=entries)))


def test_package_property_naming_another_package_is_refused(tmp_path: Path) -> None:
    """``declcfg.ConvertToModel``: "package %q does not match %q property %q"."""
    prop = {"packageName": "cog", "version": "2.0.0"}
    with pytest.raises(
        CatalogFormatError, match="package 'sprocket' does not match olm.package property 'cog'"
    ):
        Catalog.from_directory(_write(tmp_path, _objs(pkg_prop=prop)))


@pytest.mark.parametrize("version", ["v2.0.0", "2.0", "02.0.0", ""])
def test_bundle_version_must_be_semver(tmp_path: Path, version: str) -> None:
    """``declcfg.ConvertToModel``: the olm.package version is parsed with ``semver.Parse`` (strict);
    a bundle whose version does not parse fails the load ("error parsing bundle %q version %q")."""
    prop = {"packageName": "sprocket", "version": version}
    with pytest.raises(CatalogFormatError, match="version"):
        Catalog.from_directory(_write(tmp_path, _objs(pkg_prop=prop)))


def test_package_without_default_channel_is_refused(tmp_path: Path) -> None:
    """``model.Package.Validate``: "default channel must be set" (ConvertToModel links no channel)."""
    objs = _objs()
    del objs[0]["defaultChannel"]
    with pytest.raises(CatalogFormatError, match="invalid package 'sprocket': default channel must be set"):
        Catalog.from_directory(_write(tmp_path, objs))


def test_package_without_channels_is_refused(tmp_path: Path) -> None:
    """``model.Package.Validate``: "package must contain at least one channel"."""
    objs = [{"schema": "olm.package", "name": "lonely", "defaultChannel": "fast"}]
    with pytest.raises(CatalogFormatError, match="package must contain at least one channel"):
        Catalog.from_directory(_write(tmp_path, objs))


def test_channel_without_entries_is_refused(tmp_path: Path) -> None:
    """``model.Channel.Validate``: "channel must contain at least one bundle"."""
    objs = _objs()
    objs.append({"schema": "olm.channel", "package": "sprocket", "name": "empty", "entries": []})
    with pytest.raises(
        CatalogFormatError, match="invalid channel 'empty': channel must contain at least one bundle"
    ):
        Catalog.from_directory(_write(tmp_path, objs))


def test_bundle_needs_an_image_or_bundle_objects(tmp_path: Path) -> None:
    """``model.Bundle.Validate``: "bundle image must be set" unless the bundle carries objects."""
    objs = _objs()
    objs[2]["image"] = ""
    with pytest.raises(
        CatalogFormatError, match="invalid bundle 'sprocket.v2.0.0': bundle image must be set"
    ):
        Catalog.from_directory(_write(tmp_path / "a", objs))
    objs[2]["properties"].append({"type": "olm.bundle.object", "value": {"data": "e30="}})
    assert [b.image for b in Catalog.from_directory(_write(tmp_path / "b", objs)).bundles()] == [""]


def _deprecation(package: str, *entries: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "schema": "olm.deprecations",
        "package": package,
        "entries": [
            {"reference": {"schema": s, **({"name": n} if n else {})}, "message": m} for s, n, m in entries
        ],
    }


@pytest.mark.parametrize(
    ("deprecations", "message"),
    [
        ([_deprecation("")], "package name must be set for deprecation item 0"),
        ([_deprecation("gear")], 'cannot apply deprecations to an unknown package "gear"'),
        (
            [_deprecation("sprocket"), _deprecation("sprocket")],
            'expected a maximum of one deprecation per package: "sprocket"',
        ),
        (
            [_deprecation("sprocket", ("olm.bundle", "sprocket.v9.0.0", "old"))],
            'cannot deprecate bundle "sprocket.v9.0.0" for package "sprocket": bundle not found',
        ),
        (
            [_deprecation("sprocket", ("olm.channel", "slow", "old"))],
            'cannot deprecate channel "slow" for package "sprocket": channel not found',
        ),
        (
            [_deprecation("sprocket", ("olm.package", "sprocket", "old"))],
            'package name must be empty for deprecated package "sprocket" (specified "sprocket")',
        ),
        (
            [_deprecation("sprocket", ("olm.channel", "fast", "a"), ("olm.channel", "fast", "b"))],
            'duplicate deprecation entry declcfg.PackageScopedReference{Schema:"olm.channel", Name:"fast"} '
            'for package "sprocket"',
        ),
        (
            [_deprecation("sprocket", ("olm.thing", "x", "old"))],
            'cannot deprecate object declcfg.PackageScopedReference{Schema:"olm.thing", Name:"x"} referenced '
            'by entry 0 for package "sprocket": object schema unknown',
        ),
        ([_deprecation("sprocket", ("olm.channel", "fast", ""))], "invalid deprecation: message must be set"),
    ],
)
def test_deprecations_are_checked_as_opm_checks_them(
    tmp_path: Path, deprecations: list[dict[str, Any]], message: str
) -> None:
    """``declcfg.ConvertToModel``: each olm.deprecations names a known package once, and each entry a
    bundle or channel of it (or the package, unnamed); ``model.Deprecation.Validate``: a message."""
    with pytest.raises(CatalogFormatError) as exc:
        Catalog.from_directory(_write(tmp_path, _objs() + deprecations))
    assert message in str(exc.value)


def test_valid_deprecations_load(tmp_path: Path) -> None:
    dep = _deprecation(
        "sprocket",
        ("olm.package", "", "gone"),
        ("olm.channel", "fast", "use stable"),
        ("olm.bundle", "sprocket.v2.0.0", "broken"),
    )
    assert [p.name for p in Catalog.from_directory(_write(tmp_path, [*_objs(), dep])).packages()] == [
        "sprocket"
    ]


def test_two_bundles_with_one_version_are_refused(tmp_path: Path) -> None:
    """``model.Package.validateUniqueBundleVersions`` (operator-registry master): "duplicate versions
    found in bundles: [{V: [a, b]}]"."""
    objs = _objs(
        entries=[{"name": "sprocket.v2.0.0"}, {"name": "sprocket.v2.0.0-copy", "replaces": "sprocket.v2.0.0"}]
    )
    copy = dict(objs[2], name="sprocket.v2.0.0-copy", image="reg.test/sprocket-bundle:copy")
    with pytest.raises(
        CatalogFormatError,
        match=r"duplicate versions found in bundles: \[\{2\.0\.0: \[sprocket\.v2\.0\.0, sprocket\.v2\.0\.0-copy\]\}\]",
    ):
        Catalog.from_directory(_write(tmp_path, [*objs, copy]))


def _with(index: int, **fields: Any) -> list[Any]:
    objs = _objs()
    objs[index].update(fields)
    return objs


def _extra_property(prop: Any) -> list[Any]:
    objs = _objs()
    objs[2]["properties"].append(prop)
    return objs


@pytest.mark.parametrize(
    ("objs", "message"),
    [
        (
            _with(0, description=5),
            r"object 0: parse package: json: cannot unmarshal number .*Package.description",
        ),
        (_with(0, icon="logo.png"), r"object 0: parse package: .*Package.icon of type declcfg.Icon"),
        (
            _with(0, icon={"base64data": "not base64!", "mediatype": "image/png"}),
            "parse package: illegal base64",
        ),
        (_with(0, properties={"a": 1}), r"parse package: .*Package.properties of type \[\]property.Property"),
        (_with(1, properties=7), r"object 1: parse channel: .*Channel.properties"),
        (_with(2, relatedImages=[{"name": 7, "image": "x"}]), r"object 2: parse bundle: .*RelatedImage"),
    ],
)
def test_objects_decode_into_declcfg_structs(tmp_path: Path, objs: list[Any], message: str) -> None:
    """``declcfg.LoadFS`` (``fbcBuilder.addMeta``): each object of a known schema is unmarshalled into
    its declcfg struct, fields the catalog commands do not use included ("parse package: ...")."""
    with pytest.raises(CatalogFormatError, match=message):
        Catalog.from_directory(_write(tmp_path, objs))


@pytest.mark.parametrize(
    ("prop", "message"),
    [
        ({"type": "acme.note"}, r'parse property\[1\] of type "acme.note": unexpected end of JSON input'),
        (None, r'parse property\[1\] of type "": unexpected end of JSON input'),
        ({"type": "olm.gvk", "value": {"group": 7}}, r"parse property\[1\] of type \"olm.gvk\": .*GVK.group"),
        (
            {"type": "olm.package.required", "value": {"packageName": ["x"]}},
            r"of type \"olm.package.required\": .*PackageRequired.packageName",
        ),
        ({"type": "olm.bundle.object", "value": {"data": "%%%"}}, "as bundle object: illegal base64"),
        ({"type": "olm.bundle.object", "value": {"data": 3}}, r"as bundle object: .*BundleObject.data"),
    ],
)
def test_bundle_properties_parse_by_type(tmp_path: Path, prop: Any, message: str) -> None:
    """``declcfg.readBundleObjects`` (an ``olm.bundle.object``'s data is base64) and
    ``property.Parse`` in ``declcfg.ConvertToModel``: a known property type's value decodes into its
    struct, and every property needs a value (a nil ``json.RawMessage`` is "unexpected end of JSON
    input")."""
    with pytest.raises(CatalogFormatError, match=message):
        Catalog.from_directory(_write(tmp_path, _extra_property(prop)))


def test_property_without_type_or_with_null_value_loads(tmp_path: Path) -> None:
    """``property.Parse`` keeps an unknown (or empty) type with any JSON value, ``null`` included."""
    objs = _extra_property({"value": {"any": ["thing"]}})
    objs[2]["properties"].append({"type": "acme.note", "value": None})
    assert [b.name for b in Catalog.from_directory(_write(tmp_path, objs)).bundles()] == ["sprocket.v2.0.0"]


def test_unfiltered_objects_keep_other_schemas_whatever_package_they_name(tmp_path: Path) -> None:
    """``declcfg.LoadFS`` keeps an object of an unknown schema in ``Others`` as it is, whatever its
    ``package`` names (``ConvertToModel`` never looks at it), so ``opm render`` prints it: the
    unfiltered catalog's objects (``catalog render``) keep it too; a filter keeps it only with a
    selected package."""
    note = {"schema": "acme.note", "package": "ghost", "name": "n"}
    cat = Catalog.from_directory(_write(tmp_path, [*_objs(), note]))
    assert note in list(cat.objects())
    assert note not in list(cat.filter(packages=["sprocket"]).objects())


def _channel_catalog(tmp_path: Path, entries: list[Any]) -> Path:
    names = [e["name"] for e in entries]
    objs: list[Any] = [
        {"schema": "olm.package", "name": "sprocket", "defaultChannel": "fast"},
        {"schema": "olm.channel", "package": "sprocket", "name": "fast", "entries": entries},
    ]
    for i, name in enumerate(names):
        objs.append(
            {
                "schema": "olm.bundle",
                "package": "sprocket",
                "name": name,
                "image": f"reg.test/sprocket-bundle:{i}",
                "properties": [
                    {"type": "olm.package", "value": {"packageName": "sprocket", "version": f"{i + 1}.0.0"}}
                ],
            }
        )
    return _write(tmp_path, objs)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"name": "a", "replaces": "b"}, {"name": "b", "replaces": "a"}], "no channel head found in graph"),
        ([{"name": "a", "replaces": "a"}], "no channel head found in graph"),
        (
            [{"name": "h", "replaces": "a"}, {"name": "a", "replaces": "b"}, {"name": "b", "replaces": "a"}],
            "detected cycle in replaces chain of upgrade graph: a -> b -> a",
        ),
    ],
)
def test_replaces_chain_must_not_loop(tmp_path: Path, entries: list[dict[str, Any]], message: str) -> None:
    """``model.Channel.validateReplacesChain`` (through ``ConvertToModel``'s ``Validate``): a channel
    whose entries all have an incoming edge has no head, and the replaces chain from the head must not
    come back to an entry it passed (before, ``--heads-only`` silently selected nothing)."""
    with pytest.raises(CatalogFormatError, match=f"invalid channel 'fast': {message}"):
        Catalog.from_directory(_channel_catalog(tmp_path, entries))


def test_stranded_bundles_are_refused(tmp_path: Path) -> None:
    """``validateReplacesChain``: every entry not skipped must be on the replaces chain from the head."""
    entries: list[dict[str, Any]] = [
        {"name": "h", "replaces": "a", "skips": ["s"]},
        {"name": "a"},
        {"name": "s"},
        {"name": "x", "replaces": "y"},
        {"name": "y", "replaces": "x"},
    ]
    with pytest.raises(CatalogFormatError, match="channel contains one or more stranded bundles: x, y"):
        Catalog.from_directory(_channel_catalog(tmp_path, entries))


def test_several_heads_stay_reported(tmp_path: Path) -> None:
    """A project choice (docs/catalogs.md): several candidate heads are reported, not refused, so the
    chain rules apply only where opm finds one head."""
    cat = Catalog.from_directory(_channel_catalog(tmp_path, [{"name": "a"}, {"name": "b"}]))
    assert cat.channels()[0].heads == ("a", "b")


def test_replaces_edge_to_a_skipped_entry_ends_the_chain(tmp_path: Path) -> None:
    """``validateReplacesChain`` (operator-registry as OLM master vendors it): a replaces edge to an
    entry some entry skips is disregarded, so what lies below it must be skipped too, and a loop
    behind a skipped entry is no cycle but stranded entries."""
    ok = [{"name": "c", "replaces": "b", "skips": ["b", "a"]}, {"name": "b", "replaces": "a"}, {"name": "a"}]
    assert [b.name for b in Catalog.from_directory(_channel_catalog(tmp_path / "ok", ok)).bundles()] == [
        "a",
        "b",
        "c",
    ]
    stranded = [{"name": "c", "replaces": "b", "skips": ["b"]}, {"name": "b", "replaces": "a"}, {"name": "a"}]
    with pytest.raises(CatalogFormatError, match="stranded bundles: a$"):
        Catalog.from_directory(_channel_catalog(tmp_path / "stranded", stranded))
    loop = [
        {"name": "h", "replaces": "x", "skips": ["x"]},
        {"name": "x", "replaces": "y"},
        {"name": "y", "replaces": "x"},
    ]
    with pytest.raises(CatalogFormatError, match="stranded bundles: y$"):
        Catalog.from_directory(_channel_catalog(tmp_path / "loop", loop))


def _renamed(name: str) -> list[Any]:
    objs = _objs()
    objs[0]["name"] = name
    for o in objs[1:]:
        o["package"] = name
    objs[2]["properties"][0]["value"]["packageName"] = name
    return objs


@pytest.mark.parametrize("name", ["Sprocket", "sprocket.io", "sprocket_op", "-sprocket", "s" * 64])
def test_package_name_is_a_dns_label(tmp_path: Path, name: str) -> None:
    """``declcfg.ConvertToModel`` (operator-registry master, as OLM vendors it): "invalid package name
    %q" unless the name is a DNS-1123 label (apimachinery ``IsDNS1123Label``)."""
    with pytest.raises(CatalogFormatError, match="invalid package name"):
        Catalog.from_directory(_write(tmp_path, _renamed(name)))


def test_dns_label_package_names_load(tmp_path: Path) -> None:
    cat = Catalog.from_directory(_write(tmp_path, _renamed("s" * 63)))
    assert [p.name for p in cat.packages()] == ["s" * 63]


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("image", "reg.test/Sprocket-bundle:2.0.0", "image"),
        ("image", "reg.test/sprocket@sha256:abc", "image"),
        (
            "relatedImages",
            [{"name": "a", "image": "reg.test/ok:1"}, {"name": "b", "image": "reg.test/x:bad tag"}],
            r"relatedImages\[1\].image",
        ),
    ],
)
def test_image_references_must_parse(tmp_path: Path, field: str, value: Any, where: str) -> None:
    """``ConvertToModel``'s ``validateImagePullSpec``: a non-empty bundle image and every related
    image must parse as ``reference.ParseNormalizedNamed`` parses it."""
    objs = _objs()
    objs[2][field] = value
    with pytest.raises(
        CatalogFormatError, match=f'bundle "sprocket.v2.0.0" {where}: invalid image pull spec'
    ):
        Catalog.from_directory(_write(tmp_path, objs))


def test_valid_and_empty_image_references_load(tmp_path: Path) -> None:
    objs = _objs()
    objs[2]["relatedImages"] = [
        {"name": "", "image": ""},
        {"name": "a", "image": "busybox"},
        {"name": "b", "image": "LOCALHOST:5000/a/b_c__d--e:v1.0@sha256:" + "0" * 64},
        {"name": "c", "image": "[::1]:5000/x"},
    ]
    assert len(Catalog.from_directory(_write(tmp_path, objs)).bundles()[0].related_images) == 4


def _released(tmp_path: Path, bundles: list[tuple[str, str, str]]) -> Path:
    objs: list[Any] = [
        {"schema": "olm.package", "name": "sprocket", "defaultChannel": "fast"},
        {"schema": "olm.channel", "package": "sprocket", "name": "fast", "entries": []},
    ]
    for i, (name, version, release) in enumerate(bundles):
        value: dict[str, Any] = {"packageName": "sprocket", "version": version}
        if release:
            value["release"] = release
        objs[1]["entries"].append({"name": name, **({"replaces": bundles[i - 1][0]} if i else {})})
        objs.append(
            {
                "schema": "olm.bundle",
                "package": "sprocket",
                "name": name,
                "image": f"reg.test/sprocket-bundle:{i}",
                "properties": [{"type": "olm.package", "value": value}],
            }
        )
    return _write(tmp_path, objs)


def test_releases_make_versions_distinct(tmp_path: Path) -> None:
    """``model.Package.validateUniqueBundleVersions`` compares ``Bundle.VersionString`` (version, then
    ``-release``): one version in two releases is no duplicate."""
    bundles = [("sprocket-v1.0.0-1", "1.0.0", "1"), ("sprocket-v1.0.0-2", "1.0.0", "2")]
    assert len(Catalog.from_directory(_released(tmp_path, bundles)).bundles()) == 2


@pytest.mark.parametrize(
    ("bundles", "message"),
    [
        ([("sprocket-v1.0.0-01", "1.0.0", "01")], r"release version \"01\""),
        ([("sprocket-v1.0.0-a_b", "1.0.0", "a_b")], r"release version \"a_b\""),
        ([("sprocket-v1.0.0-" + "1" * 21, "1.0.0", "1" * 21)], "exceeds maximum length of 20"),
        (
            [("sprocket.v1.0.0", "1.0.0", "2")],
            r"name \"sprocket.v1.0.0\" does not match normalized name \"sprocket-v1.0.0-2\"",
        ),
        (
            [("sprocket-v1.0.0+b-2", "1.0.0+b", "2")],
            "cannot use build metadata in version with a release version",
        ),
        ([("sprocket-v1.0.0-2", "1.0.0", "2"), ("sprocket-v1.0.0-2x", "1.0.0-2", "")], "duplicate versions"),
    ],
)
def test_release_rules(tmp_path: Path, bundles: list[tuple[str, str, str]], message: str) -> None:
    """``ConvertToModel`` parses an ``olm.package`` property's ``release`` (``model.NewRelease``: at
    most 20 characters, dot-separated semver pre-release identifiers); ``model.Bundle.Validate``
    wants a released bundle named ``<package>-v<version>-<release>`` and no build metadata with a
    release; versions are unique by ``VersionString``."""
    with pytest.raises(CatalogFormatError, match=message):
        Catalog.from_directory(_released(tmp_path, bundles))


@pytest.mark.parametrize(
    "version",
    [
        "18446744073709551616.0.0",
        "2.18446744073709551616.0",
        "2.0.18446744073709551616",
        "2.0.0-18446744073709551616",
        "2.0.0-rc.99999999999999999999",
    ],
)
def test_bundle_version_numbers_must_fit_uint64(tmp_path: Path, version: str) -> None:
    """``declcfg.ConvertToModel`` parses the olm.package version with blang/semver ``Parse``, which
    reads MAJOR, MINOR, PATCH and every numeric pre-release identifier (``NewPRVersion``) with
    ``strconv.ParseUint(s, 10, 64)``: a number past 18446744073709551615 fails the load."""
    prop = {"packageName": "sprocket", "version": version}
    with pytest.raises(CatalogFormatError, match="version"):
        Catalog.from_directory(_write(tmp_path, _objs(pkg_prop=prop)))


@pytest.mark.parametrize("version", ["18446744073709551615.0.0", "2.0.0-18446744073709551615"])
def test_bundle_version_numbers_up_to_uint64_max_load(tmp_path: Path, version: str) -> None:
    """blang/semver ``Parse``: 18446744073709551615 (the largest uint64) is still a number."""
    prop = {"packageName": "sprocket", "version": version}
    cat = Catalog.from_directory(_write(tmp_path, _objs(pkg_prop=prop)))
    assert [b.version for b in cat.bundles()] == [version]


def test_release_number_must_fit_uint64(tmp_path: Path) -> None:
    """``model.NewRelease`` reads each identifier with blang/semver ``NewPRVersion``, which parses a
    numeric one with ``strconv.ParseUint(s, 10, 64)``: 20 digits fit the length limit, but a value
    past 18446744073709551615 is refused, with Go's error."""
    big = "99999999999999999999"
    with pytest.raises(CatalogFormatError, match=r"release version .*value out of range"):
        Catalog.from_directory(_released(tmp_path / "big", [(f"sprocket-v1.0.0-{big}", "1.0.0", big)]))
    top = "18446744073709551615"
    cat = Catalog.from_directory(_released(tmp_path / "top", [(f"sprocket-v1.0.0-{top}", "1.0.0", top)]))
    assert len(cat.bundles()) == 1
