"""The merge order of several mirror lists for one source, as runtime-utils ``topoGraph.Sorted``
computes it when the MCO writes registries.conf (``mergedDigestMirrorSets``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.mirrors import MirrorSettings, load_mirror_config
from imgextract.mirrors.topo import topo_sort
from imgextract.reference import parse_reference
from tests.unit.mirrors.helpers import DIGEST

IDMS_TWO_LISTS = """\
apiVersion: config.openshift.io/v1
kind: ImageDigestMirrorSet
metadata: {name: two-lists}
spec:
  imageDigestMirrors:
  - source: src.example.com/ns
    mirrors: [a.example.net/ns, c.example.net/ns]
  - source: src.example.com/ns
    mirrors: [d.example.net/ns, b.example.net/ns]
"""


def test_merge_order_is_runtime_utils_queue_order(tmp_path: Path) -> None:
    """topoGraph.Sorted: a node freed by emitting another goes to the END of the queue of free
    nodes (each freed batch sorted), it does not join a re-sorted set of all free nodes.
    Lists (a, c) and (d, b) for one source: a, d free -> emit a (frees c), emit d (frees b)
    -> c, then b."""
    (tmp_path / "idms.yaml").write_text(IDMS_TWO_LISTS)
    (tmp_path / "registries.conf").write_text("")
    settings = MirrorSettings(
        idms_files=(tmp_path / "idms.yaml",),
        registries_conf=tmp_path / "registries.conf",
        registries_conf_dir=tmp_path / "absent.d",
        env={},
    )
    sources = load_mirror_config(settings).pull_sources(parse_reference("src.example.com/ns/app@" + DIGEST))
    assert [(str(s.reference), s.blocked) for s in sources] == [
        ("a.example.net/ns/app@" + DIGEST, False),
        ("d.example.net/ns/app@" + DIGEST, False),
        ("c.example.net/ns/app@" + DIGEST, False),
        ("b.example.net/ns/app@" + DIGEST, False),
        ("src.example.com/ns/app@" + DIGEST, False),
    ]


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ([("a", "c"), ("c", "s"), ("d", "b"), ("b", "s")], ["a", "d", "c", "b", "s"]),
        # the freed batch of one node is sorted, and queued after earlier free nodes
        ([("x", "q"), ("x", "p"), ("a", "z")], ["a", "x", "z", "p", "q"]),
        # a loop is broken at the first unused node in byte order, even one outside the loop
        ([("b", "c"), ("c", "b"), ("c", "a"), ("b", "d")], ["a", "b", "c", "d"]),
        # what the loop breaker frees is queued, and what those free is queued behind them
        ([("b", "c"), ("c", "b"), ("b", "y"), ("c", "x"), ("y", "w")], ["b", "c", "y", "x", "w"]),
        ([("m", "m"), ("m", "s")], ["m", "s"]),
    ],
)
def test_topo_sort_queue_order(edges: list[tuple[str, str]], expected: list[str]) -> None:
    """topoGraph.Sorted, for every rotation of the edge list."""
    for i in range(len(edges)):
        assert topo_sort(edges[i:] + edges[:i]) == expected
