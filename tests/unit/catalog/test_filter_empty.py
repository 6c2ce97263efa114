"""A version range that leaves an explicitly named package without a bundle is an error.

oc-mirror v2 filters a catalog with the mirror filter of github.com/sherine-k/catalog-filter
(pkg/filter/mirror-config/v1alpha1/mirror-filter.go, ``mirrorFilter.FilterCatalog``, stored commit
1da093e979ff411b0c77fadf68997467c0a53b0c), called by ``filterCatalog`` in openshift/oc-mirror
v2/internal/pkg/operator/catalog_handler.go, which fails the catalog with "failed to filter
catalog: ...". Version ranges exist only on packages (and their channels) the configuration names.
Per selected channel of such a package:

- the range leaves the package's default channel empty: error, ``package "p" channel "c" has
  version range ">=X" that results in an empty channel``;
- it leaves another channel empty: that channel is dropped, silently;
- equal bounds (``isSpecificVersion``) naming a version no bundle of the package has: error,
  ``error finding specific bundle: specific version X not found in bundles`` (``specificBundle``);
- a channel selection that leaves out the default channel is refused before any range
  (``setDefaultChannel``: "the default channel ... was filtered out").

So a named package is never silently emptied by its range: upstream always fails. Here the
flat filter does the same (``NotFoundError``, one line, naming the package, its channels and the
bounds), while a default channel the range empties is replaced, as one that ``--channel`` leaves
out is (see docs/catalogs.md). Packages nobody named (no ``packages``) cannot carry a range in
oc-mirror; here they may, and those the range empties disappear without an error.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imgextract.catalog.catalog import Catalog
from imgextract.errors import NotFoundError

# package -> (default channel, {channel: [(bundle name, version), ...] head first, a replaces chain})
SPEC: dict[str, tuple[str, dict[str, list[tuple[str, str]]]]] = {
    "alpha": (
        "stable",
        {"stable": [("alpha.v1.2.0", "1.2.0"), ("alpha.v1.1.0", "1.1.0"), ("alpha.v1.0.0", "1.0.0")]},
    ),
    "beta": (
        "stable",
        {
            "stable": [("beta.v1.1.0", "1.1.0"), ("beta.v1.0.0", "1.0.0")],
            "fast": [("beta.v2.1.0", "2.1.0"), ("beta.v2.0.0", "2.0.0")],
        },
    ),
    "gamma": ("stable", {"stable": [("gamma.v3.0.0", "3.0.0")]}),
}


@pytest.fixture
def cat(tmp_path: Path) -> Catalog:
    for pkg, (default, channels) in SPEC.items():
        objs: list[dict[str, object]] = [{"schema": "olm.package", "name": pkg, "defaultChannel": default}]
        versions: dict[str, str] = {}
        for cname, chain in channels.items():
            entries = [
                {"name": n, **({"replaces": chain[i + 1][0]} if i + 1 < len(chain) else {})}
                for i, (n, _) in enumerate(chain)
            ]
            objs.append({"schema": "olm.channel", "package": pkg, "name": cname, "entries": entries})
            versions.update(chain)
        for name, v in versions.items():
            objs.append(
                {
                    "schema": "olm.bundle",
                    "package": pkg,
                    "name": name,
                    "image": f"r.example/{pkg}:{v}",
                    "properties": [{"type": "olm.package", "value": {"packageName": pkg, "version": v}}],
                }
            )
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "catalog.json").write_text("\n".join(json.dumps(o) for o in objs))
    return Catalog.from_directory(tmp_path)


def _names(sel: Catalog) -> list[str]:
    return sorted(b.name for b in sel.bundles())


def test_min_version_above_every_version_of_a_named_package_is_an_error(cat: Catalog) -> None:
    """mirrorFilter.FilterCatalog: the range empties the default channel -> "results in an empty
    channel"; the package does not just disappear from the selection."""
    with pytest.raises(NotFoundError) as exc:
        cat.filter(packages=["alpha"], min_version="9.0.0")
    assert str(exc.value) == "no bundle of package 'alpha' matches min_version='9.0.0'"


