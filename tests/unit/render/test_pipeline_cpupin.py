"""The render pool's workers share one CPU (``imgextract.cpupin``): the CPU the calling thread runs on
when the pool starts, for the pool's threads and the load-ahead thread only; ``pin_cpu=False``
(``--no-pin-cpu``) and a one-reference render leave every thread free."""

from __future__ import annotations

import io
import logging
import os
import threading
from pathlib import Path
from typing import Any

import pytest

import imgextract
from imgextract import rendering
from imgextract.catalog.render import pipeline
from imgextract.catalog.render.pipeline import RenderError, RenderOptions, _LoadAhead, render_refs
from imgextract.cpupin import call_free, current_cpu, pin_thread, processor

WAIT = 30
ALLOWED = os.sched_getaffinity(0)


def _affinity() -> set[int]:
    return os.sched_getaffinity(threading.get_native_id())


def test_processor_is_field_39_counted_after_the_command_name() -> None:
    fields = " ".join(str(n) for n in range(3, 53))  # field n holds n
    assert processor(f"77 (a) b) (c) {fields}\n".encode()) == 39
    with pytest.raises(IndexError):
        processor(b"77 (short) R 1 2 3")


def test_current_cpu_is_an_allowed_cpu_only_where_there_is_a_choice() -> None:
    cpu = current_cpu()
    if len(ALLOWED) > 1:
        assert cpu in ALLOWED
    else:
        assert cpu is None


def test_one_allowed_cpu_means_nothing_to_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})
    assert current_cpu() is None


def test_a_free_threaded_interpreter_is_not_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    # Python 3.13t: no GIL to take turns on, the workers run at once on as many CPUs as they get
    import sys

    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: False, raising=False)
    assert current_cpu() is None


def test_no_proc_file_system_means_nothing_to_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})

    def no_proc(*args: Any, **kwargs: Any) -> int:
        raise FileNotFoundError("/proc/thread-self/stat")

    monkeypatch.setattr(os, "open", no_proc)
    assert current_cpu() is None


def _in_thread(call: Any) -> Any:
    out: list[Any] = []
    t = threading.Thread(target=lambda: out.append(call()))
    t.start()
    t.join(WAIT)
    return out[0]


def test_pin_thread_keeps_only_the_calling_thread() -> None:
    cpu = max(ALLOWED)
    before = _affinity()

    def pinned() -> tuple[set[int], set[int]]:
        pin_thread(cpu)
        return _affinity(), _in_thread(_affinity)  # (and the threads it starts inherit it)

    mine, child = _in_thread(pinned)
    assert mine == child == {cpu}
    assert _affinity() == before  # the caller's thread is untouched


def test_a_cpu_refused_leaves_the_thread_free() -> None:
    def refused() -> set[int]:
        pin_thread(1 << 20)  # no such CPU: EINVAL, not an exception
        return _affinity()

    assert _in_thread(refused) == _affinity()


class Recorder:
    """An image source whose every image has no labels (opm refuses it) after recording the
    affinity of the thread that asked for it."""

    cache_root: Path | None = None

    def __init__(self, gate: int) -> None:
        self.seen: list[set[int]] = []
        self.lock = threading.Lock()
        self.together = threading.Barrier(gate)

    def locate(self, ref: str) -> tuple[str | None, Any]:
        with self.lock:
            self.seen.append(_affinity())
        self.together.wait(WAIT)  # every worker holds a reference at once
        return None, lambda: self

    manifest_digest = "sha256:" + "0" * 64

    class config:  # noqa: N801 - the resolved image's shape
        labels: dict[str, str] = {}

    def resolve(self, ref: str) -> Any:
        return self

    def read_tree(self, image: Any, paths: tuple[str, ...]) -> Any:
        return None

    def extract(self, image: Any, paths: tuple[str, ...], dest: Path) -> None:
        raise AssertionError("not called")


