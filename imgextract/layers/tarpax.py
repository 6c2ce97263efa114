"""PAX extended header records (``x``), read strictly and as Go's ``archive/tar`` reads them:
``"%d %s=%s\\n"`` records in linear time, the keywords a member's metadata takes (``path``,
``linkpath``, ``size``, ``mtime``), numbers as ``strconv.ParseInt`` and times as ``parsePAXTime``
read them, and the records Go checks without using them (``uid``, ``gid``, ``atime``, ``ctime``).
GNU sparse records are refused.  ``TarReader`` reads the extension headers before a member (PAX
and GNU long names) and puts the fields over its header's."""

from __future__ import annotations

import re
from typing import Any

from imgextract.errors import IntegrityError
from imgextract.layers.member import ExactTime

_GO_INT = re.compile(rb"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_NAME_KEYWORDS = frozenset({"path", "linkpath", "uname", "gname"})  # values must not hold a NUL


def _parse_pax(data: bytes) -> dict[str, bytes]:
    """``"%d %s=%s\\n"`` records, strictly and in linear time."""
    out: dict[str, bytes] = {}
    pos, end = 0, len(data)
    while pos < end:
        sp = data.find(b" ", pos, end)  # (the length is read as Go's ParseInt reads it)
        digits = data[pos:sp] if sp > pos else b""
        length = _parse_int64(digits)
        if length is None:
            raise IntegrityError("malformed PAX record length")
        if length < 5 or length <= len(digits) + 1 or pos + length > end or data[pos + length - 1] != 0x0A:
            raise IntegrityError("malformed PAX record")
        record = data[sp + 1 : pos + length - 1]
        eq = record.find(b"=")
        if eq <= 0:
            raise IntegrityError("malformed PAX record keyword")
        try:
            key = record[:eq].decode("utf-8")
        except UnicodeDecodeError:
            raise IntegrityError("PAX keyword is not UTF-8") from None
        value = record[eq + 1 :]
        if key in _NAME_KEYWORDS:  # (Go's validPAXRecord, record by record)
            if b"\0" in value:
                raise IntegrityError(f"PAX {key} contains a NUL byte")
        elif "\0" in key:
            raise IntegrityError("PAX keyword contains a NUL byte")
        out[key] = value
        pos += length
    return out


def _pax_fields(records: dict[str, bytes]) -> dict[str, Any]:
    """The records a member's metadata takes, decoded and checked."""
    if any(k.startswith("GNU.sparse.") for k in records):
        raise IntegrityError("GNU sparse members are not supported")
    out: dict[str, Any] = {}
    # a record with an empty value keeps the header's field (Go's mergePAX skips it)
    for key, attr in (("path", "name"), ("linkpath", "linkname")):
        value = records.get(key)
        if value:
            out[attr] = value.decode("utf-8", "surrogateescape")
    size = records.get("size")
    if size:
        out["size"] = _go_int(size, "size")  # (negative: refused below for entries with data)
    for key in ("uid", "gid"):  # not used, but Go refuses the header when they do not parse
        value = records.get(key)
        if value:
            _go_int(value, key)
    for key in ("atime", "ctime"):  # the same for times not used
        value = records.get(key)
        if value:
            _pax_time(value, key)
    mtime = records.get("mtime")
    if mtime:
        out["mtime"] = _pax_time(mtime, "mtime")
    return out


def _parse_int64(value: bytes) -> int | None:
    """``value`` as Go's ``strconv.ParseInt(v, 10, 64)`` reads it (an optional sign, ASCII digits,
    any number of leading zeros, within int64); None if it does not."""
    if _GO_INT.fullmatch(value) is None:
        return None
    magnitude = value.lstrip(b"+-").lstrip(b"0")
    if len(magnitude) > 19:  # (and int() of thousands of digits would raise)
        return None
    n = int(magnitude or b"0")
    n = -n if value[:1] == b"-" else n
    return n if _INT64_MIN <= n <= _INT64_MAX else None


def _go_int(value: bytes, key: str) -> int:
    """A PAX number as Go reads it (``_parse_int64``); an ``IntegrityError`` if it does not."""
    n = _parse_int64(value)
    if n is None:
        raise IntegrityError(f"invalid PAX {key} {value[:40].decode('utf-8', 'replace')!r}")
    return n


def _pax_time(value: bytes, key: str) -> ExactTime:
    """A PAX time as Go's ``parsePAXTime`` reads it: whole seconds (``ParseInt``), then optionally
    ``.`` and digits, of which the first nine are the nanoseconds (the rest are cut off)."""
    seconds, _, fraction = value.partition(b".")
    whole = _go_int(seconds, key)
    if fraction.translate(None, b"0123456789"):
        raise IntegrityError(f"invalid PAX {key} {value.decode('utf-8', 'replace')!r}")
    nanos = int(fraction[:9].ljust(9, b"0")) if fraction else 0
    return ExactTime.from_ns(whole * 1_000_000_000 + (-nanos if seconds.startswith(b"-") else nanos))
