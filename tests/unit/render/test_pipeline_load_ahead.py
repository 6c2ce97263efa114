"""The render pool's head start on the image reader (``pipeline._LoadAhead``): one thread, started
with the pool, imports the reader's modules once the first reference is to read its image; the
main thread, where interrupts land, never imports them; a run that reads no image loads nothing
and the thread ends with the pool; a failure there is only a lost head start."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from imgextract.catalog.render.pipeline import _LoadAhead

WAIT = 30


class Source:
    """An image source that only records ``load_ahead`` calls (and may fail in them)."""

    cache_root: Path | None = None

    def __init__(self, error: Exception | None = None) -> None:
        self.threads: list[str] = []
        self.error = error
        self.done = threading.Event()

    def load_ahead(self) -> None:
        try:
            self.threads.append(threading.current_thread().name)
            if self.error is not None:
                raise self.error
        finally:
            self.done.set()

    def resolve(self, ref: str) -> Any:
        raise AssertionError("not called")

    def locate(self, ref: str) -> Any:
        raise AssertionError("not called")

    def read_tree(self, image: Any, paths: tuple[str, ...]) -> Any:
        raise AssertionError("not called")

    def extract(self, image: Any, paths: tuple[str, ...], dest: Path) -> None:
        raise AssertionError("not called")


def _loader() -> threading.Thread:
    [thread] = [t for t in threading.enumerate() if t.name == "render-load-ahead"]
    return thread


def test_the_first_image_read_starts_the_load_on_its_own_thread_once() -> None:
    source = Source()
    ahead = _LoadAhead(source)
    ahead.start()
    loader = _loader()
    start = threading.Barrier(8)

    def reference() -> None:
        start.wait(WAIT)
        ahead.reading()

    with ThreadPoolExecutor(8) as pool:
        for f in [pool.submit(reference) for _ in range(8)]:
            f.result()
    assert source.done.wait(WAIT)
    ahead.reading()  # later images change nothing
    ahead.finish()
    loader.join(WAIT)
    assert not loader.is_alive()
    assert source.threads == ["render-load-ahead"]  # once, and never on the main thread


def test_an_image_read_before_the_thread_starts_is_not_lost() -> None:
    source = Source()
    ahead = _LoadAhead(source)
    ahead.reading()
    ahead.start()
    assert source.done.wait(WAIT)
    ahead.finish()
    assert source.threads == ["render-load-ahead"]


@pytest.mark.parametrize("read_after_the_end", [False, True])
def test_a_run_that_reads_no_image_loads_nothing(read_after_the_end: bool) -> None:
    source = Source()
    ahead = _LoadAhead(source)
    ahead.start()
    loader = _loader()
    ahead.finish()  # every reference answered by its kept text
    loader.join(WAIT)
    assert not loader.is_alive()  # the thread ends with the pool
    if read_after_the_end:
        ahead.reading()
    assert source.threads == []


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_failing_load_is_only_a_lost_head_start(capfd: pytest.CaptureFixture[str]) -> None:
    source = Source(ImportError("no module named isal"))
    ahead = _LoadAhead(source)
    ahead.start()
    loader = _loader()
    ahead.reading()
    assert source.done.wait(WAIT)
    ahead.finish()
    loader.join(WAIT)
    assert source.threads == ["render-load-ahead"]
    assert capfd.readouterr().err == ""  # the library never prints: the workers meet the error again


def test_the_pool_ends_only_once_a_load_under_way_is_done() -> None:
    """``finish`` (the end of the render's pool) waits for a load already under way: the main thread
    went on to write and exit while the thread was inside an import, and the command's exit path
    then met the half-imported module (``partially initialized module
    'imgextract.outputs.directory' has no attribute 'COMMIT_CHECKPOINTS'``: exit 1 after the output,
    in a render whose references were all answered by kept renderings)."""
    started, release = threading.Event(), threading.Event()

    class Slow(Source):
        def load_ahead(self) -> None:
            started.set()
            release.wait(WAIT)
            super().load_ahead()

    source = Slow()
    ahead = _LoadAhead(source)
    ahead.start()
    loader = _loader()
    ahead.reading()
    assert started.wait(WAIT)
    ending = threading.Thread(target=ahead.finish)
    ending.start()
    ending.join(0.5)
    assert ending.is_alive()  # still waiting for the load
    release.set()
    ending.join(WAIT)
    assert not ending.is_alive() and not loader.is_alive()
    assert source.threads == ["render-load-ahead"]
