"""Version-range filters select bundles as oc-mirror v2 does.

oc-mirror v2 turns ``minVersion``/``maxVersion`` into the range ``>=MIN <=MAX`` and hands it to
its mirror filter (github.com/sherine-k/catalog-filter, pkg/filter/mirror-config/v1alpha1:
``mirrorFilter.FilterCatalog`` and ``channel.filterByVersionRange`` in channel.go, stored commit
3e14d603d9b6cbdd4788c87810a25996ada41d81). The range is not a plain version test per bundle: the
channel's replaces chain is walked from its head, the new head is the lowest chain entry holding
the most in-range bundles at or below it (itself, its skips, its replaces chain), the new tail the
first chain entry holding none, and every chain entry in between is kept (even out of the range,
so the channel stays connected) together with the in-range bundles they skip.
"""

from __future__ import annotations

import json
from pathlib import Path

from imgextract.catalog.catalog import Catalog


def _catalog(
    tmp_path: Path,
    entries: list[dict[str, object]],
    versions: dict[str, str],
    extra: tuple[dict[str, object], ...] = (),
) -> Catalog:
    objs: list[dict[str, object]] = [
        {"schema": "olm.package", "name": "p", "defaultChannel": "stable"},
        {"schema": "olm.channel", "package": "p", "name": "stable", "entries": entries},
        *extra,
    ]
    for name, v in versions.items():
        objs.append(
            {
                "schema": "olm.bundle",
                "package": "p",
                "name": name,
                "image": f"r.example/p:{v}",
                "properties": [{"type": "olm.package", "value": {"packageName": "p", "version": v}}],
            }
        )
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "catalog.json").write_text("\n".join(json.dumps(o) for o in objs))
    return Catalog.from_directory(tmp_path)


def _names(cat: Catalog, lo: str | None, hi: str | None) -> list[str]:
    return sorted(b.name for b in cat.filter(min_version=lo, max_version=hi).bundles())


def test_max_version_on_a_skipped_bundle_keeps_the_chain_entry_that_skips_it(tmp_path: Path) -> None:
    """1.2.0 is only skipped (by 1.3.0, which replaces 1.1.0): with maxVersion 1.2.0 the channel
    must keep 1.3.0 to reach it, so oc-mirror keeps 1.3.0 (out of the range, with a warning)."""
    entries: list[dict[str, object]] = [
        {"name": "p.v1.0.0"},
        {"name": "p.v1.1.0", "replaces": "p.v1.0.0"},
        {"name": "p.v1.2.0", "replaces": "p.v1.1.0"},
        {"name": "p.v1.3.0", "replaces": "p.v1.1.0", "skips": ["p.v1.2.0"]},
        {"name": "p.v1.4.0", "replaces": "p.v1.3.0"},
    ]
    versions = {f"p.v1.{i}.0": f"1.{i}.0" for i in range(5)}
    cat = _catalog(tmp_path, entries, versions)
    assert _names(cat, None, "1.2.0") == ["p.v1.0.0", "p.v1.1.0", "p.v1.2.0", "p.v1.3.0"]
    assert _names(cat, "1.1.0", "1.2.0") == ["p.v1.1.0", "p.v1.2.0", "p.v1.3.0"]
    assert _names(cat, "1.3.0", None) == ["p.v1.3.0", "p.v1.4.0"]
    (ch,) = cat.filter(max_version="1.2.0").channels("p")
    assert ch.heads == ("p.v1.3.0",)


def test_a_chain_entry_out_of_order_stays_to_keep_the_channel_connected(tmp_path: Path) -> None:
    """A replaces chain whose versions are not monotonic: 2.0.0 (out of the range) sits between
    in-range entries, and oc-mirror keeps it rather than cut the channel in two."""
    entries: list[dict[str, object]] = [
        {"name": "p.a"},
        {"name": "p.b", "replaces": "p.a"},
        {"name": "p.c", "replaces": "p.b"},
        {"name": "p.d", "replaces": "p.c"},
    ]
    versions = {"p.a": "1.0.0", "p.b": "2.0.0", "p.c": "1.1.0", "p.d": "3.0.0"}
    cat = _catalog(tmp_path, entries, versions)
    assert _names(cat, "1.0.0", "1.5.0") == ["p.a", "p.b", "p.c"]


