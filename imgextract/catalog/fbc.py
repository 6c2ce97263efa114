"""Streaming reader for file-based catalogs (FBC): one object at a time, never a whole catalog.

This is the one FBC reader: the catalog commands and ``render`` both read catalogs through it, by
the rules of opm's ``declcfg`` loader (``WalkMetasReader``):

* every file under the root is a stream of objects unless the ``.indexignore`` files (go-git's
  gitignore rules as opm applies them, see :mod:`.indexignore`) ignore it; ``.indexignore`` files
  themselves are never read as configs; files come in ``fs.WalkDir`` order; a symbolic link is read
  as the file it points to (one to a directory or to nothing is an error, as in opm);
* apimachinery's ``YAMLOrJSONDecoder``: a stream whose first 4096 bytes start, after blanks, with ``{``
  is read as concatenated JSON; anything else is YAML split into documents on ``---`` lines (the rest
  of the line blank or a comment; anything else there is an error), each decoded with go-yaml v2's
  rules (``1e3`` a float, ``on`` a boolean, timestamps strings); a document of only comments or blank
  lines is an object without a schema. Since apimachinery 0.33 (opm's), a stream read as JSON whose
  first or second object fails to decode is read on as YAML from the end of the last decoded object
  (blanks up to the first line end skipped): a YAML flow mapping ``{schema: olm.package, ...}`` or
  one JSON object followed by YAML documents is a catalog file; after two JSON objects it stays JSON,
  and when the YAML reading fails too the JSON error is the one reported;
* ``Meta.UnmarshalJSON``: ``schema``, ``package`` and ``name`` are found whatever their case, must be
  strings, and no two top-level keys may be equal once case-folded.

Memory stays bounded by the largest single object: JSON is decoded from a growing window of the
file (one object at a time; until the second object has decoded, the bytes read since the end of
the first are kept too, for a turn to YAML, and past twice the object bound that is an error),
YAML is cut into documents line by line and decoded one by one.  A JSON syntax error is known as
soon as the window holds a few bytes past it (as Go's scanner knows it): a YAML flow mapping at the
top of a large file turns to YAML there, without reading the file first.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from imgextract.errors import InvalidBundleError
from imgextract.oci import jsonstream, jsontext

if TYPE_CHECKING:
    from imgextract.catalog.indexignore import IgnoreMatcher  # only for a catalog with an ignore file

SCHEMA_PACKAGE = "olm.package"
SCHEMA_CHANNEL = "olm.channel"
SCHEMA_BUNDLE = "olm.bundle"
SCHEMA_DEPRECATIONS = "olm.deprecations"
INDEX_IGNORE = ".indexignore"

_CHUNK = 1 << 16
_SNIFF = 4096  # how far GuessJSONStream looks for the "{"
# Go's unicode.IsSpace (what hasJSONPrefix trims)
GO_SPACE = " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
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


def catalog_files(root: str | os.PathLike[str]) -> Iterator[tuple[str, Path]]:
    """(relative path, absolute path) of every file opm would read under ``root``, in ``fs.WalkDir``
    order (each directory's entries by name, files and subdirectories interleaved).

    As in opm (``declcfg.WalkMetasFS`` over ``os.DirFS``), every entry that is not a directory is a
    file to read unless the ``.indexignore`` files ignore it (:mod:`.indexignore`): a symbolic link
    is such an entry whatever it points to, so one to a directory or to nothing is an error, as
    opm's read or open of it is.  A link that leads out of ``root`` is refused (opm would follow it).
    """
    base = Path(root)
    if not base.is_dir():
        raise CatalogFormatError(f"catalog directory {base} does not exist or is not a directory")
    real_base = os.path.realpath(base)
    matcher: IgnoreMatcher | None = None
    found: list[tuple[tuple[str, ...], str, os.DirEntry[str]]] = []
    stack = [("", str(base))]
    while stack:
        rel_dir, path = stack.pop()
        with os.scandir(path) as it:
            entries = list(it)
        for e in entries:
            rel = rel_dir + e.name
            if e.is_dir(follow_symlinks=False):
                stack.append((rel + "/", e.path))
                continue
            if e.name == INDEX_IGNORE and matcher is None:
                from imgextract.catalog.indexignore import IgnoreMatcher

                matcher = IgnoreMatcher(INDEX_IGNORE)
            found.append((tuple(rel.split("/")), rel, e))
    found.sort()  # fs.WalkDir's lexical order
    if matcher is not None:  # every ignore file counts, in walk order, before any file is read
        for _key, rel, e in found:
            if e.name == INDEX_IGNORE:
                with open(e.path, "rb") as f:
                    text = f.read().decode("utf-8", "surrogateescape")
                matcher.add_file(rel.rpartition("/")[0], text)
    for _key, rel, e in found:
        if e.name == INDEX_IGNORE or (matcher is not None and matcher.ignored(rel)):
            continue
        full = Path(e.path)
        if e.is_symlink():
            target = os.path.realpath(full)
            if os.path.commonpath([real_base, target]) != real_base:
                raise CatalogFormatError(f"{rel}: symbolic link points outside the catalog")
            if os.path.isdir(target):
                raise CatalogFormatError(f"{rel}: read {rel}: is a directory")
            if not os.path.exists(target):
                raise CatalogFormatError(f"{rel}: open {rel}: no such file or directory")
        if not os.path.isfile(full):
            continue  # a device, FIFO or socket: not a catalog file
        yield rel, full


def iter_catalog(root: str | os.PathLike[str]) -> Iterator[FbcObject]:
    """Every object of the catalog under ``root``, file by file, in a stable order."""
    for rel, full in catalog_files(root):
        with open(full, "rb") as f:
            yield from iter_stream(f, rel)


def iter_stream(stream: IO[bytes], path: str) -> Iterator[FbcObject]:
    """The objects of one file: concatenated JSON or multi-document YAML, as opm sniffs it."""
    head = stream.read(_SNIFF)
    while len(head) < _SNIFF:  # a pipe may return less: GuessJSONStream peeks the full window
        more = stream.read(_SNIFF - len(head))
        if not more:
            break
        head += more
    if head.decode("utf-8", "replace").lstrip(GO_SPACE).startswith("{"):
        yield from _json_then_yaml(head, stream, path)
        return
    for index, value in enumerate(_yaml_documents(head, stream, path)):
        yield _object(value, path, index)


class _Tape:
    """A stream that keeps what was read while ``on`` (from its start, then from the end of the
    first object): what the JSON reading may have to give back to the YAML reading.  Keeping more
    than twice the object bound (a window read ahead, or a run of blanks after the first object)
    is an error of object ``index``."""

    def __init__(self, stream: IO[bytes], head: bytes, path: str) -> None:
        self.stream = stream
        self.kept = bytearray(head)
        self.on = True
        self.path = path
        self.index = 0

    def read(self, n: int) -> bytes:
        data = self.stream.read(n)
        if self.on:
            self.kept += data
            if len(self.kept) > 2 * _MAX_OBJECT:
                raise CatalogFormatError(f"{self.path}: object {self.index}: larger than {_MAX_OBJECT} bytes")
        return data

    def drop_first(self) -> None:
        """Forget the first object's bytes (it decoded): a turn to YAML starts after it."""
        del self.kept[: _json_object_end(self.kept)]

    def stop(self) -> None:
        self.on = False
        self.kept = bytearray()


def _json_then_yaml(head: bytes, stream: IO[bytes], path: str) -> Iterator[FbcObject]:
    """``YAMLOrJSONDecoder.Decode`` over a stream that looks like JSON: JSON objects while they
    decode; a failure at the first or second object hands the rest of the stream to YAML."""
    tape = _Tape(stream, head, path)
    # Meta.UnmarshalJSON decodes into map[string]interface{}: numbers are float64
    decoder = json.JSONDecoder(parse_constant=jsontext.go_constant, parse_float=_go_float, parse_int=_go_int)
    values = jsonstream.iter_values(
        tape,
        partial(jsontext.raw_decode, decoder),
        read_size=_CHUNK,
        max_value=_MAX_OBJECT,
        head=head,
        scalars_wait=True,  # a number at the end of the window may go on in the next read
    )
    count = 0  # objects decoded
    while True:
        try:
            value = next(values)
            meta = _meta(value, path, count)
        except StopIteration:
            return
        except jsonstream.InvalidJSON as exc:
            error = CatalogFormatError(f"{path}: object {count}: invalid JSON: {_json_message(exc.cause)}")
        except jsonstream.ValueTooLarge:
            raise CatalogFormatError(f"{path}: object {count}: larger than {_MAX_OBJECT} bytes") from None
        except _MetaError as exc:
            error = exc
        else:
            yield _object_of(value, meta, path, count)
            count += 1
            tape.index = count
            if count == 1:
                tape.drop_first()
            elif count == 2:  # an unambiguous JSON stream: it never turns to YAML
                tape.stop()
            continue
        if count > 1:
            raise error
        yield from _yaml_rest(tape, count, path, error)
        return


# a JSON string (escapes included) or a bracket: enough to find where a well-formed value ends
_JSON_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[][{}]', re.S)


def _json_object_end(data: bytes | bytearray) -> int:
    """Where the first JSON object of ``data`` (well-formed, after JSON blanks) ends."""
    depth = 0
    for m in _JSON_TOKEN.finditer(data):
        c = m.group()
        if c in (b"{", b"["):
            depth += 1
        elif c in (b"}", b"]"):
            depth -= 1
            if depth == 0:
                return m.end()
    raise AssertionError("the object decoded, so it ends")  # pragma: no cover


def _yaml_rest(tape: _Tape, first: int, path: str, error: CatalogFormatError) -> Iterator[FbcObject]:
    """The stream from the end of JSON object ``first - 1`` (where the tape starts) read as YAML (``consumeWhitespace``: blanks
    skipped up to and including the first line end; it looks 4 bytes ahead, and an invalid character
    or the end of the stream within them leaves the JSON ``error``)."""
    from imgextract.catalog.render.goyaml import yaml_start_after_json

    data = tape.kept
    pos = 0
    tape.on = False
    eof = False
    while (start := yaml_start_after_json(data, pos, eof)) == -1:
        more = tape.stream.read(_CHUNK)
        eof = not more
        data += more
    if start is None:
        raise error
    pos = start
    rest = bytes(data[pos:])
    tape.kept = bytearray()
    docs = _yaml_documents(rest, tape.stream, path, first)
    try:
        value = next(docs)
        meta = _meta(value, path, first)
    except StopIteration:
        return
    except CatalogFormatError:  # the first YAML document failed too: the JSON error stands
        raise error from None
    yield _object_of(value, meta, path, first)
    for index, value in enumerate(docs, first + 1):
        yield _object(value, path, index)


def meta_keys(obj: dict[str, Any]) -> dict[str, str]:
    """``Meta.UnmarshalJSON``: top-level keys must differ once case-folded; ``schema``, ``package`` and
    ``name`` are found whatever their case and must be strings ("" when absent). Raises ValueError."""
    if len({key.casefold() for key in obj}) != len(obj):
        folded: dict[str, list[str]] = {}
        for key in obj:
            folded.setdefault(key.casefold(), []).append(key)
        dups = [
            f'duplicate keys for key "{f}": [{" ".join(sorted(ks))}]'
            for f, ks in folded.items()
            if len(ks) > 1
        ]
        raise ValueError(dups[0] if len(dups) == 1 else "[" + ", ".join(dups) + "]")
    out = {}
    for name in ("schema", "package", "name"):
        # keys are distinct once folded: the key itself, else the one other spelling of it
        found = name if name in obj else next((k for k in obj if k.casefold() == name), None)
        value = "" if found is None else obj[found]
        if not isinstance(value, str):
            from imgextract.catalog.gofmt import go_t, go_v

            raise ValueError(
                f'expected value for key "{found}" to be a string, got {go_t(value)}: {go_v(value)}'
            )
        out[name] = value
    return out


class _MetaError(CatalogFormatError):
    """``Meta.UnmarshalJSON`` refused the value: an error of its decoding (not of the loader's use)."""


def _meta(value: Any, path: str, index: int) -> dict[str, str] | None:
    """``Meta.UnmarshalJSON``: the meta keys of a mapping, None for ``null`` (an empty Meta)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        from imgextract.catalog.render.gostruct import json_type

        kind = json_type(value)
        raise _MetaError(
            f"{path}: object {index}: json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
        )
    try:
        return meta_keys(value)
    except ValueError as exc:
        raise _MetaError(f"{path}: object {index}: {exc}") from None


def _object_of(value: Any, meta: dict[str, str] | None, path: str, index: int) -> FbcObject:
    if meta is None:  # a YAML document of comments or blank lines: opm's Meta stays empty
        raise CatalogFormatError(f"{path}: object {index}: object '' is missing root schema field")
    if not meta["schema"]:
        raise CatalogFormatError(f"{path}: object {index}: missing root schema field")
    return FbcObject(path, index, meta["schema"], meta["package"], meta["name"], value)


def _object(value: Any, path: str, index: int) -> FbcObject:
    return _object_of(value, _meta(value, path, index), path, index)


def _go_float(text: str) -> float:
    """A JSON number as Go decodes it into ``interface{}`` (float64): out of range is an error."""
    value = float(text)
    if value in (_INF, -_INF):
        raise json.JSONDecodeError("number out of range", text, 0)
    return value


def _go_int(text: str) -> int:
    """An integer is a float64 in Go's ``interface{}``: past float64's range it is an error (Python
    keeps it; more than 4300 digits is jsontext's "number out of range" too)."""
    value = int(text)
    if len(text) > 300:
        try:
            float(value)
        except OverflowError:
            raise json.JSONDecodeError("number out of range", text, 0) from None
    return value


_INF = float("inf")


def _json_message(exc: BaseException) -> str:
    """The decoder's message (jsontext's decoding raises only JSONDecodeError)."""
    return exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)


# apimachinery's YAMLReader: "---" at the start of a line, the rest of it blank or a comment
_SEPARATOR = re.compile(rb"^---([^\n]*)\n", re.M)


def _yaml_chunks(head: bytes, stream: IO[bytes], path: str, first: int = 0) -> Iterator[bytes]:
    """The stream cut into documents on separator lines; a separator with nothing before it makes none.
    Only the document being read (and one chunk) is held."""
    pending = bytearray(head)
    start = 0  # where the current document begins in ``pending``
    scan = 0  # a line start: separators before it were handled
    searched = 0  # where the search for the last line end starts
    eof = False
    index = first
    while True:
        chunk = stream.read(_CHUNK)
        if chunk:
            pending += chunk
        else:
            eof = True
            if pending and not pending.endswith(b"\n"):
                pending += b"\n"  # the last line, as the line reader returns it
        end = pending.rfind(b"\n", searched) + 1 or scan  # complete lines only
        searched = len(pending)  # no line end after ``scan`` before this: only new bytes are searched
        for m in _SEPARATOR.finditer(pending, scan, end):
            rest = m.group(1).strip()
            if rest and not rest.startswith(b"#"):  # the document being read fails
                text = rest[:80].decode("utf-8", "replace")
                raise CatalogFormatError(
                    f"{path}: object {index}: invalid YAML: invalid Yaml document separator: {text}"
                )
            if m.start() > start:
                yield bytes(pending[start : m.start()])
                index += 1
            start = m.end()
        scan = end
        if eof:
            if end > start:
                yield bytes(pending[start:end])
            return
        if len(pending) - start > _MAX_OBJECT:  # (a line without its end counts too)
            raise CatalogFormatError(f"{path}: object {index}: larger than {_MAX_OBJECT} bytes")
        if start:
            del pending[:start]
            scan -= start
            searched -= start
            start = 0


def _yaml_documents(head: bytes, stream: IO[bytes], path: str, first: int = 0) -> Iterator[Any]:
    from imgextract.catalog.render.goyaml import DecodeError, load_yaml

    for index, raw in enumerate(_yaml_chunks(head, stream, path, first), first):
        try:  # bytes: libyaml checks the UTF-8 itself, without a decoded copy
            yield load_yaml(raw)
        except DecodeError as exc:
            raise CatalogFormatError(f"{path}: object {index}: invalid YAML: {exc}") from None