def _render(jobs: int, pin: bool) -> Recorder:
    source = Recorder(jobs)
    with pytest.raises(RenderError, match="image has no labels"):
        render_refs(
            [f"registry.test/r{i}:v1" for i in range(jobs)], source, RenderOptions(jobs=jobs, pin_cpu=pin)
        )
    return source


def test_the_workers_share_the_cpu_the_pool_started_on() -> None:
    before = _affinity()
    source = _render(4, True)
    assert len(source.seen) == 4
    if len(ALLOWED) > 1:
        assert all(len(s) == 1 for s in source.seen) and len({min(s) for s in source.seen}) == 1
        assert source.seen[0] <= ALLOWED
    else:
        assert all(s == ALLOWED for s in source.seen)
    assert _affinity() == before  # the caller's thread stays free


def test_no_pin_cpu_leaves_the_workers_free() -> None:
    source = _render(4, False)
    assert source.seen == [ALLOWED] * 4


def test_one_reference_renders_on_the_callers_thread_unpinned() -> None:
    source = _render(1, True)
    assert source.seen == [ALLOWED]


def _record_load_ahead(monkeypatch: pytest.MonkeyPatch) -> tuple[list[set[int]], threading.Event]:
    """The load-ahead thread's affinity when it loads (it loads nothing), and the event it sets."""
    seen: list[set[int]] = []
    loaded = threading.Event()

    def load(source: Any) -> None:
        seen.append(_affinity())
        loaded.set()

    monkeypatch.setattr(pipeline, "_load_ahead", load)
    return seen, loaded


def test_the_load_ahead_thread_joins_the_workers_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = max(ALLOWED)
    seen, loaded = _record_load_ahead(monkeypatch)
    ahead = _LoadAhead(Recorder(1), cpu)
    ahead.start()
    ahead.reading()
    assert loaded.wait(WAIT)
    ahead.finish()
    assert seen == [{cpu}]


def test_a_cpu_the_thread_may_not_use_is_not_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    # /proc says where the thread last ran; the process's CPUs changed meanwhile (a cpuset written)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {1000, 1001})
    assert current_cpu() is None


class Blocking(Recorder):
    """A Recorder whose images are resolved only once the load-ahead thread ran (else the render
    fails, and the thread finishes unused, before it is given its cue)."""

    def __init__(self, gate: int, loaded: threading.Event) -> None:
        super().__init__(gate)
        self.loaded = loaded

    def locate(self, ref: str) -> tuple[str | None, Any]:
        super().locate(ref)

        def resolve() -> Any:
            self.loaded.wait(WAIT)
            return self

        return None, resolve


@pytest.mark.parametrize("pin", [True, False])
def test_a_render_gives_its_load_ahead_thread_the_workers_cpu(
    monkeypatch: pytest.MonkeyPatch, pin: bool
) -> None:
    seen, loaded = _record_load_ahead(monkeypatch)
    source = Blocking(2, loaded)
    with pytest.raises(RenderError, match="image has no labels"):
        render_refs(
            ["registry.test/r0:v1", "registry.test/r1:v1"], source, RenderOptions(jobs=2, pin_cpu=pin)
        )
    assert loaded.is_set()
    if pin and len(ALLOWED) > 1:
        assert len(source.seen) == 2 and source.seen[0] == source.seen[1] == seen[0] and len(seen[0]) == 1
    else:
        assert seen == [ALLOWED]


WIDGET = Path(__file__).resolve().parents[2] / "data" / "render" / "widget-operator"  # a bundle directory


def _client_render(**kw: Any) -> Any:
    with imgextract.Client(use_cache=False) as client:
        return client.render([WIDGET, WIDGET], **kw)


