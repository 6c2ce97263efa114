"""Checks of a zstd:chunked file's data against its TOC entry: each chunk's digest and the file
digest (``ContentMismatch`` if one differs), with direct hash constructors for the usual
algorithms."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from imgextract.errors import ContentMismatch
from imgextract.layers.chunked.interfaces import Piece
from imgextract.layers.chunked.toc import Chunk, TocEntry


def check_file(entry: TocEntry, parts: Sequence[Piece], *, chunks: bool = False) -> None:
    """``parts`` must hash to the file digest, and with ``chunks`` (``parts`` are the file's
    chunks, one each, as decompressed) each part to its chunk digest too (``ContentMismatch``
    if not).  A one-chunk file whose chunk digest uses the file digest's algorithm is hashed
    once and compared with both."""
    digest = entry.digest
    assert digest is not None
    if chunks:
        if len(parts) == 1:
            chunk_digest = entry.chunks[0].digest
            if chunk_digest is None or chunk_digest.split(":", 1)[0] == digest.split(":", 1)[0]:
                actual = f"{digest.split(':', 1)[0]}:{_hasher(digest)(parts[0]).hexdigest()}"
                if chunk_digest is not None and actual != chunk_digest:
                    raise ContentMismatch(
                        f"zstd:chunked file {entry.name!r}: chunk digest mismatch (got {actual})"
                    )
                if actual != digest:
                    raise ContentMismatch(f"zstd:chunked file {entry.name!r}: digest mismatch (got {actual})")
                return
        _check_chunks(entry, parts)
    h = _hasher(digest)()
    for part in parts:
        h.update(part)
    _compare(entry, digest, h, "digest")


def _check_chunks(entry: TocEntry, parts: Sequence[Piece]) -> None:
    sha256 = hashlib.sha256
    for c, part in zip(entry.chunks, parts, strict=True):
        digest = c.digest
        if digest is None:
            continue
        # sha256 (what producers write) without the general lookup; anything else, or a
        # mismatch, through _compare (which raises on a mismatch)
        if not digest.startswith("sha256:") or sha256(part).hexdigest() != digest[7:]:
            _compare(entry, digest, _hasher(digest)(part), "chunk digest")


_HASHERS: dict[str, Callable[..., hashlib._Hash]] = {
    "sha256": hashlib.sha256,  # direct constructors: hashlib.new looks the name up every time
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}


def _hasher(digest: str) -> Callable[..., hashlib._Hash]:
    algo = digest.split(":", 1)[0]
    return _HASHERS.get(algo) or (lambda *data: hashlib.new(algo, *data))


def _compare(entry: TocEntry, expected: str, h: hashlib._Hash, what: str) -> None:
    actual = f"{expected.split(':', 1)[0]}:{h.hexdigest()}"
    if actual != expected:
        raise ContentMismatch(f"zstd:chunked file {entry.name!r}: {what} mismatch (got {actual})")


def _check_chunk(entry: TocEntry, chunk: Chunk, data: bytes) -> None:
    if chunk.digest is not None:
        _compare(entry, chunk.digest, _hasher(chunk.digest)(data), "chunk digest")


def _digest_of(data: bytes, like: str) -> str:
    algo = like.split(":", 1)[0]
    return f"{algo}:{hashlib.new(algo, data).hexdigest()}"
