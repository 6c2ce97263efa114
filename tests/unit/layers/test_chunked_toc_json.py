"""The zstd:chunked TOC is JSON from the image: an unpaired surrogate escape in a name is U+FFFD, as
containers/storage's decoder reads it (a lone surrogate kept in a Python string can name no file:
every later encode to bytes fails), and NaN is not JSON."""

from __future__ import annotations

import hashlib
import json

import pytest
import zstandard

from imgextract.errors import IntegrityError
from imgextract.layers.chunked import parse_toc
from imgextract.layers.chunked import toc as toc_module
from imgextract.layers.chunked.toc import TocLocation


def _toc(raw: bytes) -> tuple[bytes, TocLocation]:
    comp = zstandard.ZstdCompressor().compress(raw)
    return comp, TocLocation(10_000, len(comp), len(raw), "sha256:" + hashlib.sha256(comp).hexdigest())


def test_lone_surrogates_in_names_are_replacement_characters() -> None:
    entries = [{"type": "dir", "name": "a\ud800"}, {"type": "symlink", "name": "l\udfff", "linkName": "x"}]
    toc = parse_toc(*_toc(json.dumps({"version": 1, "entries": entries}).encode()))
    names = [e.name for e in toc.entries]
    assert names == ["a\ufffd", "l\ufffd"]
    for name in names:
        name.encode("utf-8")


def test_nan_is_not_json() -> None:
    with pytest.raises(IntegrityError, match="not JSON"):
        parse_toc(*_toc(b'{"version": 1, "entries": [], "x": NaN}'))


def test_invalid_utf8_in_a_name_is_a_replacement_character() -> None:
    raw = b'{"version": 1, "entries": [{"type": "dir", "name": "a\xff"}]}'
    assert [e.name for e in parse_toc(*_toc(raw)).entries] == ["a\ufffd"]


def test_integers_past_64_bits_are_read_as_go_reads_them() -> None:
    """The fast reader (orjson) makes such a number a float, which no TOC field accepts: the TOC
    is read again by Go's rules, and a mode of 2**70 + 0o644 is masked as before, not refused."""
    entries = [{"type": "dir", "name": "d", "mode": 2**70 + 0o644}]
    toc = parse_toc(*_toc(json.dumps({"version": 1, "entries": entries}).encode()))
    assert [(e.name, e.mode) for e in toc.entries] == [("d", 0o644)]
    too_big = [{"type": "reg", "name": "f", "size": 2**64, "digest": "sha256:" + "0" * 64}]
    with pytest.raises(IntegrityError, match="range outside the data area|invalid offset"):
        parse_toc(*_toc(json.dumps({"version": 1, "entries": too_big}).encode()))


def test_both_readers_give_the_same_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the fast reader accepts is what Go's rules give (every field, every chunk)."""
    entries: list[dict[str, object]] = [
        {"type": "dir", "name": "./d/", "mode": 0o755, "modtime": "2023-11-14T22:13:20.5Z"},
        {"type": "symlink", "name": "d/l", "linkName": "../x", "mode": 0o777},
        {
            "type": "reg",
            "name": "d/f",
            "mode": 0o644,
            "size": 30,
            "offset": 100,
            "endOffset": 160,
            "digest": "sha256:" + "a" * 64,
            "chunkSize": 10,
            "chunkDigest": "sha256:" + "b" * 64,
        },
        {"type": "chunk", "name": "d/f", "offset": 120, "chunkOffset": 10, "chunkSize": 20},
        {"type": "hardlink", "name": "d/h\u00e9", "linkName": "d/f"},
    ]
    raw = json.dumps({"version": 1, "entries": entries}).encode()
    fast = parse_toc(*_toc(raw))
    monkeypatch.setattr(toc_module, "_fast_json", lambda data: None)  # Go's rules only
    slow = parse_toc(*_toc(raw))
    rows = [
        [(e.type, e.name, e.mode, e.size, e.mtime, e.link_name, e.digest, e.chunks) for e in t.entries]
        for t in (fast, slow)
    ]
    assert rows[0] == rows[1]
    assert rows[0][2][-1] == [(100, 120, 10, "sha256:" + "b" * 64), (120, 160, 20, None)]
