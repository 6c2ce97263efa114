"""The render pool's head start on the image reader (``pipeline._LoadAhead``): the first reference
that is to read its image starts one thread that imports the reader's modules; the main thread,
where interrupts land, never imports them, and a failure there is only a lost head start."""

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


def _join_loader() -> None:
    for thread in threading.enumerate():
        if thread.name == "render-load-ahead":
            thread.join(WAIT)


def test_the_first_image_read_starts_one_loader_thread() -> None:
    source = Source()
    ahead = _LoadAhead(source)
    start = threading.Barrier(8)

    def reference() -> None:
        start.wait(WAIT)
        ahead.reading()

    with ThreadPoolExecutor(8) as pool:
        for f in [pool.submit(reference) for _ in range(8)]:
            f.result()
    assert source.done.wait(WAIT)
    ahead.reading()  # later images change nothing
    _join_loader()
    assert source.threads == ["render-load-ahead"]  # once, and never on the main thread


def test_no_image_read_loads_nothing() -> None:
    source = Source()
    _LoadAhead(source)
    assert not source.done.wait(0.2)
    assert source.threads == []


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_failing_load_is_only_a_lost_head_start(capfd: pytest.CaptureFixture[str]) -> None:
    source = Source(ImportError("no module named isal"))
    _LoadAhead(source).reading()
    assert source.done.wait(WAIT)
    _join_loader()
    assert source.threads == ["render-load-ahead"]
    assert capfd.readouterr().err == ""  # the library never prints: the workers meet the error again