def test_max_version_below_every_version_of_a_named_package_is_an_error(cat: Catalog) -> None:
    with pytest.raises(NotFoundError, match=r"^no bundle of package 'gamma' matches max_version='2\.0\.0'$"):
        cat.filter(packages=["gamma"], max_version="2.0.0")


def test_equal_bounds_naming_a_version_the_package_lacks_is_an_error(cat: Catalog) -> None:
    """specificBundle: "specific version 1.1.5 not found in bundles" (isSpecificVersion)."""
    with pytest.raises(NotFoundError) as exc:
        cat.filter(packages=["alpha"], min_version="1.1.5", max_version="1.1.5")
    assert str(exc.value) == "no bundle of package 'alpha' has version 1.1.5"
    assert _names(cat.filter(packages=["alpha"], min_version="1.1.0", max_version="1.1.0")) == [
        "alpha.v1.1.0"
    ]


def test_a_named_channel_the_range_empties_is_an_error_naming_it(cat: Catalog) -> None:
    """Channels named for a named package: the range leaves none of them a bundle (upstream: the
    default channel among them is empty, or a channel selection without it was refused)."""
    with pytest.raises(NotFoundError) as exc:
        cat.filter(packages=["beta"], channels=["fast"], min_version="1.0.0", max_version="1.9.0")
    assert str(exc.value) == (
        "no bundle of package 'beta' in channel 'fast' matches min_version='1.0.0' max_version='1.9.0'"
    )
    with pytest.raises(
        NotFoundError, match=r"^no bundle of package 'beta' in channel 'fast' has version 1\.0\.0$"
    ):
        cat.filter(packages=["beta"], channels=["fast"], min_version="1.0.0", max_version="1.0.0")


def test_every_emptied_named_package_is_named_in_one_line(cat: Catalog) -> None:
    with pytest.raises(NotFoundError) as exc:
        cat.filter(packages=["gamma", "alpha", "beta"], min_version="2.5.0")
    assert str(exc.value) == "no bundle of package 'alpha', 'beta' matches min_version='2.5.0'"


def test_a_non_default_channel_the_range_empties_is_dropped(cat: Catalog) -> None:
    """mirrorFilter.FilterCatalog drops an emptied channel that is not the default, silently."""
    sel = cat.filter(packages=["beta"], max_version="1.5.0")
    assert _names(sel) == ["beta.v1.0.0", "beta.v1.1.0"]
    assert [c.name for c in sel.channels("beta")] == ["stable"]
    assert sel.replaced_defaults() == {}


def test_an_emptied_default_channel_is_replaced_not_refused(cat: Catalog) -> None:
    """Upstream refuses this one ("channel "stable" ... results in an empty channel", even with a
    defaultChannel override). The flat filter has no override: it replaces the default with the
    kept channel holding the highest version, as it does when a channel selection leaves the
    default out, and says so; the package keeps bundles, so nothing is silently lost."""
    sel = cat.filter(packages=["beta"], min_version="2.0.0")
    assert _names(sel) == ["beta.v2.0.0", "beta.v2.1.0"]
    assert sel.replaced_defaults() == {"beta": ("stable", "fast")}


def test_unnamed_packages_the_range_empties_disappear_silently(cat: Catalog) -> None:
    """No package named: oc-mirror selects every package without a range (channel heads, or
    everything with full); a range over every package keeps those that have bundles in it."""
    assert [p.name for p in cat.filter(min_version="2.5.0").packages()] == ["gamma"]
    assert [p.name for p in cat.filter(channels=["fast"], min_version="2.0.0").packages()] == ["beta"]
    assert cat.filter(min_version="9.0.0").packages() == []


def test_filters_without_a_range_never_empty_a_named_package(cat: Catalog) -> None:
    """Heads-only (oc-mirror's default) keeps one bundle per channel; --channel alone drops the
    packages without such a channel, as documented."""
    assert _names(cat.filter(packages=["alpha", "beta"], heads_only=True)) == [
        "alpha.v1.2.0",
        "beta.v1.1.0",
        "beta.v2.1.0",
    ]
    assert [p.name for p in cat.filter(packages=["alpha", "beta"], channels=["fast"]).packages()] == ["beta"]
