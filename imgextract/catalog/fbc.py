"""Streaming reader for file-based catalogs (FBC): one object at a time, never a whole catalog.

The walk follows ``opm``: every regular file under the root is a stream of objects unless an
``.indexignore`` file (gitignore syntax, patterns relative to its own directory, found anywhere in
the tree) ignores it; ``.indexignore`` files themselves are never read as configs. A stream whose
first non-blank character is ``{`` is concatenated JSON; anything else is multi-document YAML.
Files are read in sorted path order so every run yields objects in the same order.

Memory stays bounded by the largest single object: JSON is decoded from a growing window of the
file (one object at a time), YAML documents are produced one by one by the event parser.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import yaml

from imgextract.errors import InvalidBundleError

if TYPE_CHECKING:
    import pathspec  # imported when a directory has an ignore file: most catalogs have none

SCHEMA_PACKAGE = "olm.package"
SCHEMA_CHANNEL = "olm.channel"
SCHEMA_BUNDLE = "olm.bundle"
SCHEMA_DEPRECATIONS = "olm.deprecations"
INDEX_IGNORE = ".indexignore"

_CHUNK = 1 << 16
_MAX_OBJECT = 256 << 20  # one object larger than this is not a catalog object


class CatalogFormatError(InvalidBundleError):
    """A catalog file is not a valid stream of FBC objects (names the file and the object index)."""


@dataclass(frozen=True)
class FbcObject:
    """One declarative-config object: where it came from, its schema keys, and its decoded body.

    ``index`` counts objects from 0 within ``path`` (the path relative to the catalog root, with
    ``/`` separators). ``data`` is the whole decoded object; callers keep only what they need.
    """

    path: str
    index: int
    schema: str
    package: str
    name: str
    data: dict[str, Any]


class _Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """Safe YAML with timestamps left as strings (opm converts YAML to JSON, where none exist)."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def catalog_files(root: str | os.PathLike[str]) -> Iterator[tuple[str, Path]]:
    """(relative path, absolute path) of every file opm would read under ``root``, sorted.

    Symbolic links are followed only when they stay inside ``root``; one pointing outside is an error.
    """
    base = Path(root)
    if not base.is_dir():
        raise CatalogFormatError(f"catalog directory {base} does not exist or is not a directory")
    real_base = os.path.realpath(base)
    ignores: list[tuple[str, pathspec.GitIgnoreSpec]] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, base).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        if INDEX_IGNORE in filenames:
            import pathspec

            with open(os.path.join(dirpath, INDEX_IGNORE), encoding="utf-8", errors="replace") as f:
                ignores.append((rel_dir, pathspec.GitIgnoreSpec.from_lines(f.read().splitlines())))
        kept = []
        for d in dirnames:
            if not _ignored(ignores, rel_dir + d + "/"):
                kept.append(d)
        dirnames[:] = kept
        for name in sorted(filenames):
            rel = rel_dir + name
            if name == INDEX_IGNORE or _ignored(ignores, rel):
                continue
            full = Path(dirpath) / name
            if full.is_symlink():
                target = os.path.realpath(full)
                if os.path.commonpath([real_base, target]) != real_base:
                    raise CatalogFormatError(f"{rel}: symbolic link points outside the catalog")
                if not os.path.isfile(target):
                    continue
            elif not full.is_file():
                continue
            yield rel, full


def _ignored(ignores: list[tuple[str, pathspec.GitIgnoreSpec]], rel: str) -> bool:
    for prefix, spec in ignores:
        if rel.startswith(prefix) and spec.match_file(rel[len(prefix) :]):
            return True
    return False


def iter_catalog(root: str | os.PathLike[str]) -> Iterator[FbcObject]:
    """Every object of the catalog under ``root``, file by file, in a stable order."""
    for rel, full in catalog_files(root):
        with open(full, "rb") as f:
            yield from iter_stream(f, rel)


def iter_stream(stream: IO[bytes], path: str) -> Iterator[FbcObject]:
    """The objects of one file: concatenated JSON or multi-document YAML, as opm sniffs it."""
    head = stream.read(_CHUNK)
    stripped = head.lstrip()
    while not stripped and head:
        more = stream.read(_CHUNK)
        if not more:
            break
        head += more
        stripped = head.lstrip()
    if stripped.startswith(b"{"):
        raw = _json_values(head, stream, path)
    else:
        raw = _yaml_documents(head, stream, path)
    for index, value in enumerate(raw):
        yield _object(value, path, index)


