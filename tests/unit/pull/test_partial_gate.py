"""The TOC parse gate of partial pulls: one parse at a time, the highest layer first."""

from __future__ import annotations

import threading
import time
import types
from typing import Any

import pytest

from imgextract.pull.partial import ParseGate

ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"


def test_waiting_parses_run_one_at_a_time_highest_layer_first() -> None:
    gate = ParseGate()
    release = threading.Event()
    order: list[int] = []
    running: list[int] = []

    def work(position: int) -> int:
        running.append(position)
        assert len(running) == 1  # never two at once
        if position == 9:
            release.wait()
        order.append(position)
        running.remove(position)
        return position

    first = threading.Thread(target=gate.run, args=(9, lambda: work(9)))
    first.start()
    while not running:  # the gate is busy with layer 9
        time.sleep(0.001)
    others = [threading.Thread(target=gate.run, args=(p, lambda p=p: work(p))) for p in (0, 2, 1)]
    for t in others:
        t.start()
    while len(gate._waiting) < 3:  # all three queued behind it
        time.sleep(0.001)
    release.set()
    for t in [first, *others]:
        t.join()
    assert order == [9, 2, 1, 0]
    assert gate.run(5, lambda: "done") == "done"


def test_an_expected_higher_layer_parses_first_and_leaving_releases_the_lower_ones() -> None:
    """A lower layer whose TOC arrived first waits for a higher one still being read (here: for
    as long as it takes); a higher layer that will not parse (cached TOC, whole-layer fallback,
    failure) lets it go by leaving."""
    gate = ParseGate(grace=60)
    order: list[int] = []
    gate.expect(2)
    gate.expect(1)
    low = threading.Thread(target=gate.run, args=(0, lambda: order.append(0)))
    low.start()
    while not gate._waiting:
        time.sleep(0.001)
    time.sleep(0.02)
    assert order == []  # layers 2 and 1 are still expected
    gate.run(2, lambda: order.append(2))
    assert order == [2]
    gate.leave(1)  # layer 1 needs no parse
    low.join(timeout=5)
    assert not low.is_alive() and order == [2, 0]
    gate.leave(7)  # never expected: nothing happens
    assert gate.run(3, lambda: "done") == "done"


def test_a_higher_layer_whose_toc_is_late_does_not_hold_the_lower_ones() -> None:
    """Past the grace, a lower layer parses while the higher layer's TOC is still on its way (the
    time would otherwise be idle)."""
    gate = ParseGate(grace=0.01)
    gate.expect(5)
    order: list[int] = []
    low = threading.Thread(target=gate.run, args=(0, lambda: order.append(0)))
    low.start()
    low.join(timeout=5)
    assert not low.is_alive() and order == [0]  # layer 5 never came, nor left
    assert gate.run(5, lambda: "parsed") == "parsed"


def test_layers_started_together_start_highest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """``PartialLayers.advance`` starts a window's layers from the top down: the highest layer's
    TOC request goes out first, as the parse gate will want its TOC first."""
    from imgextract import oci
    from imgextract.pull import partial

    started: list[int] = []
    monkeypatch.setattr(partial.PartialLayer, "start", lambda self: started.append(self.position))
    annotations = {
        "io.github.containers.zstd-chunked.manifest-checksum": "sha256:" + "a" * 64,
        "io.github.containers.zstd-chunked.manifest-position": "100:10:20:1",
    }
    layers = [
        (i, oci.Descriptor(media_type=ZSTD, digest=f"sha256:{i:064x}", size=1000, annotations=annotations))
        for i in range(6)
    ]
    nowhere = types.SimpleNamespace(registry="127.0.0.1:9")  # never contacted: no worker starts
    group = partial.PartialLayers(nowhere, "repo", layers, ["configs"], window=4)  # type: ignore[arg-type]
    group.advance(0)
    assert started == [3, 2, 1, 0]
    group.started.pop(0)
    group.advance(1)
    assert started == [3, 2, 1, 0, 4]


