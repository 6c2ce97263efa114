"""``render DIR`` of a big catalog holds the place of each object, not its text: the encoded objects
wait on disk for opm's order, so memory does not grow with the size of the catalog."""

from __future__ import annotations

import hashlib
import io
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from imgextract.rendering import render_output, write_output

_BUNDLES = 64
_NOTE = 120_000  # characters of one bundle's note: the catalog holds about 8 MB of text


def _catalog(root: Path) -> Path:
    root.mkdir()
    objs: list[dict[str, Any]] = [{"schema": "olm.package", "name": "bulky", "defaultChannel": "stable"}]
    names = [f"bulky.v1.{i}.0" for i in range(_BUNDLES)]
    entries = [{"name": n, **({"replaces": names[i - 1]} if i else {})} for i, n in enumerate(names)]
    objs.append({"schema": "olm.channel", "package": "bulky", "name": "stable", "entries": entries})
    for i, n in enumerate(reversed(names)):  # written out of opm's order: the output must sort them
        note = hashlib.sha256(n.encode()).hexdigest() * (_NOTE // 64)
        objs.append(
            {
                "schema": "olm.bundle",
                "package": "bulky",
                "name": n,
                "image": f"reg.test/bulky-bundle:{_BUNDLES - 1 - i}",
                "properties": [
                    {
                        "type": "olm.package",
                        "value": {"packageName": "bulky", "version": n[len("bulky.v") :]},
                    },
                    {"type": "acme.note", "value": {"text": note}},
                ],
            }
        )
    (root / "catalog.json").write_text("\n".join(json.dumps(o) for o in objs))
    return root


class _Sink:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)

    def writelines(self, chunks: Any) -> None:
        for c in chunks:
            self.write(c)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_render_of_a_big_catalog_keeps_memory_below_its_size(tmp_path: Path, fmt: str) -> None:
    """``action.Render`` + ``declcfg.WriteJSON``/``WriteYAML`` order: the same bytes as the whole
    output built in memory, while the peak of Python allocations stays well under the output's size."""
    root = _catalog(tmp_path / "catalog")
    expected = render_output(None, [str(root)], fmt)
    sink = _Sink()
    tracemalloc.start()
    try:
        write_output(None, [str(root)], sink, fmt)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.size == len(expected)
    assert sink.digest.hexdigest() == hashlib.sha256(expected).hexdigest()
    assert peak < len(expected) / 4, (peak, len(expected))


class _TextSink:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, text: str) -> int:
        data = text.encode("utf-8", "surrogatepass")
        self.digest.update(data)
        self.size += len(data)
        return len(text)


def _objects(root: Path) -> Any:
    """Each object decoded afresh from the file, as a streamed selection yields them."""
    with (root / "catalog.json").open(encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_ordered_writer_keeps_memory_below_the_output_size(tmp_path: Path, fmt: str) -> None:
    """``declcfg.WriteJSON``/``WriteYAML`` (what ``catalog render`` writes): opm's order over a stream
    of objects, with the encoded objects waiting on disk rather than in memory."""
    from imgextract.catalog.render import write_json, write_yaml

    root = _catalog(tmp_path / "catalog")
    writer = write_json if fmt == "json" else write_yaml
    collected = io.StringIO()  # the whole text, built in memory (and the imports warmed)
    writer(list(_objects(root)), collected)
    whole = _TextSink()
    whole.write(collected.getvalue())
    del collected
    sink = _TextSink()
    tracemalloc.start()
    try:
        writer(_objects(root), sink)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (sink.size, sink.digest.hexdigest()) == (whole.size, whole.digest.hexdigest())
    assert peak < whole.size / 4, (peak, whole.size)
