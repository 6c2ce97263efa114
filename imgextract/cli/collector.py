"""The garbage collector around one command-line process.

Start-up imports some 450 modules: a couple of hundred thousand long-lived objects (modules,
classes, functions) and next to no garbage, yet each full collection while they pile up walks them
all again.  So the CLI pauses collection while a command loads its modules, then freezes what was
loaded (later collections skip it) and collects for the command's real work, young objects every
10,000 allocations rather than 700: a command builds tens of thousands of short-lived containers
(a zstd:chunked TOC is thousands of JSON objects), and each young collection walks the ones still
alive (a pull of a catalog's configs went from 33 collections to 5, a few ms less); at exit the
interpreter's final walk over every object is skipped the same way.  Objects still in use are
released at exit as before (module teardown); only cyclic garbage left at that moment is not
collected, and the process is ending.  Commands that never build a client (``job``, ``cache
prune``: short, and without reference cycles to speak of) run with collection paused.  The
library never touches the collector.
"""

from __future__ import annotations

import gc


def pause() -> None:
    """No automatic collection until :func:`resume` (start of the process: imports ahead)."""
    gc.disable()


YOUNG_THRESHOLD = 10_000
"""Allocations between two young collections while a command runs (Python's default: 700)."""


def resume() -> None:
    """The command's modules are loaded: freeze them out of later collections and collect again,
    less often than by default (``YOUNG_THRESHOLD``)."""
    if not gc.isenabled():
        gc.freeze()
        _, middle, old = gc.get_threshold()
        gc.set_threshold(YOUNG_THRESHOLD, middle, old)
        gc.enable()


def skip_final_collection() -> None:
    """The process is about to exit: freeze everything so the final collection has nothing to walk."""
    gc.freeze()
