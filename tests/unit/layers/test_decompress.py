from __future__ import annotations

import gzip
import io
import struct
import zlib

import pytest
import zstandard

from imgextract.errors import IntegrityError, LimitExceeded
from imgextract.layers.applier import Applier, Limits
from imgextract.layers.decompress import open_decompressed
from imgextract.layers.pipeline import apply_blob
from tests.unit.layers.layerkit import GZIP_MT, TAR_MT, ZSTD_MT, f, sha256, tar_bytes

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, not very compressible per member
SKIP = struct.pack("<II", 0x184D2A50, 7) + b"skipped"


def read_all(blob: bytes, media_type: str = GZIP_MT, limit: int | None = None) -> bytes:
    return open_decompressed(io.BytesIO(blob), media_type, limit=limit).read()


def test_gzip_multi_member_all_members() -> None:
    blob = gzip.compress(PAYLOAD[:1000]) + gzip.compress(b"") + gzip.compress(PAYLOAD)
    assert read_all(blob) == PAYLOAD[:1000] + PAYLOAD


@pytest.mark.parametrize("sizes", [[10240], [1 << 20], [512, 1 << 20, 7], [1, 3, 100_000]])
@pytest.mark.parametrize("kind", ["gzip-members", "gzip-many-small-members", "zstd-frames"])
def test_any_read_sizes_give_exactly_the_content(sizes: list[int], kind: str) -> None:
    data = PAYLOAD[:300_000] if sizes[0] < 10 else PAYLOAD
    if kind == "gzip-members":
        blob = gzip.compress(data[:1536]) + gzip.compress(data[1536:200_000]) + gzip.compress(data[200_000:])
    elif kind == "gzip-many-small-members":
        blob = b"".join(gzip.compress(data[i : i + 5000]) for i in range(0, len(data), 5000))
    else:
        c = zstandard.ZstdCompressor()
        blob = b"".join(SKIP + c.compress(data[i : i + 70_000]) for i in range(0, len(data), 70_000))
    s = open_decompressed(io.BytesIO(blob), GZIP_MT)
    parts, i = [], 0
    while chunk := s.read(sizes[i % len(sizes)]):
        assert len(chunk) <= sizes[i % len(sizes)]
        parts.append(chunk)
        i += 1
    assert b"".join(parts) == data


def test_zstd_all_frames_and_skippable_frames() -> None:
    c = zstandard.ZstdCompressor(write_checksum=True)
    blob = SKIP + c.compress(b"one") + SKIP + c.compress(PAYLOAD) + SKIP
    assert read_all(blob, ZSTD_MT) == b"one" + PAYLOAD


def test_zstd_streamed_frame_without_content_size() -> None:
    c = zstandard.ZstdCompressor()
    out = io.BytesIO()
    with c.stream_writer(out, closefd=False) as w:
        w.write(PAYLOAD)
    assert read_all(out.getvalue(), ZSTD_MT) == PAYLOAD


@pytest.mark.parametrize(
    ("blob", "media_type"),
    [
        (gzip.compress(b"x" * 100)[:-4], GZIP_MT),
        (gzip.compress(b"x" * 100) + b"junk", GZIP_MT),
        (gzip.compress(b"x" * 100) + b"\0\0\0\0", GZIP_MT),
        (zstandard.ZstdCompressor().compress(b"x" * 100)[:-2], ZSTD_MT),
        (zstandard.ZstdCompressor().compress(b"x" * 100) + b"junk", ZSTD_MT),
        (zstandard.ZstdCompressor().compress(b"x" * 100) + SKIP[:6], ZSTD_MT),
        (b"\x1f\x8b\x08\x00" + b"\xff" * 50, GZIP_MT),
    ],
)
def test_truncated_corrupt_or_trailing_junk_is_integrity_error(blob: bytes, media_type: str) -> None:
    with pytest.raises(IntegrityError):
        read_all(blob, media_type)


@pytest.mark.parametrize(
    ("declared", "blob", "expected"),
    [
        (TAR_MT, gzip.compress(b"hello"), b"hello"),  # says tar, is gzip
        (GZIP_MT, b"plain tar bytes", b"plain tar bytes"),  # says gzip, is not
        (GZIP_MT, zstandard.ZstdCompressor().compress(b"z"), b"z"),  # says gzip, is zstd
        ("application/vnd.docker.image.rootfs.diff.tar.gzip", gzip.compress(b"d"), b"d"),
        ("application/octet-stream", gzip.compress(b"o"), b"o"),
    ],
)
def test_magic_wins_over_media_type(declared: str, blob: bytes, expected: bytes) -> None:
    assert read_all(blob, declared) == expected


