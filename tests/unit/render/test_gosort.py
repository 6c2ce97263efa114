"""relatedImages in Go's ``sort.Slice`` order (operator-registry ``alpha/action/render.go`` ``Render.Run``).

``Render.Run`` sorts every bundle's relatedImages with ``sort.Slice`` comparing ``Image`` alone.  Go's
sort is pdqsort: insertion sort (stable) up to 12 elements, unstable above, but deterministic for a
given input.  Entries with one image and different names are where that shows.  The expected orders
below were worked out by running Go's algorithm (``sort/zsortfunc.go``: ``pdqsort_func``,
``choosePivot_func``, ``partition_func``, ``partialInsertionSort_func``, ``breakPatterns_func`` with
the xorshift64 13/7/17 generator) on these inputs; a stable sort gives a different order for each.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from imgextract.catalog.render.bundle import render_bundle
from imgextract.catalog.render.gosort import go_sort

WIDGET = Path(__file__).resolve().parents[2] / "data" / "render" / "widget-operator"

_OP = "quay.example.com/widgets/operator@sha256:"
_A, _B, _C, _D = (_OP + c * 64 for c in "1234")
_DB, _PROXY = "registry.example.com/acme/db:v1", "registry.example.com/acme/proxy:v1"
# 14 entries, several images listed more than once under different names
_IMAGES = [_DB, _C, _PROXY, _A, _B, _B, _DB, _A, _D, _A, _B, _PROXY, _PROXY, _B]
_GO_ORDER = [9, 3, 7, 10, 4, 5, 13, 1, 8, 0, 6, 12, 11, 2]


def test_up_to_twelve_elements_is_insertion_sort_stable() -> None:
    items = [("b", 0), ("a", 1), ("b", 2), ("a", 3)]
    assert go_sort(items, key=lambda x: x[0]) == [("a", 1), ("a", 3), ("b", 0), ("b", 2)]


def test_equal_keys_above_twelve_take_go_pdqsort_order() -> None:
    got = go_sort(list(range(len(_IMAGES))), key=lambda i: _IMAGES[i])
    assert got == _GO_ORDER
    assert got != sorted(range(len(_IMAGES)), key=lambda i: _IMAGES[i])  # not what a stable sort gives


# 60 keys from 4 values: unbalanced partitions make breakPatterns_func scatter elements (xorshift64
# seeded with the length), partitionEqual_func takes runs equal to the previous pivot, and after
# too many bad pivots heapSort_func finishes a range
_PATTERN_KEYS = "013013032213213000132112230001300313131111000000212003331303"
_PATTERN_ORDER = [
    int(x)
    for x in (
        "45 43 58 3 52 51 6 47 46 0 44 28 42 32 31 15 16 17 27 26 40 34 22 56 49 41 10 18 1 39 4 29 13 38 "
        "21 36 23 24 20 48 9 8 50 12 14 37 11 30 7 35 19 53 5 54 55 33 57 2 59 25"
    ).split()
]


def test_pattern_breaking_equal_partition_and_heapsort_paths() -> None:
    keys = _PATTERN_KEYS
    got = go_sort(list(range(len(keys))), key=lambda i: keys[i])
    assert got == _PATTERN_ORDER
    assert [keys[i] for i in got] == sorted(keys)


def test_bundle_related_images_keep_go_order_for_one_image_twice(tmp_path: Path) -> None:
    # getRelatedImages keeps every CSV entry (two names for one image stay two entries), then
    # Render.Run's sort.Slice by image orders them as Go does
    root = tmp_path / "b"
    shutil.copytree(WIDGET, root)
    csv_path = root / "manifests" / "widget-operator.clusterserviceversion.yaml"
    csv = yaml.safe_load(csv_path.read_text())
    csv["spec"]["relatedImages"] = [{"name": f"r{i:02d}", "image": img} for i, img in enumerate(_IMAGES)]
    for dep in csv["spec"]["install"]["spec"]["deployments"]:
        for c in dep["spec"]["template"]["spec"].get("containers", []):
            c["image"] = _A  # listed: adds nothing
        dep["spec"]["template"]["spec"].pop("initContainers", None)
    csv_path.write_text(yaml.safe_dump(csv))
    b = render_bundle(root)
    assert b.related_images == [(f"r{i:02d}", _IMAGES[i]) for i in _GO_ORDER]


def test_catalog_bundle_related_images_keep_go_order(tmp_path: Path) -> None:
    # Render.Run sorts the relatedImages of a catalog's bundles too (declcfg.LoadFS keeps the file's order)
    import json

    from imgextract.catalog.render.pipeline import render_refs

    bundle = {
        "schema": "olm.bundle",
        "name": "p.v1",
        "package": "p",
        "image": "r/p:1",
        "properties": [{"type": "olm.package", "value": {"packageName": "p", "version": "1.0.0"}}],
        "relatedImages": [{"name": f"r{i:02d}", "image": img} for i, img in enumerate(_IMAGES)],
    }
    (tmp_path / "c.json").write_text(json.dumps(bundle))
    [out] = render_refs([str(tmp_path)])
    assert [r["name"] for r in out["relatedImages"]] == [f"r{i:02d}" for i in _GO_ORDER]


def test_bundles_with_one_name_keep_go_order_in_the_output() -> None:
    # declcfg.WriteJSON/WriteYAML: per package, slices.SortFunc(bundles, by name), the same pdqsort;
    # two references rendering one bundle name (say, two tags of one bundle image) are equal to it
    from imgextract.catalog.render.writer import opm_order

    names = {
        _A: "p.v1.0.0",
        _B: "p.v1.1.0",
        _C: "p.v1.2.0",
        _D: "p.v1.3.0",
        _DB: "p.v2.0.0",
        _PROXY: "p.v2.1.0",
    }
    bundles = [
        {"schema": "olm.bundle", "name": names[img], "package": "p", "image": f"r/p:{i}"}
        for i, img in enumerate(_IMAGES)
    ]
    pkg = {"schema": "olm.package", "name": "p"}
    out = opm_order([*bundles, pkg])
    assert out[0] is pkg
    assert [b["image"] for b in out[1:]] == [f"r/p:{i}" for i in _GO_ORDER]
