"""Topological ordering used to merge mirror lists (runtime-utils ``topoGraph``).

Kahn's algorithm in rounds: every vertex without remaining incoming edges is emitted in one
round, in byte order.  When no vertex is free (a cycle), the smallest remaining vertex (byte
order) is emitted alone and its outgoing edges are dropped.  The result therefore does not depend
on the order in which edges were added; the conformance vectors pin this tie rule.
"""

from __future__ import annotations

from collections.abc import Iterable


def topo_sort(edges: Iterable[tuple[str, str]]) -> list[str]:
    outgoing: dict[str, set[str]] = {}
    incoming: dict[str, set[str]] = {}
    for src, dst in edges:
        outgoing.setdefault(src, set()).add(dst)
        outgoing.setdefault(dst, set())
        incoming.setdefault(dst, set()).add(src)
        incoming.setdefault(src, set())
    result: list[str] = []
    remaining = set(outgoing)
    while remaining:
        free = sorted(v for v in remaining if not incoming[v])
        if not free:
            free = [min(remaining)]
        for v in free:
            result.append(v)
            remaining.discard(v)
            for w in outgoing[v]:
                incoming[w].discard(v)
            for u in incoming[v]:
                outgoing[u].discard(v)
            incoming[v] = set()
    return result
