"""Go's regexp ``$`` (without the multi-line flag) matches only at the end of the text; Python's
``$`` also matches just before a final newline.  A value that ends with ``\\n`` must therefore be
refused (or read as text) wherever the Go reference refuses it: one test per validator."""

from __future__ import annotations

import hashlib
import json

import pytest
import zstandard

from imgextract.bundles.annotations import go_number
from imgextract.catalog.render.goyamlout import is_go_timestamp
from imgextract.errors import IntegrityError
from imgextract.imgpkg.yamlio import load
from imgextract.layers.chunked import parse_toc
from imgextract.layers.chunked.toc import TocLocation


@pytest.mark.parametrize("text", ["12\n", "1.5\n", ".5\n", "-1e3\n", "+.5\n"])
def test_number_with_final_newline_is_no_number(text: str) -> None:
    """go-yaml v2 ``resolve``: ``strconv.ParseInt`` refuses the newline and ``yamlStyleFloat``
    (``^...$`` in Go) does not match it, so the scalar stays a string."""
    assert go_number(text) is None
    assert go_number(text.rstrip("\n")) is not None
    # reachable in imgpkg's YAML: an explicit !!int tag on a quoted scalar with an escaped newline
    value = load(f"a: !!int {json.dumps(text)}\n", what="test")["a"]
    assert not isinstance(value, (int, float))


def _toc(entries: list[dict[str, object]]) -> tuple[bytes, TocLocation]:
    raw = json.dumps({"version": 1, "entries": entries}).encode()
    comp = zstandard.ZstdCompressor().compress(raw)
    return comp, TocLocation(10_000, len(comp), len(raw), "sha256:" + hashlib.sha256(comp).hexdigest())


@pytest.mark.parametrize("modtime", ["2023-01-02T03:04:05Z\n", "yesterday"])
def test_toc_modtime_with_final_newline_is_not_a_time(modtime: str) -> None:
    """containers/storage reads ``modtime`` into a ``time.Time`` (``time.Parse`` with RFC 3339),
    which refuses trailing text: its TOC decoding fails, and so does ours (an integrity error)."""
    ok = {
        e.name: e.mtime
        for e in parse_toc(*_toc([{"type": "dir", "name": "ok", "modtime": "2023-01-02T03:04:05Z"}])).entries
    }
    assert ok == {"ok": 1672628645.0}
    with pytest.raises(IntegrityError):
        parse_toc(*_toc([{"type": "dir", "name": "nl", "modtime": modtime}]))


@pytest.mark.parametrize("text", ["2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10"])
def test_timestamp_with_final_newline_is_no_timestamp(text: str) -> None:
    """go-yaml v2 ``parseTimestamp``: ``time.Parse`` refuses any text after the layout."""
    assert is_go_timestamp(text)
    assert not is_go_timestamp(text + "\n")
