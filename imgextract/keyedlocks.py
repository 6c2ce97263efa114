"""A lock per key within a process: one worker per key at a time, the others wait for it.

Threads that pull images sharing a layer (bundles of one catalog often do) would otherwise each
download it while none has committed it yet; threads rendering bundles that share a manifest file
would each decode it.  With a lock per digest the second waits for the first and then finds its
result (the committed blob, the memo entry).  Across processes the cache files coordinate.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager


class KeyedLocks:
    """A lock per key, created on first use and dropped when no thread holds or waits for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[Hashable, tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def hold(self, key: Hashable) -> Iterator[None]:
        with self._lock:
            entry = self._held.get(key)
            if entry is None:
                entry = self._held[key] = (threading.Lock(), [0])
            entry[1][0] += 1
        lock, users = entry
        try:
            with lock:
                yield
        finally:
            with self._lock:
                users[0] -= 1
                if users[0] == 0:
                    del self._held[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)
