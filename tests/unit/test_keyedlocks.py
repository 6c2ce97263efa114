"""KeyedLocks: one holder per key at a time, other keys independent, nothing kept afterwards."""

from __future__ import annotations

import threading

from imgextract.keyedlocks import KeyedLocks


def test_one_holder_per_key_and_entries_are_dropped() -> None:
    locks = KeyedLocks()
    inside: list[str] = []
    overlap: list[bool] = []
    gate = threading.Barrier(4)

    def worker(key: str) -> None:
        gate.wait()
        for _ in range(200):
            with locks.hold(key):
                inside.append(key)
                overlap.append(inside.count(key) > 1)
                inside.remove(key)

    threads = [threading.Thread(target=worker, args=(k,)) for k in ("a", "a", "a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(overlap) == 800 and not any(overlap)
    assert len(locks) == 0


def test_other_keys_do_not_wait() -> None:
    locks = KeyedLocks()
    with locks.hold("a"):
        done = threading.Event()

        def other() -> None:
            with locks.hold("b"):
                done.set()

        t = threading.Thread(target=other)
        t.start()
        assert done.wait(10)
        t.join()
        assert len(locks) == 1
    assert len(locks) == 0
