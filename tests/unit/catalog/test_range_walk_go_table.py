"""The replaces-chain walk of a version range, case by case as oc-mirror's filter tests it.

Ported from ``TestChannel_FilterByVersionRange`` (github.com/sherine-k/catalog-filter
pkg/filter/config/v1alpha1/channel_test.go, stored commit 5db5952196ef99c12fa5f391275a34cd87542c44):
the cases with ``minimizeSelection: true``, the only mode of the mirror-config filter oc-mirror v2
runs (pkg/filter/mirror-config/v1alpha1/channel.go ``filterByVersionRange``), plus "do not warn when
head is in the range", whose answer is the same in both modes. Each case gives the channel
entries, the range (Masterminds constraints; none here involve pre-releases, so the blang grammar
of :class:`VersionRange` reads them alike), the bundle versions (a name missing from the map is an
unversioned bundle) and the expected names, sorted.
"""

from __future__ import annotations

from typing import Any

import pytest

from imgextract.catalog.graph import range_selection
from imgextract.catalog.model import ChannelEntry
from imgextract.catalog.versions import Version, VersionRange


def _e(name: str, replaces: str | None = None, skips: tuple[str, ...] = ()) -> ChannelEntry:
    return ChannelEntry(name, replaces, skips)


CASES: list[tuple[str, list[ChannelEntry], str, dict[str, str], list[str]]] = [
    ("single entry", [_e("foo.v1.0.0")], ">=1.0.0 <2.0.0", {"foo.v1.0.0": "1.0.0"}, ["foo.v1.0.0"]),
    ("single entry, out of range", [_e("foo.v2.0.0")], ">=1.0.0 <2.0.0", {"foo.v2.0.0": "2.0.0"}, []),
    (
        "include head, but not tail",
        [_e("foo.v1.1.0", "foo.v1.0.0"), _e("foo.v1.0.0", "foo.v0.1.0"), _e("foo.v0.1.0")],
        ">=1.0.0 <2.0.0",
        {"foo.v1.1.0": "1.1.0", "foo.v1.0.0": "1.0.0", "foo.v0.1.0": "0.1.0"},
        ["foo.v1.0.0", "foo.v1.1.0"],
    ),
    (
        "include tail, but not head",
        [_e("foo.v2.0.0", "foo.v1.1.0"), _e("foo.v1.1.0", "foo.v1.0.0"), _e("foo.v1.0.0")],
        ">=1.0.0 <2.0.0",
        {"foo.v2.0.0": "2.0.0", "foo.v1.1.0": "1.1.0", "foo.v1.0.0": "1.0.0"},
        ["foo.v1.0.0", "foo.v1.1.0"],
    ),
    (
        "neither head nor tail",
        [
            _e("foo.v2.0.0", "foo.v1.1.0"),
            _e("foo.v1.1.0", "foo.v1.0.0"),
            _e("foo.v1.0.0", "foo.v0.1.0"),
            _e("foo.v0.1.0"),
        ],
        ">=1.0.0 <2.0.0",
        {"foo.v2.0.0": "2.0.0", "foo.v1.1.0": "1.1.0", "foo.v1.0.0": "1.0.0", "foo.v0.1.0": "0.1.0"},
        ["foo.v1.0.0", "foo.v1.1.0"],
    ),
    (
        "head out-of-range, one skip in range",
        [_e("foo.v2.0.0", skips=("foo.v1.0.0",)), _e("foo.v1.0.0")],
        ">=1.0.0 <2.0.0",
        {"foo.v2.0.0": "2.0.0", "foo.v1.0.0": "1.0.0"},
        ["foo.v1.0.0", "foo.v2.0.0"],
    ),
    (
        "include head outside of range",
        [_e("foo.v2.0.0", "foo.v1.1.1", ("foo.v1.1.0",)), _e("foo.v1.1.1"), _e("foo.v1.1.0")],
        ">=1.0.0 <2.0.0",
        {"foo.v2.0.0": "2.0.0", "foo.v1.1.1": "1.1.1", "foo.v1.1.0": "1.1.0"},
        ["foo.v1.1.0", "foo.v1.1.1", "foo.v2.0.0"],
    ),
    (
        "include intermediate outside of range",
        [
            _e("foo.v1.1.0", "foo.v2.0.0"),
            _e("foo.v2.0.0", "foo.v1.0.0"),
            _e("foo.v1.0.0", "foo.v0.1.0"),
            _e("foo.v0.1.0"),
        ],
        ">=1.0.0 <2.0.0",
        {"foo.v2.0.0": "2.0.0", "foo.v1.1.0": "1.1.0", "foo.v1.0.0": "1.0.0", "foo.v0.1.0": "0.1.0"},
        ["foo.v1.0.0", "foo.v1.1.0", "foo.v2.0.0"],
    ),
    (
        "include unversioned head outside of range",
        [_e("foo.v2.0.0", "foo.v1.1.1", ("foo.v1.1.0",)), _e("foo.v1.1.1"), _e("foo.v1.1.0")],
        ">=1.0.0 <2.0.0",
        {"foo.v1.1.1": "1.1.1", "foo.v1.1.0": "1.1.0"},
        ["foo.v1.1.0", "foo.v1.1.1", "foo.v2.0.0"],
    ),
    (
        "minimize set of included bundles out of range",
        [
            _e("foo.v1.1.3", "foo.v1.1.2", ("foo.v1.1.0",)),
            _e("foo.v1.1.2", "foo.v1.1.1", ("foo.v1.1.0",)),
            _e("foo.v1.1.1", skips=("foo.v1.1.0",)),
            _e("foo.v1.1.0"),
        ],
        ">=1.1.0 <=1.1.1",
        {"foo.v1.1.3": "1.1.3", "foo.v1.1.2": "1.1.2", "foo.v1.1.1": "1.1.1", "foo.v1.1.0": "1.1.0"},
        ["foo.v1.1.0", "foo.v1.1.1"],
    ),
    (
        "include unversioned intermediate outside of range",
        [
            _e("foo.v1.1.0", "foo.v2.0.0"),
            _e("foo.v2.0.0", "foo.v1.0.0"),
            _e("foo.v1.0.0", "foo.v0.1.0"),
            _e("foo.v0.1.0"),
        ],
        ">=1.0.0 <2.0.0",
        {"foo.v1.1.0": "1.1.0", "foo.v1.0.0": "1.0.0", "foo.v0.1.0": "0.1.0"},
        ["foo.v1.0.0", "foo.v1.1.0", "foo.v2.0.0"],
    ),
    (
        "do not warn when head is in the range",
        [_e("foo.v2.0.0", "foo.v1.1.0"), _e("foo.v1.1.0")],
        "<=2.0.0",
        {"foo.v2.0.0": "2.0.0", "foo.v1.1.0": "1.1.0"},
        ["foo.v1.1.0", "foo.v2.0.0"],
    ),
]


@pytest.mark.parametrize("name, entries, constraint, versions, expected", CASES, ids=[c[0] for c in CASES])
def test_filter_by_version_range(
    name: str, entries: list[ChannelEntry], constraint: str, versions: dict[str, str], expected: list[str]
) -> None:
    rng = VersionRange.parse(constraint)
    parsed: dict[str, Any] = {n: Version.parse(v) for n, v in versions.items()}
    # an entry missing from the Go test's map is unversioned: known to the channel, no version
    for e in entries:
        parsed.setdefault(e.name, None)

    def in_range(v: Version | None) -> bool:
        return v is not None and v in rng

    kept = range_selection(entries, parsed, in_range)
    assert kept is not None
    assert sorted(kept) == expected
