"""bzip2 and xz layers are decompressed, as containers/storage and containers/image decompress them.

containers/image's ``compression.DetectCompression`` and containers/storage's
``archive.DecompressStream`` (which applies a pulled layer) recognise bzip2 and xz by their magic,
whatever the media type says, so podman pulls such layers.  Concatenated streams are read to the
end (Go's ``compress/bzip2`` and the xz decoder read every stream), the output is bounded as for
gzip and zstd, and anything that is not a whole stream is corrupt.  lz4 stays refused: neither
reads it.
"""

from __future__ import annotations

import bz2
import io
import lzma
import struct
import zlib
from pathlib import Path

import pytest

from imgextract.errors import DecompressionLimit, IntegrityError
from imgextract.layers.applier import Applier, Limits
from imgextract.layers.decompress import open_decompressed
from imgextract.layers.pipeline import apply_blob
from tests.unit.layers.layerkit import GZIP_MT, TAR_MT, f, sha256, tar_bytes

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
COMPRESS = {"bzip2": bz2.compress, "xz": lambda data: lzma.compress(data, format=lzma.FORMAT_XZ)}


def read_all(blob: bytes, limit: int | None = None, n: int = -1) -> bytes:
    stream = open_decompressed(io.BytesIO(blob), GZIP_MT, limit=limit)
    if n < 0:
        return stream.read()
    parts = []
    while chunk := stream.read(n):
        assert len(chunk) <= n
        parts.append(chunk)
    return b"".join(parts)


@pytest.mark.parametrize("kind", sorted(COMPRESS))
@pytest.mark.parametrize("n", [-1, 1, 4097, 1 << 20])
def test_a_layer_is_decompressed_whatever_its_media_type_says(kind: str, n: int) -> None:
    data = PAYLOAD if n != 1 else PAYLOAD[:5000]
    assert read_all(COMPRESS[kind](data), n=n) == data


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_concatenated_streams_are_all_read(kind: str) -> None:
    compress = COMPRESS[kind]
    blob = compress(PAYLOAD[:1000]) + compress(b"") + compress(PAYLOAD)
    assert read_all(blob) == PAYLOAD[:1000] + PAYLOAD


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_truncated_or_trailing_data_is_corrupt(kind: str) -> None:
    blob = COMPRESS[kind](PAYLOAD)
    for bad in (blob[: len(blob) // 2], blob[:-1], blob + b"garbage!", blob + b"\0" * 3):
        with pytest.raises(IntegrityError):
            read_all(bad)


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_the_output_bound_holds(kind: str) -> None:
    bomb = COMPRESS[kind](b"\0" * (16 << 20))
    with pytest.raises(DecompressionLimit):
        read_all(bomb, limit=1 << 20)


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_a_layer_applies_and_its_diff_id_is_checked(kind: str, tmp_path: Path) -> None:
    tar = tar_bytes([f("etc/hello", b"hello\n")])
    blob = COMPRESS[kind](tar)
    for diff_id, ok in ((sha256(tar), True), (sha256(b"other"), False)):
        root = tmp_path / str(ok)
        root.mkdir()

        def apply(root: Path = root, diff_id: str = diff_id) -> None:
            apply_blob(
                io.BytesIO(blob),
                digest=sha256(blob),
                size=len(blob),
                media_type=TAR_MT,
                diff_id=diff_id,
                applier=Applier(root, None, Limits()),
            )

        if ok:
            apply()
            assert (root / "etc" / "hello").read_bytes() == b"hello\n"
        else:
            with pytest.raises(IntegrityError):
                apply()


def test_lz4_stays_refused() -> None:
    with pytest.raises(IntegrityError, match="unsupported layer compression lz4"):
        read_all(b"\x04\x22\x4d\x18" + b"\0" * 100)


def _with_dictionary(blob: bytes, size_code: int) -> bytes:
    """``blob`` (one xz stream, one LZMA2 block) declaring another dictionary size (0..40)."""
    header_size = (blob[12] + 1) * 4
    header = bytearray(blob[12 : 12 + header_size])
    assert header[1] == 0 and header[2:4] == b"\x21\x01"  # no size fields; LZMA2, one property byte
    header[4] = size_code
    header[-4:] = struct.pack("<I", zlib.crc32(bytes(header[:-4])))
    return blob[:12] + bytes(header) + blob[12 + header_size :]


def test_an_xz_dictionary_beyond_the_memory_bound_is_refused_before_it_is_allocated() -> None:
    """A few hundred bytes may declare a 4 GiB dictionary, which liblzma allocates before decoding:
    the decoder's memory is bounded (256 MiB, four times what ``xz -9`` needs)."""
    blob = COMPRESS["xz"](b"hello world\n" * 100)
    assert read_all(_with_dictionary(blob, 22)) == b"hello world\n" * 100  # 4 MiB, as written
    with pytest.raises(IntegrityError, match="xz"):
        read_all(_with_dictionary(blob, 40))


def test_xz_stream_padding_is_skipped_in_fours() -> None:
    """The xz format allows stream padding, NUL bytes in multiples of four, between and after
    streams; ``xz -d`` (which containers/storage's ``DecompressStream`` runs for xz) skips it."""
    compress = COMPRESS["xz"]
    one, two = compress(PAYLOAD[:1000]), compress(PAYLOAD[:77])
    assert read_all(one + b"\0" * 4) == PAYLOAD[:1000]
    assert read_all(one + b"\0" * 8 + two + b"\0" * 12) == PAYLOAD[:1000] + PAYLOAD[:77]
    for bad in (one + b"\0" * 5, one + b"\0" * 2 + two, one + b"\0" * 4 + b"x"):
        with pytest.raises(IntegrityError):
            read_all(bad)
    with pytest.raises(IntegrityError):
        read_all(COMPRESS["bzip2"](b"abc") + b"\0" * 4)  # bzip2 has no such padding


class _Counting:
    """A real decoder that counts the compressed bytes handed to it."""

    fed = 0

    def __init__(self, decoder: object) -> None:
        self._d = decoder

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        _Counting.fed += len(data)
        return self._d.decompress(data, max_length)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._d, name)


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_many_tiny_streams_hand_each_byte_to_a_decoder_a_bounded_number_of_times(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A blob of thousands of empty streams (14 bytes each for bzip2, 32 for xz) costs work in
    proportion to its size: each stream's decoder gets a bounded piece of what follows its start,
    not the rest of a 1 MiB read (copied again by every stream's decoder as its unused data, so
    that a 1 MiB blob of such streams took seconds of CPU and each further MiB as much)."""
    real_bz2, real_lzma = bz2.BZ2Decompressor, lzma.LZMADecompressor
    monkeypatch.setattr(bz2, "BZ2Decompressor", lambda *a, **k: _Counting(real_bz2(*a, **k)))
    monkeypatch.setattr(lzma, "LZMADecompressor", lambda *a, **k: _Counting(real_lzma(*a, **k)))
    streams = COMPRESS[kind](b"") * 4000 + COMPRESS[kind](b"end")
    _Counting.fed = 0
    assert read_all(streams) == b"end"
    assert len(streams) <= _Counting.fed <= 4 * len(streams)
