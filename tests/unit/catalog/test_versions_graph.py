"""OLM version ranges (blang grammar) and channel heads (opm's rule, skipRange as tie-breaker)."""

from __future__ import annotations

import pytest

from imgextract.catalog import graph
from imgextract.catalog.model import ChannelEntry
from imgextract.catalog.versions import InvalidVersion, parse_range, parse_version


@pytest.mark.parametrize(
    ("rng", "inside", "outside"),
    [
        (">=4.1.0 <4.2.0-0", ["4.1.0", "4.1.9"], ["4.2.0-rc.1", "4.2.0", "4.0.9"]),
        ("<1.2.0", ["1.1.9", "1.2.0-alpha"], ["1.2.0"]),
        (">= 1.0.0 < 2.0.0 || >3.0.0", ["1.5.0", "3.0.1"], ["2.0.0", "3.0.0"]),
        ("1.2.x", ["1.2.0", "1.2.7"], ["1.3.0", "1.1.9"]),
        ("<=1.x", ["1.9.9"], ["2.0.0"]),
        (">1.2.x", ["1.3.0"], ["1.2.9"]),
        ("!=1.0.0", ["1.0.1"], ["1.0.0", "1.0.0+build"]),
        ("=1.0.0", ["1.0.0+meta"], ["1.0.1"]),
    ],
)
def test_blang_ranges(rng: str, inside: list[str], outside: list[str]) -> None:
    r = parse_range(rng)
    assert all(parse_version(v) in r for v in inside)
    assert not any(parse_version(v) in r for v in outside)


@pytest.mark.parametrize("bad", ["", "||", ">=1.0.0 ||", "~1.0.0", ">=1.0", "v1.0.0", "=>1.0.0"])
def test_bad_ranges_are_refused(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        parse_range(bad)


def test_strict_versions() -> None:
    assert parse_version("1.0.0-rc.1") < parse_version("1.0.0")
    for bad in ("v1.0.0", "1.0", "01.0.0"):
        with pytest.raises(InvalidVersion):
            parse_version(bad)


def test_head_by_replaces_and_skips() -> None:
    entries = [
        ChannelEntry("a.v1"),
        ChannelEntry("a.v3", replaces="a.v1", skips=("a.v2",)),
        ChannelEntry("a.v2", replaces="a.v1"),
    ]
    assert graph.heads(entries, {}) == ("a.v3",)


def test_skiprange_breaks_a_tie_opm_would_report() -> None:
    entries = [
        ChannelEntry("a.v1"),
        ChannelEntry("a.v2", replaces="a.v1"),
        ChannelEntry("a.v3", skip_range="<1.3.0"),
    ]
    versions = {
        "a.v1": parse_version("1.1.0"),
        "a.v2": parse_version("1.2.0"),
        "a.v3": parse_version("1.3.0"),
    }
    assert graph.heads(entries, versions) == ("a.v3",)
    assert graph.upgrades_from(entries[2], entries, versions) == ("a.v1", "a.v2")


def test_ambiguous_channel_reports_every_head() -> None:
    entries = [ChannelEntry("a.v1"), ChannelEntry("b.v1")]
    assert graph.heads(entries, {}) == ("a.v1", "b.v1")


@pytest.mark.parametrize(
    "bad",
    ["18446744073709551616.0.0", "1.0.0-18446744073709551616", "<1.0.0-rc.99999999999999999999"],
)
def test_numbers_past_uint64_are_no_versions(bad: str) -> None:
    """blang/semver ``Parse`` (and ``ParseRange``, which parses each comparator's version with it)
    reads numbers with ``strconv.ParseUint(s, 10, 64)``: past 18446744073709551615 it is an error."""
    with pytest.raises(InvalidVersion):
        parse_range(bad) if bad.startswith("<") else parse_version(bad)
    assert parse_version("18446744073709551615.0.0-18446744073709551615")


def test_skiprange_past_uint64_is_ignored_as_olm_ignores_it() -> None:
    """OLM drops a ``skipRange`` that blang/semver ``ParseRange`` refuses; a range whose version
    overflows uint64 is such a range, so it breaks no tie between heads."""
    entries = [
        ChannelEntry("a.v1"),
        ChannelEntry("a.v2", skip_range="<18446744073709551616.0.0"),
    ]
    versions = {"a.v1": parse_version("1.0.0"), "a.v2": parse_version("2.0.0")}
    assert graph.heads(entries, versions) == ("a.v1", "a.v2")


@pytest.mark.parametrize(
    "bad", ["18446744073709551616", "1.18446744073709551616", "v1.0.18446744073709551616"]
)
def test_range_bounds_past_uint64_are_refused(bad: str) -> None:
    """oc-mirror reads ``minVersion``/``maxVersion`` with Masterminds semver ``NewVersion``, which
    parses MAJOR, MINOR and PATCH with ``strconv.ParseUint(s, 10, 64)``: a bound past
    18446744073709551615 is an invalid version there (a usage error here)."""
    from imgextract.catalog.versions import parse_bound

    with pytest.raises(InvalidVersion):
        parse_bound(bad)
    assert parse_bound("18446744073709551615.0").parts == 2


@pytest.mark.parametrize("digits", [4301, 10000])
def test_a_bound_of_thousands_of_digits_is_a_usage_error(digits: int) -> None:
    """A ``--min-version``/``--max-version`` is user input: a number of any length is refused as a
    version out of range (exit 2), never Python's own refusal to convert a text of more than 4300
    digits to an int (which reached the CLI as an internal error, exit 1).  Leading zeros do not
    count toward the range, as ``strconv.ParseUint`` reads them."""
    from imgextract.catalog.versions import parse_bound

    for bad in ("9" * digits, "1." + "9" * digits, "1.2." + "9" * digits):
        with pytest.raises(InvalidVersion, match="out of range"):
            parse_bound(bad)
    bound = parse_bound("0" * digits + "1.2")
    assert (str(bound.version), bound.parts) == ("1.2.0", 2)
