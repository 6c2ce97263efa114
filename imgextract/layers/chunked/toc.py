"""The zstd:chunked table of contents: where it is, verifying it, and what it may contain.

A zstd:chunked blob is an ordinary zstd-compressed tar in which every file's content (and every
chunk of a large file) starts a new zstd frame, followed by the TOC in a skippable frame and a
footer.  The layer descriptor's annotations say where the TOC is and what its SHA-256 is:

    io.github.containers.zstd-chunked.manifest-checksum   (newer writers)
    io.containers.zstd-chunked.manifest-checksum          (skopeo 1.9 / containers/storage 1.4x)
    ...manifest-position = "offset:length:uncompressedLength:1"

The checksum covers the compressed TOC bytes; the manifest (and so the annotation) is what we
trust, so the TOC is only used once that checksum matches.  The footer (48 bytes, ending in the
magic ``GnUlInUx``) repeats the position; when it follows the TOC directly (skopeo 1.9's layout)
it is read and must agree.  Newer writers put a tar-split frame and a 64-byte footer (magic
``GNUlInUx``) after the TOC: footers differ between versions, the annotations decide.

The TOC is JSON ``{"version": 1, "entries": [...]}``.  Validation here is strict: every name
and hard link target stays inside the root (no ``..``, no NUL), every content range lies in the
data area before the TOC, a file's chunks are contiguous and add up to its size, and no two
ranges overlap.  A violation is an ``IntegrityError``.  Features we do not implement (chunk
types other than data and zeros) raise ``TocUnsupported``: the caller fetches the whole layer.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import struct
from collections.abc import Mapping
from typing import NamedTuple

import zstandard

from imgextract.errors import ContentMismatch, IntegrityError, LimitExceeded
from imgextract.layers.member import ExactTime
from imgextract.layers.paths import split_name
from imgextract.layers.verify import parse_digest
from imgextract.oci import jsontext

PREFIXES = ("io.github.containers.zstd-chunked.", "io.containers.zstd-chunked.")
CHECKSUM_KEY = "manifest-checksum"
POSITION_KEY = "manifest-position"
ZSTD_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    }
)
FOOTER_SIZE = 48
FOOTER_MAGIC = b"GnUlInUx"
SKIPPABLE_MAGIC = 0x184D2A50
MANIFEST_TYPE_CRFS = 1
MAX_TOC_BYTES = 64 * 1024 * 1024  # compressed and uncompressed (containers/storage allows 50 MiB)
_TYPES = {"reg", "dir", "symlink", "hardlink", "char", "block", "fifo", "chunk"}
# data ("" in containers/storage) and zeros: a run of zeros is a chunk of its own, which its
# reader fills in without a fetch; its frame is in the blob all the same (the blob decompresses
# to the whole tar) and decompresses to the zeros its digest covers: read like data here
_CHUNK_TYPES = (None, "", "data", "zeros")
_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")  # a strict subset of what parse_digest accepts
_tuple = tuple.__new__  # a Chunk without the Python-level __new__ of a NamedTuple (thousands per TOC)
# an RFC 3339 date-time in ASCII digits; "\Z" as Go's time.Parse refuses trailing text (Python's
# "$" allows a final "\n")
_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{1,2}):([0-9]{2}):([0-9]{2})([.,][0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})\Z"
)
_ABSENT = object()
_OTHER_TIMES = ("accesstime", "changetime")  # parsed (and refused) as modtime is, never used
_IGNORED_XATTRS = frozenset({"security.selinux"})  # storage_linux.go xattrsToIgnore: never decoded
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\Z")


class TocUnsupported(Exception):
    """A well-formed TOC using a feature partial fetch does not implement: fetch the whole layer."""


class TocLocation(NamedTuple):
    """Where the compressed TOC is in the blob and what it must hash to."""

    offset: int
    length: int
    uncompressed_length: int
    checksum: str | None = None


class Chunk(NamedTuple):
    """``[start, end)`` compressed bytes of the blob that decompress to ``size`` bytes of a file.

    A tuple, not a dataclass: a TOC has one per chunk (thousands), built on every pull."""

    start: int
    end: int
    size: int
    digest: str | None  # sha256 of the uncompressed chunk; None: the file digest covers it


class TocEntry:
    """One TOC entry (a file's chunk entries folded into its ``chunks``).  A plain class: every
    pull imports this module, and a dataclass costs more to define than to use here."""

    __slots__ = ("type", "name", "mode", "size", "mtime", "link_name", "digest", "chunks")

    def __init__(
        self,
        type: str,
        name: str,  # cleaned: components joined by "/", "" for the root
        mode: int = 0,
        size: int = 0,
        mtime: float = 0.0,
        link_name: str = "",
        digest: str | None = None,
        chunks: list[Chunk] | None = None,
    ) -> None:
        self.type = type
        self.name = name
        self.mode = mode
        self.size = size
        self.mtime = mtime
        self.link_name = link_name
        self.digest = digest
        self.chunks: list[Chunk] = chunks if chunks is not None else []

    def __repr__(self) -> str:
        return f"TocEntry({self.type!r}, {self.name!r}, size={self.size}, chunks={len(self.chunks)})"


class Toc:
    """The validated entries of a TOC and where it was."""

    __slots__ = ("entries", "location")

    def __init__(self, entries: list[TocEntry], location: TocLocation) -> None:
        self.entries = entries
        self.location = location

    def content_bytes(self) -> int:
        return sum(c.end - c.start for e in self.entries for c in e.chunks)


def is_chunked(media_type: str, annotations: Mapping[str, str] | None) -> bool:
    """A zstd layer whose annotations locate (and checksum) a TOC."""
    return media_type in ZSTD_MEDIA_TYPES and toc_location(annotations) is not None


def _annotation(annotations: Mapping[str, str], key: str) -> str | None:
    for prefix in PREFIXES:
        value = annotations.get(prefix + key)
        if value is not None:
            return value
    return None


def toc_location(annotations: Mapping[str, str] | None) -> TocLocation | None:
    """The TOC location from either annotation spelling; None when absent or not a checksummed TOC."""
    if not annotations:
        return None
    position = _annotation(annotations, POSITION_KEY)
    checksum = _annotation(annotations, CHECKSUM_KEY)
    if position is None or checksum is None:
        return None
    fields = position.split(":")
    if len(fields) != 4 or not all(f.isascii() and f.isdigit() for f in fields):
        raise IntegrityError(f"malformed zstd:chunked manifest position {position!r}")
    offset, length, uncompressed, kind = (int(f) for f in fields)
    if kind != MANIFEST_TYPE_CRFS:
        return None  # another TOC format: not ours to read
    parse_digest(checksum)
    if not checksum.startswith("sha256:"):
        raise IntegrityError(f"zstd:chunked manifest checksum {checksum!r} is not sha256")
    if length <= 0 or length > MAX_TOC_BYTES or uncompressed <= 0 or uncompressed > MAX_TOC_BYTES:
        raise LimitExceeded(f"zstd:chunked TOC of {length} bytes ({uncompressed} uncompressed) refused")
    return TocLocation(offset, length, uncompressed, checksum)


def parse_footer(footer: bytes) -> TocLocation:
    """The 48-byte footer: a skippable frame holding offset, length, uncompressed length, type, magic."""
    if len(footer) != FOOTER_SIZE:
        raise ContentMismatch(f"zstd:chunked footer is {len(footer)} bytes, expected {FOOTER_SIZE}")
    magic, frame_size, offset, length, uncompressed, kind, tail = struct.unpack("<IIQQQQ8s", footer)
    if magic != SKIPPABLE_MAGIC or frame_size != FOOTER_SIZE - 8 or tail != FOOTER_MAGIC:
        raise IntegrityError("zstd:chunked footer is malformed")
    if kind != MANIFEST_TYPE_CRFS:
        raise TocUnsupported(f"zstd:chunked footer names TOC type {kind}")
    return TocLocation(offset, length, uncompressed)


def check_footer(footer: bytes, location: TocLocation) -> None:
    """The footer must name the TOC the annotations name (a second, unsigned copy: agreement only)."""
    found = parse_footer(footer)
    if (found.offset, found.length, found.uncompressed_length) != (
        location.offset,
        location.length,
        location.uncompressed_length,
    ):
        raise IntegrityError("zstd:chunked footer and layer annotations disagree on the TOC position")


def _mtime(value: object, name: object, key: str = "modtime") -> float:
    """A TOC time (``modtime``; ``accesstime``, ``changetime``) as containers/storage's
    ``unmarshalToc`` reads it: a JSON string through Go's ``time.Parse(time.RFC3339, s)`` --
    RFC 3339, or Go's general layout parser, which also takes a comma before the fraction, an
    hour of one digit and a zone offset of up to 24 hours and 60 minutes (golang/go#54580); the
    first nine digits of a fraction are the nanoseconds, kept exactly (``ExactTime``).  Anything
    else, ``null`` too (the empty string to ``time.Parse``), fails the decoding of the whole TOC
    there: an integrity error here.  (An absent time is no time: the caller's 0.)"""
    m = _TIME.match(value) if isinstance(value, str) else None
    if m is None:
        raise IntegrityError(f"zstd:chunked TOC entry {name!r}: invalid {key} {value!r}")
    year, mon, day, hh, mm, ss = (int(m.group(i)) for i in range(1, 7))
    tz = m.group(8)
    tz_hh, tz_mm = (int(tz[1:3]), int(tz[4:6])) if tz != "Z" else (0, 0)
    if (
        not 1 <= mon <= 12
        or not 1 <= day <= calendar.monthrange(year or 2000, mon)[1]  # (year 0 is a leap year)
        or hh > 23
        or mm > 59
        or ss > 59
        or tz_hh > 24  # (Go's general parser: "some people do write offsets of 24 hours or 60 minutes")
        or tz_mm > 60
    ):
        raise IntegrityError(f"zstd:chunked TOC entry {name!r}: invalid {key} {value!r}")
    if not year:  # (timegm cannot; long before the epoch, which the applier clamps to)
        return ExactTime.from_ns(-1)
    seconds = calendar.timegm((year, mon, day, hh, mm, ss, 0, 0, 0))
    if tz != "Z":
        seconds -= (1 if tz[0] == "+" else -1) * (tz_hh * 3600 + tz_mm * 60)
    fraction = m.group(7)
    nanos = int(fraction[1:10].ljust(9, "0")) if fraction else 0
    return ExactTime.from_ns(seconds * 1_000_000_000 + nanos)


def _check_xattrs(xattrs: object, name: object) -> None:
    """``xattrs``: an object of strings (``map[string]string``; a null value is "", as jsoniter's
    ``ReadString`` reads it), each value standard base64, which
    containers/storage decodes (``base64.StdEncoding``, line breaks ignored) for every entry it
    creates, failing the pull on a value it cannot decode (``setFileAttrs``: "decode xattr"),
    but ``security.selinux``, which it skips.  They are not applied here (see docs/formats.md)."""
    if type(xattrs) is not dict:
        raise IntegrityError(f"zstd:chunked TOC entry {name!r}: xattrs is not an object")
    for key, value in xattrs.items():
        if value is None:  # (jsoniter's ReadString reads null as "", which decodes to nothing)
            continue
        if type(value) is not str:
            raise IntegrityError(f"zstd:chunked TOC entry {name!r}: xattr {key[:100]!r} is not a string")
        if key not in _IGNORED_XATTRS and not _BASE64.match(value.replace("\r", "").replace("\n", "")):
            raise IntegrityError(f"zstd:chunked TOC entry {name!r}: xattr {key[:100]!r} is not base64")


def _int(entry: Mapping[str, object], key: str, default: int | None = None) -> int:
    value = entry.get(key, default)
    if type(value) is not int or value < 0:  # bool is not int here
        raise IntegrityError(f"zstd:chunked TOC entry {entry.get('name')!r}: invalid {key} {value!r}")
    return value


def _digest(entry: Mapping[str, object], key: str) -> str | None:
    value = entry.get(key)
    if value is None or value == "":
        return None
    if type(value) is str and _SHA256.fullmatch(value):  # the common case, without the parse
        return value
    if not isinstance(value, str):
        raise IntegrityError(f"zstd:chunked TOC entry {entry.get('name')!r}: invalid {key}")
    parse_digest(value)
    return value


def parse_toc(compressed: bytes, location: TocLocation) -> Toc:
    """Verify ``compressed`` against the annotated checksum, decompress and validate it."""
    if len(compressed) != location.length:
        raise ContentMismatch(f"zstd:chunked TOC: got {len(compressed)} bytes, expected {location.length}")
    if location.checksum is not None:
        actual = "sha256:" + hashlib.sha256(compressed).hexdigest()
        if actual != location.checksum:
            raise IntegrityError(
                f"zstd:chunked TOC checksum mismatch: annotation says {location.checksum}, got {actual}"
            )
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(compressed, read_across_frames=True)
        raw = reader.read(location.uncompressed_length + 1)
    except zstandard.ZstdError as exc:
        raise IntegrityError(f"zstd:chunked TOC does not decompress: {exc}") from None
    if len(raw) != location.uncompressed_length:
        raise IntegrityError(
            f"zstd:chunked TOC is {len(raw)} bytes uncompressed, expected {location.uncompressed_length}"
        )
    fast = _fast_json(raw)
    if fast is not None:
        try:
            return _toc_of(fast, location)
        except (IntegrityError, TocUnsupported, TypeError, ValueError):
            pass  # read again by Go's rules below: the same TOC, or the same error
    try:
        doc = jsontext.loads(raw)  # Go's rules: NaN refused, a lone surrogate escape is U+FFFD
    except ValueError as exc:
        raise IntegrityError(f"zstd:chunked TOC is not JSON: {exc}") from None
    return _toc_of(doc, location)


def _fast_json(raw: bytes) -> object | None:
    """The TOC's JSON decoded by ``orjson`` (about half the time of ``json``), or None where its
    reading may differ from Go's (``jsontext``): invalid UTF-8, a lone surrogate escape, NaN,
    nesting deeper than 1024 and anything else it refuses.  It reads an integer past 64 bits as
    a float, where Go's rules keep the integer; every TOC number the validation uses must be
    an int, so such a TOC fails ``_toc_of`` and ``parse_toc`` reads it again by Go's rules: a
    TOC is accepted from this reading only when the other would give the same entries."""
    try:
        import orjson  # (only for TOCs: a pull without zstd:chunked layers never loads it)

        return orjson.loads(raw)  # type: ignore[no-any-return]
    except (ImportError, ValueError):  # (orjson.JSONDecodeError is a ValueError)
        return None


def _toc_of(doc: object, location: TocLocation) -> Toc:
    """The validated TOC of a decoded TOC document."""
    if not isinstance(doc, dict):
        raise IntegrityError("zstd:chunked TOC: expected an object with a list of entries")
    entries = doc.get("entries")
    if entries is None:
        entries = []  # an empty layer's: Go writes a nil slice as null (and reads it back so)
    version = doc.get("version", 0)
    if type(version) is not int or not isinstance(entries, list):
        raise IntegrityError("zstd:chunked TOC: expected a version number with a list of entries")
    if version != 1:  # authentic (the checksum matched), in a format not known here
        raise TocUnsupported(f"zstd:chunked TOC version {version}")
    return Toc(_entries(entries, data_end=location.offset), location)


def _entries(items: list[object], *, data_end: int) -> list[TocEntry]:
    """Validate and convert the TOC's entries: one pass, no per-chunk objects beyond a tuple.

    Most entries of a real TOC are ``chunk`` entries (skopeo cuts files at ~8-64 KiB), so their
    path is the short one: the name must repeat its file's name as written, the offsets are
    plain ints.  A file's chunk is built once its end is known (the next chunk's start, or the
    file's ``endOffset`` for its last chunk)."""
    out: list[TocEntry] = []
    last_file: TocEntry | None = None  # the regular file chunk entries continue
    last_raw = ""  # its name as written
    file_end = 0  # its endOffset
    file_filled = 0  # uncompressed bytes its chunks so far cover
    # its chunk whose end is not known yet: start, size, digest
    pending_start, pending_size, pending_digest = 0, 0, None
    mtimes: dict[object, float] = {}  # modtime strings repeat: parse each once
    for item in items:
        if type(item) is not dict:
            raise IntegrityError("zstd:chunked TOC entry without a name")
        raw_name = item.get("name")
        kind = item.get("type")
        if kind == "chunk":
            if item.get("chunkType") not in _CHUNK_TYPES:
                raise TocUnsupported(f"zstd:chunked chunk type {item.get('chunkType')!r}")
            if last_file is None or raw_name != last_raw:
                if not isinstance(raw_name, str):
                    raise IntegrityError("zstd:chunked TOC entry without a name")
                name = "/".join(split_name(raw_name, what="name"))
                if last_file is None or name != last_file.name:
                    raise IntegrityError(f"zstd:chunked TOC chunk {name!r} does not follow its file")
            start = item.get("offset")
            if type(start) is not int:  # ints only (bool is not int here); the order check bounds it
                start = _int(item, "offset")
            if not pending_start < start < file_end:
                raise IntegrityError(
                    f"zstd:chunked TOC chunk of {last_file.name!r}: overlapping or out-of-order ranges"
                )
            offset = item.get("chunkOffset")
            if type(offset) is not int or offset != file_filled:
                if _int(item, "chunkOffset") != file_filled:
                    raise IntegrityError(f"zstd:chunked TOC chunk of {last_file.name!r} is not contiguous")
            size = item.get("chunkSize")
            if type(size) is not int or size < 0:
                size = _int(item, "chunkSize")
            digest = item.get("chunkDigest")
            if digest is not None and (type(digest) is not str or not _SHA256.fullmatch(digest)):
                digest = _digest(item, "chunkDigest")
            last_file.chunks.append(_tuple(Chunk, (pending_start, start, pending_size, pending_digest)))
            pending_start, pending_size, pending_digest = start, size, digest
            file_filled += size
            continue
        if not isinstance(raw_name, str):
            raise IntegrityError("zstd:chunked TOC entry without a name")
        if kind not in _TYPES:
            raise IntegrityError(f"zstd:chunked TOC entry {raw_name!r} has unknown type {kind!r}")
        if item.get("chunkType") not in _CHUNK_TYPES:
            raise TocUnsupported(f"zstd:chunked chunk type {item.get('chunkType')!r}")
        name = "/".join(split_name(raw_name, what="name"))
        if last_file is not None:
            _close_file(last_file, file_end, file_filled, pending_start, pending_size, pending_digest)
            last_file = None
        modtime = item.get("modtime", _ABSENT)
        mtime = mtimes.get(modtime) if type(modtime) is str else None
        if mtime is None:
            mtime = 0.0 if modtime is _ABSENT else _mtime(modtime, raw_name)
            if type(modtime) is str:
                mtimes[modtime] = mtime
        for key in _OTHER_TIMES:
            other = item.get(key, _ABSENT)
            if other is not _ABSENT and (type(other) is not str or other not in mtimes):
                mtimes[other] = _mtime(other, raw_name, key)  # (only a string gets here unrefused)
        xattrs = item.get("xattrs")
        if xattrs is not None:
            _check_xattrs(xattrs, raw_name)
        entry = TocEntry(type=str(kind), name=name, mtime=mtime)
        entry.mode = _int(item, "mode", 0) & 0o7777
        if kind in ("symlink", "hardlink"):
            link = item.get("linkName")
            if not isinstance(link, str) or not link or "\0" in link:
                raise IntegrityError(f"zstd:chunked TOC link {name!r} has an invalid target")
            if kind == "hardlink":
                split_name(link, what="hard link target")
            entry.link_name = link
        if kind == "reg":
            entry.size = _int(item, "size", 0)
            entry.digest = _digest(item, "digest")
            if entry.size:
                if entry.digest is None:
                    raise IntegrityError(f"zstd:chunked TOC file {name!r} has no digest")
                start, file_end = _int(item, "offset"), _int(item, "endOffset")
                if not start < file_end <= data_end:
                    raise IntegrityError(f"zstd:chunked TOC file {name!r}: range outside the data area")
                first = _int(item, "chunkSize", entry.size) or entry.size
                pending_start, pending_size, pending_digest = start, first, _digest(item, "chunkDigest")
                file_filled = first
                last_file = entry
                last_raw = raw_name
        out.append(entry)
    if last_file is not None:
        _close_file(last_file, file_end, file_filled, pending_start, pending_size, pending_digest)
    _check_overlaps(out)
    return out


def _close_file(entry: TocEntry, end: int, filled: int, start: int, size: int, digest: str | None) -> None:
    """The file's last chunk, ``[start, end)``, and the check that its chunks add up to its size."""
    entry.chunks.append(_tuple(Chunk, (start, end, size, digest)))
    if filled != entry.size:
        raise IntegrityError(f"zstd:chunked TOC file {entry.name!r}: chunk sizes do not add up to its size")


def _check_overlaps(entries: list[TocEntry]) -> None:
    # A file's own chunks are contiguous and increasing (checked while parsing): compare files'
    # [first start, last end) spans, in blob order (a producer writes files in TOC order: already
    # sorted, which makes the sort cheap).
    spans = [(e.chunks[0].start, e.chunks[-1].end, e.name) for e in entries if e.chunks]
    spans.sort()
    for (_, end, name), (start, _, other) in zip(spans, spans[1:], strict=False):
        if start < end:
            raise IntegrityError(f"zstd:chunked TOC: ranges of {name!r} and {other!r} overlap")