def test_equal_bounds_keep_exactly_that_version(tmp_path: Path) -> None:
    """oc-mirror's isSpecificVersion: min == max keeps that bundle alone, not the entry skipping it."""
    entries: list[dict[str, object]] = [
        {"name": "p.v1.0.0"},
        {"name": "p.v1.1.0", "replaces": "p.v1.0.0"},
        {"name": "p.v1.2.0", "replaces": "p.v1.0.0", "skips": ["p.v1.1.0"]},
    ]
    cat = _catalog(tmp_path, entries, {f"p.v1.{i}.0": f"1.{i}.0" for i in range(3)})
    assert _names(cat, "1.1.0", "1.1.0") == ["p.v1.1.0"]
    assert _names(cat, "1.1.0", "1.2.0") == ["p.v1.1.0", "p.v1.2.0"]


def test_a_pre_release_is_in_range_only_when_the_bound_is_a_pre_release_too(tmp_path: Path) -> None:
    """oc-mirror checks the range with Masterminds semver v3 constraints (github.com/Masterminds/
    semver constraints.go, constraintGreaterThanEqual/constraintLessThanEqual, stored commit
    00300c46865890f2906399c7524020c12d31d100): a pre-release version fails every comparator whose
    own version is not a pre-release. So ``--min-version 1.0.0`` does not reach the 1.2.0-rc.0 head
    (the new head is 1.1.0), while 1.1.0-rc.1, on the chain between kept entries, stays."""
    entries: list[dict[str, object]] = [
        {"name": "p.a"},
        {"name": "p.b", "replaces": "p.a"},
        {"name": "p.c", "replaces": "p.b"},
        {"name": "p.d", "replaces": "p.c"},
    ]
    versions = {"p.a": "1.0.0", "p.b": "1.1.0-rc.1", "p.c": "1.1.0", "p.d": "1.2.0-rc.0"}
    cat = _catalog(tmp_path, entries, versions)
    assert _names(cat, "1.0.0", None) == ["p.a", "p.b", "p.c"]
    assert _names(cat, None, "2.0.0") == ["p.a", "p.b", "p.c"]
    assert _names(cat, "1.2.0-rc.0", None) == ["p.d"]
    assert _names(cat, "1.1.0-rc.0", "1.1.0-rc.9") == ["p.b"]
    assert _names(cat, "1.2.0-rc.0", "1.2.0-rc.0") == ["p.d"]


def test_bounds_are_read_as_oc_mirror_reads_them(tmp_path: Path) -> None:
    """oc-mirror validates minVersion/maxVersion with Masterminds ``semver.NewVersion`` (loose: a
    leading ``v``, ``1.2`` and ``1`` are versions; openshift/oc-mirror v2/internal/pkg/config/
    validate.go, validateOperator, stored commit 2630f0063f7e7945b7ce5618eca2fbc86359d59a) and
    checks the range ``>=MIN <=MAX`` as Masterminds constraints: a short ``<=`` bound is a wildcard
    (``<=1.1`` keeps every 1.1.x, ``<=1`` every 1.x; constraintLessThanEqual), while equal bounds
    name the one version they parse to (isSpecificVersion/specificBundle)."""
    entries: list[dict[str, object]] = [
        {"name": "p.a"},
        {"name": "p.b", "replaces": "p.a"},
        {"name": "p.c", "replaces": "p.b"},
        {"name": "p.d", "replaces": "p.c"},
        {"name": "p.e", "replaces": "p.d"},
    ]
    versions = {"p.a": "1.0.0", "p.b": "1.1.0", "p.c": "1.1.7", "p.d": "1.2.0", "p.e": "2.0.0"}
    cat = _catalog(tmp_path, entries, versions)
    assert _names(cat, "v1.1.0", None) == ["p.b", "p.c", "p.d", "p.e"]
    assert _names(cat, "1.1", "1.1") == ["p.b"]
    assert _names(cat, "1.1", None) == ["p.b", "p.c", "p.d", "p.e"]
    assert _names(cat, None, "1.1") == ["p.a", "p.b", "p.c"]
    assert _names(cat, None, "v1") == ["p.a", "p.b", "p.c", "p.d"]
    assert _names(cat, "1.1.5", "1.1") == ["p.c"]
    assert _names(cat, None, "1.1.0") == ["p.a", "p.b"]