def _object(value: Any, path: str, index: int) -> FbcObject:
    if not isinstance(value, dict):
        raise CatalogFormatError(f"{path}: object {index}: expected a mapping, found {type(value).__name__}")
    schema = value.get("schema")
    if not isinstance(schema, str) or not schema:
        raise CatalogFormatError(f"{path}: object {index}: missing root schema field")
    package = value.get("package", "")
    name = value.get("name", "")
    if not isinstance(package, str) or not isinstance(name, str):
        raise CatalogFormatError(f"{path}: object {index}: 'package' and 'name' must be strings")
    return FbcObject(path, index, schema, package, name, value)


def _json_values(head: bytes, stream: IO[bytes], path: str) -> Iterator[Any]:
    decoder = json.JSONDecoder()
    pending = bytearray(head)  # undecoded bytes (a partial UTF-8 sequence may sit at the end)
    buf = ""
    pos = 0
    eof = False
    index = 0
    while True:
        # Keep the text window small: drop what is decoded, skip blanks.
        n = len(buf)
        while pos < n and buf[pos] in " \t\r\n":
            pos += 1
        if pos == n:
            buf, pos = "", 0
            if eof and not pending:
                return
        try:
            if buf:
                value, end = decoder.raw_decode(buf, pos)
                # A number or literal at the end of the window may continue in the next chunk.
                if end < len(buf) or eof or isinstance(value, dict | list | str):
                    yield value
                    index += 1
                    pos = end
                    continue
        except json.JSONDecodeError as exc:
            if eof:
                raise CatalogFormatError(f"{path}: object {index}: invalid JSON: {exc.msg}") from None
            if len(buf) - pos > _MAX_OBJECT:
                raise CatalogFormatError(f"{path}: object {index}: larger than {_MAX_OBJECT} bytes") from None
        if eof:
            if buf[pos:].strip():
                raise CatalogFormatError(f"{path}: object {index}: truncated JSON")
            return
        # Need more text: read at least as much as is pending, so a large object costs O(n) overall.
        want = max(_CHUNK, len(buf) - pos)
        chunk = stream.read(want)
        if not chunk:
            eof = True
        pending += chunk
        text, keep = _decode_utf8(pending, eof, path, index)
        del pending[: len(pending) - keep]
        buf = buf[pos:] + text
        pos = 0


def _decode_utf8(data: bytearray, final: bool, path: str, index: int) -> tuple[str, int]:
    """Decode ``data`` except a trailing incomplete UTF-8 sequence; return (text, bytes kept)."""
    cut = len(data)
    if not final:
        # at most 3 continuation bytes can belong to an unfinished character
        for back in range(1, min(4, len(data)) + 1):
            b = data[-back]
            if b & 0xC0 == 0x80:
                continue
            if b >= 0xC0:
                need = 2 if b < 0xE0 else 3 if b < 0xF0 else 4
                if need > back:
                    cut = len(data) - back
            break
    try:
        return bytes(data[:cut]).decode("utf-8"), len(data) - cut
    except UnicodeDecodeError:
        raise CatalogFormatError(f"{path}: object {index}: not valid UTF-8") from None


class _Prefixed:
    """A file object that first returns bytes already read (YAML gets the sniffed head back)."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head = head
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0:
                out, self._head = self._head + self._stream.read(), b""
                return out
            out, self._head = self._head[:size], self._head[size:]
            return out
        return self._stream.read(size)


def _yaml_documents(head: bytes, stream: IO[bytes], path: str) -> Iterator[Any]:
    loader = _Loader(_Prefixed(head, stream))
    index = 0
    try:
        while loader.check_data():
            value = loader.get_data()
            if value is None:  # an empty document (a stray '---') carries no object
                continue
            yield value
            index += 1
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CatalogFormatError(f"{path}: object {index}: invalid YAML{where}: {problem}") from None
    finally:
        loader.dispose()
