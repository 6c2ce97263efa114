"""The CLI's collector policy: paused while modules load, then young collections less often."""

from __future__ import annotations

import gc

from imgextract.cli import collector


def test_resume_enables_collection_with_a_larger_young_threshold() -> None:
    was_enabled, threshold = gc.isenabled(), gc.get_threshold()
    try:
        collector.pause()
        assert not gc.isenabled()
        collector.resume()
        assert gc.isenabled()
        young, middle, old = gc.get_threshold()
        assert young == collector.YOUNG_THRESHOLD > 700
        assert (middle, old) == threshold[1:]  # only the young generation's threshold changes
        collector.resume()  # a second call (collection already running) changes nothing
        assert gc.get_threshold() == (young, middle, old)
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        if was_enabled:
            gc.enable()
        else:
            gc.disable()
