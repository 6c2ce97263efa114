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
