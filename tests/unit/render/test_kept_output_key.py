"""The key a bundle image's kept output text is stored under: every input that shapes the text."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.catalog.render import pipeline

DIGEST = "sha256:" + "ab" * 32
REF = "registry.example/team/bundle:v1"


def test_the_key_changes_with_everything_that_shapes_the_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = pipeline._output_path(tmp_path, DIGEST, REF, "none", "json")
    others = {
        pipeline._output_path(tmp_path, "sha256:" + "cd" * 32, REF, "none", "json"),
        pipeline._output_path(tmp_path, DIGEST, REF + "x", "none", "json"),
        pipeline._output_path(tmp_path, DIGEST, REF, "bundle-object-to-csv-metadata", "json"),
        pipeline._output_path(tmp_path, DIGEST, REF, "none", "yaml"),
    }
    # the rendering the text is made from: a new rendering format (rules fixed) means new texts
    monkeypatch.setattr(pipeline, "CACHE_FORMAT", pipeline.CACHE_FORMAT + "-next")
    others.add(pipeline._output_path(tmp_path, DIGEST, REF, "none", "json"))
    monkeypatch.undo()
    monkeypatch.setattr(pipeline, "OUTPUT_FORMAT", pipeline.OUTPUT_FORMAT + "-next")
    others.add(pipeline._output_path(tmp_path, DIGEST, REF, "none", "json"))
    assert len(others) == 6 and base not in others
    assert Path(base).parent == tmp_path / "render" and base.endswith(".out.json")


def test_a_fifo_at_a_kept_output_or_rendering_is_a_miss_not_a_hang(tmp_path: Path) -> None:
    """The render cache takes regular files only: a FIFO where a kept output (or a kept bundle
    rendering) would be blocks no warm render, it is a miss."""
    import os
    import threading

    paths = [
        Path(pipeline._output_path(tmp_path, DIGEST, REF, "none", "json")),
        Path(pipeline._cache_path(tmp_path, DIGEST, REF)),
    ]
    paths[0].parent.mkdir(parents=True)
    for path in paths:
        os.mkfifo(path)
    got: list[object] = []
    thread = threading.Thread(
        target=lambda: got.extend(
            [pipeline._output_get(str(paths[0])), pipeline._cache_get(tmp_path, DIGEST, REF)]
        ),
        daemon=True,
    )
    thread.start()
    thread.join(5)
    hung = thread.is_alive()
    for path in paths:  # let a blocked reader go (a writer opens the FIFO), then judge
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
    thread.join(5)
    assert not hung, "a FIFO in the render cache blocked the reader"
    assert got == [None, None]


def test_kept_files_nested_past_the_json_parser_limit_are_a_miss(tmp_path: Path) -> None:
    nested = b"[" * 200_000 + b"]" * 200_000
    kept = Path(pipeline._output_path(tmp_path, DIGEST, REF, "none", "json"))
    kept.parent.mkdir(parents=True)
    kept.write_bytes(nested + b"\n{}")
    Path(pipeline._cache_path(tmp_path, DIGEST, REF)).write_bytes(nested)
    assert pipeline._output_get(str(kept)) is None
    assert pipeline._cache_get(tmp_path, DIGEST, REF) is None


def test_a_kept_rendering_reads_back_as_it_was_written(tmp_path: Path) -> None:
    from imgextract.catalog.render.rendered import Property, RenderedBundle

    b = RenderedBundle(
        "widget.v1",
        "widget",
        REF,
        [
            Property("olm.package", '{"packageName":"widget","version":"1.0.0"}'),
            Property("olm.label", '{"label":"é \\u0026 😀"}'),
            Property("olm.odd", '\ud800 lone surrogate, \n and a quote " kept'),
            Property("olm.empty", ""),
            Property("olm.bundle.object", '{"data":"' + "QUJD" * 30_000 + '"}'),
        ],
        [("", "quay.io/acme/widget@sha256:" + "0" * 64), ("op", "quay.io/acme/op:v1")],
        '{"kind":"ClusterServiceVersion","spec":{"description":"ü"}}',
    )
    pipeline._cache_put(tmp_path, DIGEST, REF, b)
    assert pipeline._cache_get(tmp_path, DIGEST, REF) == b
    # anything that does not read back whole is a miss (rendered again), never a wrong rendering
    path = Path(pipeline._cache_path(tmp_path, DIGEST, REF))
    data = path.read_bytes()
    for broken in (data[:-1], data + b"x", data.replace(b"\n", b" ", 1), b"", data[: data.index(b"\n") + 1]):
        path.write_bytes(broken)
        assert pipeline._cache_get(tmp_path, DIGEST, REF) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("relatedImages", {"ab": 1}),  # a mapping's keys would unpack, two characters each
        ("relatedImages", [[1, 2]]),
        ("relatedImages", [["a", "b", "c"]]),
        ("relatedImages", [["a", None]]),
        ("relatedImages", "ab"),
        ("types", "ab"),  # a string's characters would be the types
        ("sizes", {"3": 0}),
    ],
)
def test_a_kept_rendering_whose_head_our_writer_cannot_have_made_is_a_miss(
    tmp_path: Path, field: str, value: object
) -> None:
    """The head line of a kept rendering is checked shape by shape: a field of another shape (a
    file crafted, or written by some other program) is a miss, never read as a rendering with
    what its characters or keys happen to spell."""
    import json

    from imgextract.catalog.render.rendered import Property, RenderedBundle

    b = RenderedBundle("w.v1", "w", REF, [Property("a", "1"), Property("b", "2")], [("x", "y")], "{}")
    pipeline._cache_put(tmp_path, DIGEST, REF, b)
    path = Path(pipeline._cache_path(tmp_path, DIGEST, REF))
    data = path.read_bytes()
    end = data.index(b"\n")
    head = json.loads(data[:end])
    assert pipeline._cache_get(tmp_path, DIGEST, REF) == b
    head[field] = value
    path.write_bytes(json.dumps(head).encode() + data[end:])
    assert pipeline._cache_get(tmp_path, DIGEST, REF) is None


def test_a_kept_file_of_an_impossible_size_is_a_miss_not_a_memory_error(tmp_path: Path) -> None:
    """A kept rendering or output whose size no rendering has (a sparse file of a terabyte, as a
    damaged filesystem may show one) is a miss: it is not read, so no read of its whole size is
    attempted (a MemoryError, an internal error of the warm render)."""
    paths = [
        Path(pipeline._output_path(tmp_path, DIGEST, REF, "none", "json")),
        Path(pipeline._cache_path(tmp_path, DIGEST, REF)),
    ]
    paths[0].parent.mkdir(parents=True)
    for path in paths:
        with path.open("wb") as fh:
            fh.truncate(1 << 40)
    assert pipeline._output_get(str(paths[0])) is None
    assert pipeline._cache_get(tmp_path, DIGEST, REF) is None
