"""How one file is stored in a ConfigMap, and back.

Three encodings, as they appear in the ConfigMap's JSON/YAML (wire) form:

- ``data``: the file as a UTF-8 string.
- ``binaryData`` (plain): Kubernetes' own binaryData, i.e. base64(file) on the wire; a
  mounted ConfigMap volume yields the exact bytes.
- ``binaryData`` with annotation ``olm.contentEncoding: gzip+base64`` (opm ``-z``): the
  stored bytes are base64(gzip(file)), so the wire value is base64(base64(gzip(file))).
  This is what OLM's ConfigMap loader (``encoding.GzipBase64Decode`` over the already
  decoded ``[]byte``) expects.

The size Kubernetes checks (1 MiB for data + binaryData) counts binaryData decoded once:
``len(base64(gzip(file)))`` for the gzip encoding.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import zlib
from dataclasses import dataclass
from typing import Literal

from imgextract.errors import InvalidBundleError, LimitExceeded

Field = Literal["data", "binaryData"]
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Stored:
    """One file as stored: which field, the wire value, and the bytes Kubernetes counts."""

    field: Field
    value: str
    size: int


def as_text(content: bytes) -> str | None:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return None


def gzip_bytes(content: bytes) -> bytes:
    """Deterministic gzip: mtime 0, no file name, level 9."""
    return gzip.compress(content, compresslevel=9, mtime=0)


def encode_plain(content: bytes) -> Stored:
    text = as_text(content)
    if text is not None:
        return Stored("data", text, len(content))
    return Stored("binaryData", base64.b64encode(content).decode("ascii"), len(content))


def encode_gzip_base64(content: bytes) -> Stored:
    stored = base64.b64encode(gzip_bytes(content))
    return Stored("binaryData", base64.b64encode(stored).decode("ascii"), len(stored))


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidBundleError(f"{what}: binaryData value is not valid base64") from None


def _gunzip(data: bytes, what: str, max_bytes: int) -> bytes:
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            while chunk := gz.read(1 << 16):
                out += chunk
                if len(out) > max_bytes:
                    raise LimitExceeded(f"{what}: gzip content expands beyond {max_bytes} bytes")
    except (OSError, EOFError, zlib.error):
        raise InvalidBundleError(f"{what}: binaryData value is not valid gzip+base64 content") from None
    return bytes(out)


def decode_binary(value: str, *, gzip_base64: bool, what: str, max_bytes: int) -> bytes:
    """The file bytes of a binaryData wire value.

    With ``gzip_base64`` the stored bytes are base64(gzip); a value whose stored bytes are
    already gzip (single base64 on the wire, as some writers produce) is accepted too.
    """
    stored = _b64(value, what)
    if not gzip_base64:
        return stored
    if not stored.startswith(GZIP_MAGIC):
        stored = _b64(stored.decode("ascii", errors="replace"), what)
    return _gunzip(stored, what, max_bytes)
