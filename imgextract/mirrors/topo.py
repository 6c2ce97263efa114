"""Topological ordering used to merge mirror lists (runtime-utils ``topoGraph``).

Kahn's algorithm with a FIFO queue: the vertices free at the start (no incoming edge) are
queued in byte order; emitting a vertex queues, at the END of the queue and in byte order among
themselves, the vertices it frees.  So a vertex freed early comes before one freed later, whatever
their names (lists (a, c) and (d, b) give a, d, c, b).  When the queue is empty but vertices
remain (a cycle), the first unused vertex in byte order is emitted, whether or not it is on the
cycle, and what it frees is queued the same way.  Duplicate edges count once; the result does not
depend on the order in which edges were added.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable


def topo_sort(edges: Iterable[tuple[str, str]]) -> list[str]:
    outgoing: dict[str, set[str]] = {}
    incoming: dict[str, set[str]] = {}
    for src, dst in edges:
        outgoing.setdefault(src, set()).add(dst)
        outgoing.setdefault(dst, set())
        incoming.setdefault(dst, set()).add(src)
        incoming.setdefault(src, set())
    ordered = sorted(outgoing)
    queue = deque(v for v in ordered if not incoming[v])
    used: set[str] = set()
    result: list[str] = []
    next_unused = 0  # loop breaking scans ``ordered`` once, front to back
    while len(result) < len(ordered):
        if queue:
            v = queue.popleft()
        else:
            while ordered[next_unused] in used:
                next_unused += 1
            v = ordered[next_unused]
        used.add(v)
        result.append(v)
        freed = []
        for w in outgoing[v]:
            incoming[w].discard(v)
            if not incoming[w] and w not in used:
                freed.append(w)
        queue.extend(sorted(freed))
    return result
