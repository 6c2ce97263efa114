"""``render DIR`` of a big catalog holds the place of each object, not its text: the encoded objects
wait on disk for opm's order, so memory does not grow with the size of the catalog."""

from __future__ import annotations

import hashlib
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
        write_output(None, [str(root)], sink, fmt)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.size == len(expected)
    assert sink.digest.hexdigest() == hashlib.sha256(expected).hexdigest()
    assert peak < len(expected) / 4, (peak, len(expected))