def _chunked_layers(count: int) -> list[tuple[int, Any]]:
    from imgextract import oci

    annotations = {
        "io.github.containers.zstd-chunked.manifest-checksum": "sha256:" + "a" * 64,
        "io.github.containers.zstd-chunked.manifest-position": "100:10:20:1",
    }
    return [
        (i, oci.Descriptor(media_type=ZSTD, digest=f"sha256:{i:064x}", size=1000, annotations=annotations))
        for i in range(count)
    ]


def _waiting_layer(desc: Any = None, **options: Any) -> Any:
    """A chunked layer on a registry nobody answers at, not started, its selection not yet known."""
    from imgextract.pull import partial

    return partial.PartialLayer(
        types.SimpleNamespace(registry="127.0.0.1:9"),  # type: ignore[arg-type]
        "repo",
        _chunked_layers(1)[0][1] if desc is None else desc,
        None,
        start=False,
        paths_known=False,
        **options,
    )


def test_settle_keeps_the_planned_layers_and_stops_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    """Layers started before the selection was known: ``settle`` gives the kept ones the selection
    and stops the ones the plan does not fetch partially (skipped, or whole after all)."""
    from imgextract.pull import partial

    closed: list[int] = []
    monkeypatch.setattr(partial.PartialLayer, "start", lambda self: None)
    monkeypatch.setattr(partial.PartialLayer, "close", lambda self, **kw: closed.append(self.position))
    layers = _chunked_layers(6)
    nowhere = types.SimpleNamespace(registry="127.0.0.1:9")  # never contacted: no worker starts
    group = partial.PartialLayers(nowhere, "repo", layers, None, window=4, paths_known=False)  # type: ignore[arg-type]
    group.advance(0)
    assert sorted(group.started) == [0, 1, 2, 3]
    assert not any(layer._settled.is_set() for layer in group.started.values())
    group.settle([layers[1], layers[3], layers[5]], ["configs"])
    assert sorted(closed) == [0, 2]
    assert sorted(group.started) == [1, 3]
    assert [i for i, _ in group.pending] == [5]
    for layer in group.started.values():
        assert layer._settled.is_set() and layer.paths == ["configs"]
    group.advance(2)  # a layer started after the selection is known starts settled
    assert group.started[5]._settled.is_set() and group.started[5].paths == ["configs"]


def test_a_layer_closed_before_the_selection_is_known_plans_nothing() -> None:
    """A worker waiting for the selection (its TOC parsed) returns at once when the pull fails
    before the selection is known."""
    layer = _waiting_layer()
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(layer._plan_settled(types.SimpleNamespace())))
    waiter.start()
    waiter.join(0.05)
    assert waiter.is_alive() and not got  # waiting for the selection
    layer.close()
    waiter.join(10)
    assert got == [None]