@pytest.mark.parametrize(
    "media_type",
    [
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    ],
)
def test_foreign_layers_refused_clearly(media_type: str) -> None:
    with pytest.raises(IntegrityError, match="non-distributable"):
        read_all(gzip.compress(b"x"), media_type)


def test_unsupported_compression_refused() -> None:
    with pytest.raises(IntegrityError, match="unsupported layer compression lz4"):
        read_all(b"\x04\x22\x4d\x18" + b"\0" * 100)


@pytest.mark.parametrize(("magic", "kind"), [(b"BZh91AY", "bzip2"), (b"\xfd7zXZ\x00\x00", "xz")])
def test_a_corrupt_bzip2_or_xz_stream_is_refused(magic: bytes, kind: str) -> None:
    with pytest.raises(IntegrityError, match=f"corrupt {kind} stream"):
        read_all(magic + b"\0" * 100)


@pytest.mark.parametrize(
    ("blob", "mt"),
    [
        (gzip.compress(PAYLOAD), GZIP_MT),
        (zstandard.ZstdCompressor().compress(PAYLOAD), ZSTD_MT),
        (PAYLOAD, TAR_MT),
    ],
)
def test_limit_applies_to_every_format(blob: bytes, mt: str) -> None:
    assert read_all(blob, mt, limit=len(PAYLOAD)) == PAYLOAD
    with pytest.raises(LimitExceeded):
        read_all(blob, mt, limit=len(PAYLOAD) - 1)


def test_reads_are_bounded() -> None:
    s = open_decompressed(io.BytesIO(gzip.compress(b"\0" * (8 << 20))), GZIP_MT)
    assert all(len(s.read(1000)) == 1000 for _ in range(10))
    assert len(s.read(4 << 20)) <= 4 << 20


class GzipBomb:
    """A gzip member that inflates to ``total`` zero bytes, produced lazily from a ~1 KiB pattern
    (deflate's ratio is capped near 1032:1, so 10 GB needs ~10 MB of input, never held at once)."""

    def __init__(self, total: int = 10 * 10**9) -> None:
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        chunk = b"\0" * (1 << 20)
        self._head = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
        self._pattern = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
        assert self._pattern == c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
        self._left = total // len(chunk)
        self._buf = self._head
        self.served = 0

    def read(self, n: int = -1) -> bytes:
        while len(self._buf) < max(n, 1) and self._left:
            self._buf += self._pattern * min(self._left, 64)
            self._left -= min(self._left, 64)
        data, self._buf = self._buf[:n], self._buf[n:]
        self.served += len(data)
        return data


def test_gzip_bomb_stops_at_the_cap() -> None:
    bomb = GzipBomb()
    assert len(bomb._pattern) < 10_000
    with pytest.raises(LimitExceeded):
        open_decompressed(bomb, GZIP_MT, limit=64 << 20).read()
    assert bomb.served <= 2 << 20  # stopped long before the 10 GB (~10 MB compressed) were consumed


def test_gzip_bomb_through_the_pipeline_even_after_the_tar_end(tmp_path) -> None:
    # all zeros: the tar reader stops at its first (zero) block; draining for the diff_id hits the cap
    applier = Applier(tmp_path, None, Limits(max_uncompressed_bytes=32 << 20))
    with pytest.raises(LimitExceeded):
        apply_blob(
            GzipBomb(),  # type: ignore[arg-type]  # a stream that only has read()
            digest="sha256:" + "0" * 64,
            size=None,
            media_type=GZIP_MT,
            diff_id="sha256:" + "0" * 64,
            applier=applier,
        )
    applier.close()


def test_zstd_bomb_small_blob_stops_at_the_cap() -> None:
    blob = zstandard.ZstdCompressor(level=3).compress(b"\0" * (128 << 20))
    assert len(blob) < 20_000
    with pytest.raises(LimitExceeded):
        read_all(blob, ZSTD_MT, limit=16 << 20)


def test_cap_is_shared_by_all_layers_of_an_applier(tmp_path) -> None:
    tar = tar_bytes([f("a", b"x" * 5000)])
    applier = Applier(tmp_path, None, Limits(max_uncompressed_bytes=int(len(tar) * 1.5)))
    blob = gzip.compress(tar)
    apply_blob(
        io.BytesIO(blob),
        digest=sha256(blob),
        size=len(blob),
        media_type=GZIP_MT,
        diff_id=sha256(tar),
        applier=applier,
    )
    with pytest.raises(LimitExceeded):
        apply_blob(
            io.BytesIO(blob),
            digest=sha256(blob),
            size=len(blob),
            media_type=GZIP_MT,
            diff_id=sha256(tar),
            applier=applier,
        )
    applier.close()


