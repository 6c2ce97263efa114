"""The render pool's cue to load the image reader ahead (``pipeline._ReadCue``): the thread waiting
for the references wakes when one of them is to read its image, and never waits longer than the
references themselves (a warm run reads no image; a failed reference ends the wait)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from imgextract.catalog.render.pipeline import _ReadCue

WAIT = 30  # seconds: a cue that never came would hang the command


def test_a_reference_that_reads_its_image_wakes_the_waiting_thread() -> None:
    cue, release = _ReadCue(), threading.Event()

    def reference(reads: bool) -> None:
        if reads:
            cue.reading()
        assert release.wait(WAIT)

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(reference, i == 2) for i in range(4)]
        try:
            assert cue.wait(futures) is True  # while every reference is still at work
            assert not any(f.done() for f in futures)
        finally:
            release.set()


def test_references_that_read_no_image_end_the_wait_when_all_are_done() -> None:
    cue = _ReadCue()
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(lambda: None) for _ in range(20)]
        assert cue.wait(futures) is False
        assert all(f.done() for f in futures)


def test_a_failed_reference_ends_the_wait() -> None:
    cue, release = _ReadCue(), threading.Event()

    def reference(fails: bool) -> None:
        if fails:
            raise ValueError("bad reference")
        assert release.wait(WAIT)

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(reference, i == 1) for i in range(4)]
        try:
            assert cue.wait(futures) is False  # the others are still waiting for `release`
            assert [f.done() for f in futures] == [False, True, False, False]
            with pytest.raises(ValueError):
                futures[1].result()
        finally:
            release.set()


def test_an_image_read_after_every_reference_is_done_changes_nothing() -> None:
    cue = _ReadCue()
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(cue.reading) for _ in range(3)]
        for f in futures:
            f.result()
        assert cue.wait(futures) is False  # nothing left to load for