def test_deprecation_entries_of_filtered_out_bundles_and_channels_are_dropped(tmp_path: Path) -> None:
    """oc-mirror's filter drops the ``olm.deprecations`` entries naming a bundle it did not keep or
    a channel it filtered out (catalog-filter mirror-filter.go filterDeprecations, stored commit
    1da093e979ff411b0c77fadf68997467c0a53b0c); kept whole, the filtered catalog would reference
    bundles and channels it no longer has, which opm refuses to load."""
    entries: list[dict[str, object]] = [{"name": "p.a"}, {"name": "p.b", "replaces": "p.a"}]
    cat = _catalog(tmp_path, entries, {"p.a": "1.0.0", "p.b": "2.0.0"})
    other = {"schema": "olm.channel", "package": "p", "name": "beta", "entries": [{"name": "p.a"}]}
    dep = {
        "schema": "olm.deprecations",
        "package": "p",
        "entries": [
            {"reference": {"schema": "olm.package"}, "message": "p is old"},
            {"reference": {"schema": "olm.channel", "name": "beta"}, "message": "beta is gone"},
            {"reference": {"schema": "olm.bundle", "name": "p.a"}, "message": "a is bad"},
            {"reference": {"schema": "olm.bundle", "name": "p.b"}, "message": "b is bad"},
        ],
    }
    with (tmp_path / "p" / "catalog.json").open("a") as fh:
        fh.write("\n" + json.dumps(other) + "\n" + json.dumps(dep))
    cat = Catalog.from_directory(tmp_path)
    assert [d for d in cat.objects() if d["schema"] == "olm.deprecations"] == [dep]
    sel = cat.filter(channels=["stable"], min_version="2.0.0")
    (kept,) = [d for d in sel.objects() if d["schema"] == "olm.deprecations"]
    assert [e["message"] for e in kept["entries"]] == ["p is old", "b is bad"]


def test_a_skip_naming_a_bundle_of_another_channel_counts_toward_the_new_head(tmp_path: Path) -> None:
    """catalog-filter's ``filterByVersionRange`` gives each skipped entry the version of the
    package's bundle of that name (``BundleVersionsByPkgAndName``, mirror-filter.go, stored commit
    1da093e979ff411b0c77fadf68997467c0a53b0c; channel.go ``countUniqueTailBundlesInRange``, stored
    commit 3e14d603d9b6cbdd4788c87810a25996ada41d81), whether or not that bundle is an entry of the
    channel: stable's 2.0.0 skips beta's 1.5.0, the only bundle in the range, so oc-mirror keeps
    2.0.0 in stable (out of the range, the entry that reaches 1.5.0) and cuts 1.0.0 below it."""
    entries: list[dict[str, object]] = [
        {"name": "p.a"},
        {"name": "p.h", "replaces": "p.a", "skips": ["p.x"]},
    ]
    beta: dict[str, object] = {
        "schema": "olm.channel",
        "package": "p",
        "name": "beta",
        "entries": [{"name": "p.x"}],
    }
    cat = _catalog(tmp_path, entries, {"p.a": "1.0.0", "p.h": "2.0.0", "p.x": "1.5.0"}, (beta,))
    sel = cat.filter(min_version="1.5.0", max_version="1.6.0")
    assert {c.name: [e.name for e in c.entries] for c in sel.channels("p")} == {
        "beta": ["p.x"],
        "stable": ["p.h"],
    }
    assert {b.name: b.channels for b in sel.bundles()} == {"p.h": ("stable",), "p.x": ("beta",)}
    # stable alone: the chain entry is kept as oc-mirror keeps it; 1.5.0 itself only where listed
    only = cat.filter(channels=["stable"], min_version="1.5.0", max_version="1.6.0")
    assert [(b.name, b.channels) for b in only.bundles()] == [("p.h", ("stable",))]
