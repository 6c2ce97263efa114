"""The hand-off between the fetch thread and the applier's: neither waits for a change it missed."""

from __future__ import annotations

import threading

from imgextract.layers.chunked.fetcher import Fetcher
from imgextract.layers.chunked.toc import Chunk, TocEntry


def _entry(name: str) -> TocEntry:
    return TocEntry("reg", name, size=4, digest="sha256:" + "0" * 64, chunks=[Chunk(0, 4, 4, None)])


def test_the_end_of_the_fetch_during_the_appliers_idle_work_is_seen() -> None:
    """The applier waits for a file while doing idle work (cache writes) with the lock released;
    the fetch thread ends meanwhile (nothing more will come).  The applier must see that end, not
    wait for a wake-up that already happened."""
    entry = _entry("etc/a")
    fetcher = Fetcher([entry], None)  # type: ignore[arg-type]  # (its fetch loop reads nothing)
    fetcher.files = []  # the loop ends at once, queueing nothing for ``entry``

    def idle() -> bool:
        fetcher._run()  # the fetch thread's whole run, while the applier is busy here
        return False  # no idle work done

    fetcher.idle = idle
    got: list[object] = []
    applier = threading.Thread(target=lambda: got.append(fetcher.take(entry)), daemon=True)
    applier.start()
    applier.join(10)
    assert not applier.is_alive(), "the applier waits for a fetch that has ended"
    assert got == [None]  # not coming: the applier fetches it itself


def test_room_made_during_the_fetchers_idle_work_is_seen() -> None:
    """The fetch thread waits for room in the queue while doing idle work; the applier takes the
    queued file meanwhile.  The fetch thread must see the room, not wait for it."""
    first, second = _entry("etc/a"), _entry("etc/b")
    fetcher = Fetcher([first, second], None, ahead=4)  # type: ignore[arg-type]
    assert fetcher._put(0, b"1234", 4, last=True)  # the queue is full

    def idle() -> bool:
        pieces = fetcher.take(first)  # the applier takes the queued file meanwhile
        assert pieces is not None and list(pieces) == [b"1234"]
        fetcher.idle = None
        return False

    fetcher.idle = idle
    done: list[bool] = []
    putter = threading.Thread(target=lambda: done.append(fetcher._put(1, b"5678", 4, last=True)), daemon=True)
    putter.start()
    putter.join(10)
    assert not putter.is_alive(), "the fetch thread waits for room that was made"
    assert done == [True]