@pytest.mark.parametrize(
    "call",
    [
        lambda **kw: _client_render(**kw),
        lambda **kw: _client_render(raw=True, **kw),
        lambda **kw: imgextract.render([WIDGET, WIDGET], use_cache=False, **kw),
        lambda **kw: rendering.render_output(None, [WIDGET, WIDGET], "json", **kw),
        lambda **kw: rendering.write_output(None, [WIDGET, WIDGET], io.BytesIO(), "yaml", **kw),
    ],
    ids=["Client.render", "Client.render-raw", "imgextract.render", "render_output", "write_output"],
)
@pytest.mark.parametrize("pin", [True, False])
def test_the_library_passes_pin_cpu_down(caplog: pytest.LogCaptureFixture, call: Any, pin: bool) -> None:
    with caplog.at_level(logging.DEBUG, logger=pipeline.__name__):
        call(jobs=2, pin_cpu=pin)
    kept = [r for r in caplog.records if r.getMessage().startswith("render workers kept on CPU")]
    assert len(kept) == (1 if pin and len(ALLOWED) > 1 else 0)


@pytest.mark.parametrize("kept", [False, True])
def test_call_free_calls_once_and_goes_back(kept: bool) -> None:
    # an OSError of the call's own (a helper that cannot be run) is not a refused affinity
    calls: list[set[int]] = []

    def fails() -> None:
        calls.append(_affinity())
        raise PermissionError("not executable")

    def run() -> set[int]:
        if kept:
            pin_thread(max(ALLOWED))
        mine = _affinity()
        with pytest.raises(PermissionError):
            call_free(ALLOWED, fails)
        assert _affinity() == mine
        return mine

    _in_thread(run)
    assert calls == [ALLOWED]


class CatalogRecorder(Recorder):
    """Every image is a catalog image (the configs label) or a bundle image too large to read in
    memory: its layers are applied to disk by ``extract``, which records the affinity of its own
    thread and of a thread it starts (the pull machinery's inflate and download threads)."""

    def __init__(self, gate: int, label: str) -> None:
        super().__init__(gate)
        self.labels = {label: "/configs" if "configs" in label else "p"}
        self.extracting: list[tuple[set[int], set[int]]] = []

    @property
    def config(self) -> Any:  # the resolved image's config: these labels
        return self

    def extract(self, image: Any, paths: tuple[str, ...], dest: Path) -> None:
        child: list[set[int]] = []
        t = threading.Thread(target=lambda: child.append(_affinity()))
        t.start()
        t.join(WAIT)
        with self.lock:
            self.extracting.append((_affinity(), child[0]))
        for p in paths:  # what the worker reads next (an FBC root, or a bundle's directories)
            (dest / p).mkdir(parents=True, exist_ok=True)


@pytest.mark.parametrize(
    "label", [pipeline.CONFIGS_LABEL, pipeline.PACKAGE_LABEL], ids=["catalog image", "large bundle image"]
)
def test_layers_applied_to_disk_use_every_cpu_then_the_worker_is_kept_again(
    label: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a catalog's layers inflate on threads of their own: kept on the workers' CPU they took
    # ~20 % longer (a catalog image and a bundle image rendered together: 0.56-0.61 s against
    # 0.43-0.49 s with --no-pin-cpu)
    after: list[set[int]] = []

    def reader(root: Path) -> list[tuple[str, int, dict[str, Any]]]:
        after.append(_affinity())
        return []

    def render_bundle(path: Path, image: str) -> Any:
        after.append(_affinity())
        raise ValueError("not a bundle")

    from imgextract.catalog.render import bundle

    monkeypatch.setattr(bundle, "render_bundle", render_bundle)
    source = CatalogRecorder(2, label)
    refs = ["registry.test/c0:v1", "registry.test/c1:v1"]
    try:
        render_refs(refs, source, RenderOptions(jobs=2), fbc_reader=reader)
    except RenderError as exc:
        assert label == pipeline.PACKAGE_LABEL and "not a bundle" in str(exc)
    kept = source.seen[0]
    assert source.extracting and all(pair == (ALLOWED, ALLOWED) for pair in source.extracting)
    assert after and all(a == kept for a in after)
    if len(ALLOWED) > 1:
        assert len(kept) == 1
