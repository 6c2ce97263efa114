"""Layer skipping must be conservative: a table of cases, and the builder that feeds it."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path

import pytest

from imgextract.cache import (
    ContentCache,
    LayerIndexEntry,
    can_skip,
    entry_from_stats,
    plan_skips,
    selection_top_levels,
    selection_traverses_symlink,
)
from imgextract.cache.layerindex import IndexBuilder, close_selection


def entry(*tops: str, opaque: bool = False, links: tuple[tuple[str, str], ...] = ()) -> LayerIndexEntry:
    return LayerIndexEntry(frozenset(tops), opaque, frozenset(links))


CONFIGS = frozenset({"configs"})


@pytest.mark.parametrize(
    ("index", "selection", "expected"),
    [
        (entry("usr", "etc"), CONFIGS, True),  # disjoint: skip
        (entry("usr", "configs"), CONFIGS, False),  # touches the selection
        (None, CONFIGS, False),  # unknown layer: never
        (entry("usr"), None, False),  # whole rootfs selected: never
        (entry("usr", opaque=True), CONFIGS, False),  # root opaque whiteout wipes everything
        (entry(), CONFIGS, True),  # empty layer
        (entry("configs"), frozenset({"configs", "x"}), False),
    ],
)
def test_can_skip_table(
    index: LayerIndexEntry | None, selection: frozenset[str] | None, expected: bool
) -> None:
    assert can_skip(index, selection) is expected


def built(*members: tuple[str, str | None, str | None]) -> LayerIndexEntry:
    b = IndexBuilder()
    for name, sym, hard in members:
        b.add(name, symlink_target=sym, hardlink_target=hard)
    return b.entry()


def test_builder_normalises_names_and_whiteouts() -> None:
    e = built(
        ("./", None, None),
        ("./usr/bin/x", None, None),
        ("/etc/", None, None),
        (".wh.configs", None, None),
        ("data/.wh..wh..opq", None, None),
        ("../../opt/y", None, None),
    )
    assert e.top_levels == {"usr", "etc", "configs", "data", "opt"}
    assert not e.root_opaque
    assert built((".wh..wh..opq", None, None)).root_opaque
    assert built(("./.wh..wh..opq", None, None)).root_opaque


def test_builder_records_link_edges_lexically() -> None:
    e = built(
        ("configs", "/data", None),
        ("a/b", "../../../etc/x", None),
        ("a/c", "sub/d", None),
        ("h", None, "usr/lib/f"),
        ("root", "/", None),
        ("up", "..", None),
    )
    assert e.links == {("configs", "data"), ("a", "etc"), ("a", "a"), ("h", "usr"), ("root", ""), ("up", "")}


def test_entry_json_round_trip_and_strictness() -> None:
    e = entry("usr", "etc", opaque=True, links=(("a", "b"),))
    assert LayerIndexEntry.loads(e.dumps()) == e
    assert LayerIndexEntry.loads(b"not json") is None
    assert (
        LayerIndexEntry.loads(b'{"version": 99, "top_levels": [], "root_opaque": false, "links": []}') is None
    )
    assert (
        LayerIndexEntry.loads(b'{"version": 1, "top_levels": "usr", "root_opaque": false, "links": []}')
        is None
    )


def test_selection_top_levels() -> None:
    assert selection_top_levels(["/configs/", "manifests/a.yaml", "./metadata"]) == {
        "configs",
        "manifests",
        "metadata",
    }
    assert selection_top_levels(None) is None
    assert selection_top_levels(["/"]) is None
    assert selection_top_levels(["configs", "."]) is None


def test_symlink_into_selection_pulls_in_its_source_and_target() -> None:
    # lower layer: data -> /configs ; upper layer writes data/x, which really lands in configs/x
    layers = [entry("data", links=(("data", "configs"),)), entry("data"), entry("usr")]
    assert close_selection(layers, CONFIGS) == {"configs", "data"}
    assert plan_skips(layers, CONFIGS) == [False, False, True]


def test_selected_dir_that_is_a_symlink_needs_its_target() -> None:
    layers = [entry("srv"), entry("configs", links=(("configs", "srv"),)), entry("usr")]
    assert plan_skips(layers, CONFIGS) == [False, False, True]


def test_chains_of_links_reach_a_fixpoint() -> None:
    layers = [
        entry("c", links=(("c", "b"),)),
        entry("b", links=(("b", "a"),)),
        entry("a"),
        entry("configs", links=(("configs", "c"),)),
        entry("z"),
    ]
    assert plan_skips(layers, CONFIGS) == [False, False, False, False, True]


def test_hardlink_target_outside_selection_is_kept() -> None:
    layers = [entry("usr"), entry("configs", links=(("configs", "usr"),))]
    assert plan_skips(layers, CONFIGS) == [False, False]


def test_link_to_root_disables_skipping() -> None:
    layers = [entry("usr"), entry("x", links=(("x", ""),)), entry("configs")]
    assert plan_skips(layers, CONFIGS) == [False, False, False]


def test_unindexed_layer_blocks_skipping_above_it_only() -> None:
    layers = [entry("usr"), entry("etc"), None, entry("opt"), entry("configs")]
    assert plan_skips(layers, CONFIGS) == [True, True, False, False, False]


def test_root_opaque_layer_is_applied_but_lower_layers_may_still_skip() -> None:
    # layers below an opaque root are wiped by it, so skipping them is harmless; the opaque one is applied
    layers = [entry("usr"), entry("configs", opaque=True), entry("usr")]
    assert plan_skips(layers, CONFIGS) == [True, False, True]


def test_index_store_round_trip(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    d = "sha256:" + "ab" * 32
    assert cache.get_layer_index(d) is None
    e = entry("usr", links=(("a", "b"),))
    cache.put_layer_index(d, e)
    assert cache.get_layer_index(d) == e
    (tmp_path / "index" / "sha256" / ("ab" * 32 + ".json")).write_bytes(b"{garbage")
    assert cache.get_layer_index(d) is None


@dataclass
class Stats:
    top_level: set[str]
    symlinks: int = 0
    hardlinks: int = 0


@dataclass
class RichStats(Stats):
    root_opaque: bool = False
    links: set[tuple[str, str]] = dc_field(default_factory=set)


def test_entry_from_current_layer_stats_is_conservative() -> None:
    assert entry_from_stats(Stats({"usr", "etc"})) == entry("usr", "etc")
    assert entry_from_stats(Stats({".", "usr"})) == entry("usr", opaque=True)  # "." might be a root opaque
    assert entry_from_stats(Stats({"usr"}, symlinks=1)) is None  # links unknown: no index
    assert entry_from_stats(Stats({"usr"}, hardlinks=2)) is None


def test_entry_from_stats_that_report_links_and_opaque() -> None:
    got = entry_from_stats(
        RichStats({".", "usr", "bin"}, symlinks=1, root_opaque=False, links={("bin", "usr")})
    )
    assert got == entry("usr", "bin", links=(("bin", "usr"),))


def test_selection_traverses_symlink(tmp_path: Path) -> None:
    (tmp_path / "configs" / "a").mkdir(parents=True)
    (tmp_path / "data").mkdir()
    assert not selection_traverses_symlink(tmp_path, ["/configs/a", "missing/x"])
    assert not selection_traverses_symlink(tmp_path, None)
    (tmp_path / "link").symlink_to("data")
    assert selection_traverses_symlink(tmp_path, ["/link"])
    (tmp_path / "configs" / "b").symlink_to("../data")
    assert selection_traverses_symlink(tmp_path, ["configs/b/x"])
    assert not selection_traverses_symlink(tmp_path, ["configs/a/x"])


def test_an_entry_nested_past_the_json_parser_limit_is_unreadable() -> None:
    assert LayerIndexEntry.loads(b"[" * 200_000 + b"]" * 200_000) is None