def test_a_selection_that_arrives_during_the_parse_is_planned_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The selection usually arrives while the first TOC is parsed: the plan follows inside the
    same turn of the gate (a lower layer's parse, holding the GIL, would otherwise slow the
    plan's cache lookups); before the selection, the parse alone is done."""
    from imgextract.layers.chunked.fetcher import Fetcher
    from imgextract.pull import partial

    layer = _waiting_layer()
    fetcher = Fetcher([], None)  # type: ignore[arg-type]
    toc = types.SimpleNamespace()
    planned: list[object] = []

    def plan(t: object) -> Fetcher:
        planned.append(t)
        return fetcher

    monkeypatch.setattr(layer, "_plan", plan)
    monkeypatch.setattr(partial, "parse_toc", lambda raw, location: toc)
    assert layer._parse(b"", layer.location) is toc and planned == []  # not settled yet

    def parse_while_settling(raw: bytes, location: object) -> object:
        layer.settle(["configs"])
        return toc

    monkeypatch.setattr(partial, "parse_toc", parse_while_settling)
    assert layer._parse(b"", layer.location) is fetcher and planned == [toc]


def test_a_plan_after_the_parse_goes_ahead_of_lower_layers_waiting_to_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A layer whose selection comes after its parse plans through the gate, before the lower
    layers' parses still waiting there."""

    gate = ParseGate(grace=0)
    layers = [_waiting_layer(desc, gate=gate, position=i) for i, desc in _chunked_layers(3)]
    order: list[str] = []
    monkeypatch.setattr(layers[2], "_plan", lambda toc: order.append("plan 2"))
    release = threading.Event()

    def parse(position: int) -> None:
        if position == 0:
            release.wait()
        order.append(f"parse {position}")

    def until(condition: Any) -> None:
        deadline = time.monotonic() + 10
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.001)

    low = threading.Thread(target=gate.run, args=(0, lambda: parse(0)), daemon=True)
    low.start()
    until(lambda: gate._busy)  # layer 0 is parsing
    middle = threading.Thread(target=gate.run, args=(1, lambda: parse(1)), daemon=True)
    middle.start()
    until(lambda: 1 in gate._waiting)
    top = threading.Thread(target=layers[2]._plan_settled, args=(types.SimpleNamespace(),), daemon=True)
    top.start()
    layers[2].settle(["configs"])
    until(lambda: len(gate._waiting) == 2 or order)  # layers 1 and 2 wait for layer 0's parse
    release.set()
    for t in (low, middle, top):
        t.join(timeout=10)
    assert order == ["parse 0", "plan 2", "parse 1"]


def test_select_gives_started_layers_the_selection_before_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pull knows its selection (``select``) before its plan (``settle``): the layers started
    early plan for it as soon as their TOCs are parsed.  A selection of everything plans nothing:
    no layer stays partial then."""
    from imgextract.pull import partial

    monkeypatch.setattr(partial.PartialLayer, "start", lambda self: None)
    nowhere = types.SimpleNamespace(registry="127.0.0.1:9")  # never contacted: no worker starts
    group = partial.PartialLayers(nowhere, "repo", _chunked_layers(3), None, paths_known=False)  # type: ignore[arg-type]
    group.advance(0)
    group.select(None)
    group.select(["/"])
    assert not any(layer._settled.is_set() for layer in group.started.values())
    group.select(["configs"])
    for layer in group.started.values():
        assert layer._settled.is_set() and layer.paths == ["configs"]
    assert group.paths == ["configs"] and group.paths_known


def test_a_parsed_layer_waiting_for_the_selection_plans_before_lower_layers_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A TOC parsed before the selection is known stays expected at the gate: a lower layer's
    parse waits for its plan (within the grace) instead of delaying it by a whole parse."""
    from imgextract.layers.chunked.fetcher import Fetcher
    from imgextract.pull import partial

    gate = ParseGate(grace=60)
    top = _waiting_layer(gate=gate, position=2)
    order: list[str] = []
    fetcher = Fetcher([], None)  # type: ignore[arg-type]
    monkeypatch.setattr(top.ranges, "read_head", lambda start, end: b"\0" * (end - start))

    def parse(raw: bytes, location: object) -> object:
        order.append("parse 2")
        return object()

    def plan(toc: object) -> Fetcher:
        order.append("plan 2")
        return fetcher

    monkeypatch.setattr(partial, "parse_toc", parse)
    monkeypatch.setattr(top, "_plan", plan)
    got: list[object] = []
    gate.expect(2)
    worker = threading.Thread(target=lambda: got.append(top._read_toc()), daemon=True)
    worker.start()
    deadline = time.monotonic() + 10
    while order != ["parse 2"] and time.monotonic() < deadline:
        time.sleep(0.001)
    assert order == ["parse 2"] and 2 in gate._expected  # parsed, waiting for the selection
    low = threading.Thread(target=gate.run, args=(0, lambda: order.append("parse 0")), daemon=True)
    low.start()
    time.sleep(0.05)
    assert order == ["parse 2"]  # the lower parse waits for the plan
    top.settle(["configs"])
    for t in (worker, low):
        t.join(timeout=10)
    assert order == ["parse 2", "plan 2", "parse 0"]
    assert got == [fetcher]
