"""The zstd:chunked TOC read as containers/storage reads it (pkg/chunked ``unmarshalToc`` in
cache_linux.go, ``setFileAttrs`` in storage_linux.go): its test TOC, trailing data, the times it
parses with ``time.Parse(time.RFC3339, s)`` and the ``xattrs`` it decodes.  The TOCs are hand-made
(the Go test's, and hostile ones no producer writes)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import zstandard

from imgextract.errors import IntegrityError
from imgextract.layers.applier import Applier
from imgextract.layers.chunked import apply_chunked, parse_toc
from imgextract.layers.chunked.toc import TocLocation
from imgextract.layers.selection import PathSelection

# containers/storage pkg/chunked/cache_linux_test.go ``jsonTOC``
JSON_TOC = """
{
  "version": 1,
  "entries": [
    {
      "type": "symlink",
      "name": "bin",
      "linkName": "usr/bin",
      "mode": 511,
      "modtime": "1970-01-01T01:00:00+01:00",
      "accesstime": "0001-01-01T00:00:00Z",
      "changetime": "0001-01-01T00:00:00Z"
    },
    {
      "type": "dir",
      "name": "usr/bin",
      "mode": 511,
      "modtime": "2022-01-07T12:36:43+01:00",
      "accesstime": "0001-01-01T00:00:00Z",
      "changetime": "0001-01-01T00:00:00Z"
    },
    {
      "type": "reg",
      "name": "usr/bin/foo",
      "mode": 511,
      "size": 103867,
      "modtime": "1970-01-01T01:00:00+01:00",
      "accesstime": "0001-01-01T00:00:00Z",
      "changetime": "0001-01-01T00:00:00Z",
      "digest": "sha256:99fe908c699dc068438b23e28319cadff1f2153c3043bafb8e83a430bba0a2c6",
      "offset": 94149,
      "endOffset": 120135,
      "chunkSize": 17615,
      "chunkDigest": "sha256:2ce0d0f8eb2aa93d13007097763e4459c814c8d0e859e5a57465af924169b544"
    },
    {
      "type": "chunk",
      "name": "usr/bin/foo",
      "offset": 99939,
      "chunkSize": 86252,
      "chunkOffset": 17615,
      "chunkDigest": "sha256:2a9d3f1b6b37abc8bb35eb8fa98b893a2a2447bcb01184c3bafc8c6b40da099d"
    }
  ]
}
"""


def _toc(raw: bytes) -> tuple[bytes, TocLocation]:
    comp = zstandard.ZstdCompressor().compress(raw)
    return comp, TocLocation(200_000, len(comp), len(raw), "sha256:" + hashlib.sha256(comp).hexdigest())


def _one(entry: dict[str, Any]) -> tuple[bytes, TocLocation]:
    return _toc(json.dumps({"version": 1, "entries": [{"type": "dir", "name": "d", **entry}]}).encode())


def test_the_go_test_toc() -> None:
    """``TestUnmarshalToc``: four entries (here three: the chunk entry is folded into its file,
    whose two chunks are [94149, 99939) and [99939, 120135), 17615 + 86252 bytes)."""
    toc = parse_toc(*_toc(JSON_TOC.encode()))
    assert [(e.type, e.name) for e in toc.entries] == [
        ("symlink", "bin"),
        ("dir", "usr/bin"),
        ("reg", "usr/bin/foo"),
    ]
    foo = toc.entries[2]
    assert [(c.start, c.end, c.size) for c in foo.chunks] == [(94149, 99939, 17615), (99939, 120135, 86252)]


@pytest.mark.parametrize("tail", ["aaaa", ",", "{}", "[]", '"aaaa"', "123"])
def test_data_after_the_toc_is_refused(tail: str) -> None:
    """``TestUnmarshalToc``: trailing whitespace is fine, any other trailing data an error (the
    checksum must cover the whole document)."""
    parse_toc(*_toc((JSON_TOC + "        \n\n\n\n    ").encode()))
    with pytest.raises(IntegrityError):
        parse_toc(*_toc((JSON_TOC + tail).encode()))


def test_a_comma_before_the_fraction_is_read_as_time_parse_reads_it(tmp_path: Path) -> None:
    """``unmarshalToc`` reads ``modtime`` with ``time.Parse(time.RFC3339, s)``: when the RFC 3339
    fast path refuses, Go's general layout parser takes ``,`` as well as ``.`` before a fraction."""
    comp, loc = _toc(
        json.dumps(
            {"version": 1, "entries": [{"type": "reg", "name": "e", "modtime": "2023-11-14T22:13:20,25Z"}]}
        ).encode()
    )
    applier = Applier(tmp_path, PathSelection(None))
    apply_chunked(parse_toc(comp, loc), _NoReads(), applier, None)
    applier.finalize()
    assert (tmp_path / "e").lstat().st_mtime_ns == 1_700_000_000_250_000_000


class _NoReads:
    """A RangeSource for a TOC whose files are all empty: nothing may be read."""

    def prepare(self, ranges: Sequence[tuple[int, int]]) -> None:
        assert not ranges

    def open_range(self, start: int, end: int) -> io.BytesIO:
        raise AssertionError("an empty file needs no range")


@pytest.mark.parametrize("key", ["modtime", "accesstime", "changetime"])
@pytest.mark.parametrize("value", [None, "", "yesterday", "2023-11-14T24:00:00Z", 1700000000, ["x"]])
def test_a_time_time_parse_refuses_fails_the_toc(key: str, value: object) -> None:
    """Each of the three times goes through ``time.Parse`` when the key is present (``null``
    decodes to the empty string, which it refuses): containers/storage's TOC decoding fails, so
    the layer fails here too (it was read as no time, or not read at all)."""
    with pytest.raises(IntegrityError, match=f"invalid {key}"):
        parse_toc(*_one({key: value}))


def test_absent_times_are_no_times() -> None:
    (entry,) = parse_toc(*_one({})).entries
    assert entry.mtime == 0


@pytest.mark.parametrize(
    "xattrs",
    [
        {"user.a": "YQ=="},
        {"user.a": "", "security.capability": "AQAAAgAgAAAAAAAAAAAAAAAAAAA="},
        {"user.a": "YWJj\nZGVm"},  # (StdEncoding.DecodeString drops line breaks)
        {"security.selinux": "not base64!"},  # (xattrsToIgnore: never decoded)
        {"user.a": None, "security.selinux": None},  # (jsoniter's ReadString: null is "")
        None,
    ],
    ids=repr,
)
def test_xattrs_containers_storage_decodes(xattrs: object) -> None:
    parse_toc(*_one({"xattrs": xattrs}))


@pytest.mark.parametrize(
    "xattrs",
    [{"user.a": "not base64!"}, {"user.a": "YQ"}, {"user.a": "YQ==YQ=="}, {"user.a": 1}, ["user.a"], "YQ=="],
    ids=repr,
)
def test_xattrs_containers_storage_cannot_decode_fail_the_toc(xattrs: object) -> None:
    """``setFileAttrs``: "decode xattr" (``base64.StdEncoding``, padding required) fails the pull
    for any entry it creates; a value that is no string, or ``xattrs`` that is no object, fails
    ``unmarshalToc`` (``map[string]string``)."""
    with pytest.raises(IntegrityError, match="xattr"):
        parse_toc(*_one({"xattrs": xattrs}))
