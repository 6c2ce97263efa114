"""Catalog queries and filters on a generated catalog image in a real registry.

The catalog (300 packages, 2-4 channels each, replaces/skips/skipRange chains) is generated,
pushed as a catalog image, and opened through the registry. Every filter combination's answer is
compared with one computed here from the generator's own records, without the product's code.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from regfix.catalogs import GenChannel, GeneratedCatalog, generate, vkey
from regfix.oci import write_layout
from regfix.push import push
from regfix.registry import Registry

from imgextract import Client
from imgextract.catalog.catalog import Catalog
from imgextract.errors import NotFoundError, UsageError

GEN = generate(300, seed=11)
PKG_SETS: list[tuple[str, ...]] = [
    (),
    ("pkg-0007-operator",),
    ("pkg-0001-operator", "pkg-0042-operator", "pkg-0299-operator"),
]
CHANNEL_SETS: list[tuple[str, ...]] = [(), ("stable",), ("fast", "candidate")]
RANGES: list[tuple[str | None, str | None]] = [
    (None, None),
    ("1.2.0", None),
    (None, "2.1.0"),
    ("0.3.1", "2.4.0"),
]


@pytest.fixture(scope="module")
def catalog(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    layout = write_layout(tmp_path_factory.mktemp("layout"), GEN.image_spec(), "v1")
    pushed = push(layout, registry, "catalogs/generated", "v1")
    with Client(
        insecure_registries=[registry.host], cache_dir=tmp_path_factory.mktemp("cache"), env={}
    ) as client:
        return Catalog.open(pushed.ref, client=client)


def expected(
    gen: GeneratedCatalog,
    pkgs: tuple[str, ...],
    chans: tuple[str, ...],
    lo: str | None,
    hi: str | None,
    heads: bool,
) -> dict[str, tuple[str, dict[str, set[str]], str | None]]:
    """package -> (default channel, {channel: kept bundle names}, replaced default or None)."""
    out: dict[str, tuple[str, dict[str, set[str]], str | None]] = {}
    for name in pkgs or sorted(gen.packages):
        pkg = gen.packages[name]
        kept: dict[str, set[str]] = {}
        for ch in pkg.channels.values():
            if chans and ch.name not in chans:
                continue
            if heads:
                members = {ch.head}
            else:
                members = _range_members(ch, {m: pkg.bundles[m].version for m in ch.members}, lo, hi)
            if members:
                kept[ch.name] = members
        if not kept:
            continue
        if pkg.default_channel in kept:
            out[name] = (pkg.default_channel, kept, None)
        else:
            best = sorted(
                kept, key=lambda c: (max(vkey(pkg.bundles[m].version) for m in kept[c]), [-ord(x) for x in c])
            )[-1]
            out[name] = (best, kept, pkg.default_channel)
    return out


def _range_members(ch: GenChannel, versions: dict[str, str], lo: str | None, hi: str | None) -> set[str]:
    """oc-mirror's range rule on the generator's entries (pre-releases only within pre-release
    bounds): from the single replaces/skips head down
    the replaces chain, keep the chain from the lowest entry with the most in-range bundles at or
    below it to the first with none, plus the in-range entries they skip; equal bounds, or no
    single head (skipRange-only channels), keep the in-range members."""

    def ok(name: str) -> bool:
        v = versions.get(name)
        if v is None or ("-" in v and any(b is not None and "-" not in b for b in (lo, hi))):
            return False  # a pre-release meets only pre-release bounds (Masterminds semver)
        return (lo is None or vkey(v) >= vkey(lo)) and (hi is None or vkey(v) <= vkey(hi))

    plain = {m for m in ch.members if ok(m)}
    entries = {str(e["name"]): e for e in ch.entries}
    edges = {str(e["replaces"]) for e in ch.entries if e.get("replaces")}
    edges |= {str(s) for e in ch.entries for s in e.get("skips", [])}
    tops = [n for n in entries if n not in edges]
    if (lo is not None and lo == hi) or len(tops) != 1:
        return plain
    chain = [tops[0]]
    while (nxt := entries[chain[-1]].get("replaces")) in entries:
        chain.append(str(nxt))
    below: dict[str, set[str]] = {}
    acc: set[str] = set()
    for n in reversed(chain):
        acc = acc | {m for m in [n, *entries[n].get("skips", [])] if ok(str(m))}
        below[n] = acc
    top = max(range(len(chain)), key=lambda i: (len(below[chain[i]]), i))
    kept: set[str] = set()
    for n in chain[top:]:
        if not below[n]:
            break
        kept |= {n} | {str(m) for m in entries[n].get("skips", []) if ok(str(m))}
    return kept


def test_unfiltered_catalog_matches_generator(catalog: Catalog) -> None:
    assert [p.name for p in catalog.packages()] == sorted(GEN.packages)
    for p in catalog.packages():
        g = GEN.packages[p.name]
        assert p.default_channel == g.default_channel
        assert set(p.channels) == set(g.channels)
        for ch in catalog.channels(p.name):
            assert ch.heads == (g.channels[ch.name].head,)
            assert set(ch.bundle_names) == set(g.channels[ch.name].members)
    assert {(b.package, b.name, b.version, b.image) for b in catalog.bundles()} == {
        (b.package, b.name, b.version, b.image) for b in GEN.bundles()
    }
    assert catalog.related_images() == sorted(set().union(*(b.images() for b in GEN.bundles())))


COMBOS = list(
    itertools.product(range(len(PKG_SETS)), range(len(CHANNEL_SETS)), range(len(RANGES)), (False, True))
)


@pytest.mark.parametrize(("pi", "ci", "ri", "heads"), COMBOS)
def test_every_filter_combination(catalog: Catalog, pi: int, ci: int, ri: int, heads: bool) -> None:
    pkgs, chans, (lo, hi) = PKG_SETS[pi], CHANNEL_SETS[ci], RANGES[ri]
    run: Callable[[], Catalog] = lambda: catalog.filter(pkgs, chans, lo, hi, heads)  # noqa: E731
    if heads and (lo or hi):
        with pytest.raises(UsageError, match="heads_only cannot be combined"):
            run()
        return
    present = {c for p in (pkgs or GEN.packages) for c in GEN.packages[p].channels}
    if chans and not set(chans) <= present:
        with pytest.raises(NotFoundError, match="channel"):
            run()
        return
    want = expected(GEN, pkgs, chans, lo, hi, heads)
    emptied = [
        p
        for p in pkgs
        if p not in want and set(GEN.packages[p].channels) & set(chans or GEN.packages[p].channels)
    ]
    if emptied:
        # a named package the range leaves without a bundle fails, as oc-mirror's filter does;
        # the other named packages, filtered alone, give their usual answer
        with pytest.raises(
            NotFoundError, match=re.escape("no bundle of package " + ", ".join(map(repr, emptied)))
        ):
            run()
        pkgs = tuple(p for p in pkgs if p not in emptied)
        if not pkgs or not set(chans) <= {c for p in pkgs for c in GEN.packages[p].channels}:
            return
        want = expected(GEN, pkgs, chans, lo, hi, heads)
    sel = run()
    assert [p.name for p in sel.packages()] == sorted(want)
    for p in sel.packages():
        default, kept, replaced = want[p.name]
        assert (p.default_channel, p.replaced_default) == (default, replaced), p.name
        assert {c.name: set(c.bundle_names) for c in sel.channels(p.name)} == kept
    want_bundles = {(p, n) for p, (_, kept, _) in want.items() for ms in kept.values() for n in ms}
    assert {(b.package, b.name) for b in sel.bundles()} == want_bundles
    want_images = set().union(set(), *(GEN.packages[p].bundles[n].images() for p, n in want_bundles))
    assert sel.related_images() == sorted(want_images)
    assert sel.replaced_defaults() == {p: (r, d) for p, (d, _, r) in want.items() if r is not None}


def test_default_channel_filtered_out_is_replaced_and_named(catalog: Catalog) -> None:
    victims = [p for p in GEN.packages.values() if p.default_channel != "stable" and "stable" in p.channels]
    assert victims, "the generated catalog must have packages whose default is not 'stable'"
    sel = catalog.filter(channels=["stable"])
    for v in victims:
        pkg = sel.package(v.name)
        assert pkg.default_channel == "stable" and pkg.replaced_default == v.default_channel


def test_unknown_package_is_not_found(catalog: Catalog) -> None:
    with pytest.raises(NotFoundError, match="no-such-operator"):
        catalog.filter(packages=["no-such-operator"])


def test_shards_partition_the_selection(catalog: Catalog) -> None:
    sel = catalog.filter(heads_only=True)
    parts = [{(b.package, b.name) for b in sel.shard(i, 3)} for i in range(3)]
    assert all(parts) and not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert parts[0] | parts[1] | parts[2] == {(b.package, b.name) for b in sel.bundles()}


def test_opened_from_the_cache_a_second_time(catalog: Catalog, tmp_path: Path) -> None:
    assert catalog.root is not None and "catalogs" in catalog.root.parts