@pytest.mark.parametrize("source_verifies", [False, True])
def test_pipeline_checks_diff_id_and_size_whoever_hashes_the_blob(tmp_path, source_verifies: bool) -> None:
    # source_verifies: the stream vouches for the blob digest (a streamed download), not for the tar
    tar = tar_bytes([f("a", b"x" * 300_000), f("b", b"y" * 10)])
    blob = gzip.compress(tar)
    good = {"digest": sha256(blob), "size": len(blob), "media_type": GZIP_MT, "diff_id": sha256(tar)}
    for bad in ({"diff_id": sha256(tar + b"\0")}, {"size": len(blob) + 1}):
        root = tmp_path / f"bad-{next(iter(bad))}"
        root.mkdir()
        applier = Applier(root, None, Limits())
        with pytest.raises(IntegrityError):
            apply_blob(io.BytesIO(blob), applier=applier, source_verifies=source_verifies, **{**good, **bad})  # type: ignore[arg-type]
        applier.close()
    (tmp_path / "ok").mkdir()
    applier = Applier(tmp_path / "ok", None, Limits())
    stats = apply_blob(io.BytesIO(blob), applier=applier, source_verifies=source_verifies, **good)  # type: ignore[arg-type]
    applier.close()
    assert (tmp_path / "ok" / "a").read_bytes() == b"x" * 300_000
    assert stats.compressed_size == len(blob) and stats.uncompressed_size == len(tar)


@pytest.mark.parametrize("shape", ["many small files", "big compressible files"])
def test_pipeline_checks_a_many_chunk_diff_id_from_a_verified_source(tmp_path, shape: str) -> None:
    """The tar's digest is shared between the inflate thread and the applier's (whichever would
    wait hashes): over many 1 MiB chunks it is still the digest of every byte, in order."""
    if shape == "many small files":
        entries = [f(f"d{i % 7}/f{i}", bytes([i % 251]) * (i % 3000)) for i in range(4000)]
    else:
        entries = [f(f"big{i}", bytes([i]) * 3_000_000) for i in range(4)]
    tar = tar_bytes(entries)
    assert len(tar) > 5 * 1024 * 1024
    blob = gzip.compress(tar, compresslevel=1)
    good = {"digest": sha256(blob), "size": len(blob), "media_type": GZIP_MT, "diff_id": sha256(tar)}
    (tmp_path / "bad").mkdir()
    applier = Applier(tmp_path / "bad", None, Limits())
    with pytest.raises(IntegrityError, match="digest mismatch"):
        bad = {**good, "diff_id": sha256(tar[:-1])}
        apply_blob(io.BytesIO(blob), applier=applier, source_verifies=True, **bad)  # type: ignore[arg-type]
    applier.close()
    (tmp_path / "ok").mkdir()
    applier = Applier(tmp_path / "ok", None, Limits())
    stats = apply_blob(io.BytesIO(blob), applier=applier, source_verifies=True, **good)  # type: ignore[arg-type]
    applier.finalize()
    assert stats.uncompressed_size == len(tar) and stats.diff_id == good["diff_id"]


def test_many_tiny_gzip_members_hand_each_byte_to_the_inflater_a_bounded_number_of_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A blob of thousands of empty 20-byte gzip members costs work in proportion to its size:
    each member's inflater gets a small piece at the member's start, not the rest of a 1 MiB
    read (which it copied back out as unused data for the next member, and so on: seconds of CPU
    per MiB of a hostile layer)."""
    from imgextract.layers import decompress

    real = decompress._inflate
    fed = [0]

    class Counting:
        def __init__(self, d: object) -> None:
            self._d = d

        def decompress(self, data: bytes, max_length: int = 0) -> bytes:
            fed[0] += len(data)
            return self._d.decompress(data, max_length)  # type: ignore[attr-defined]

        def __getattr__(self, name: str) -> object:
            return getattr(self._d, name)

    class Inflate:
        error = real.error

        @staticmethod
        def decompressobj(wbits: int) -> Counting:
            return Counting(real.decompressobj(wbits))

    monkeypatch.setattr(decompress, "_inflate", Inflate)
    blob = gzip.compress(b"") * 4000 + gzip.compress(PAYLOAD)
    assert read_all(blob) == PAYLOAD
    assert len(blob) <= fed[0] <= 4 * len(blob)
