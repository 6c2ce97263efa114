"""zstd:chunked: TOC parsing and verification, the chunk plan, and partial application.

The blobs are written by skopeo (``--dest-compress-format zstd:chunked``, oci -> oci), the producer
users have; the hostile TOCs are hand-made (no producer writes them) and say so.  Partial
application is compared with full application of the same tar through the ordinary pipeline.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import zstandard
from regfix.chunked import blob_path, convert

from imgextract.errors import IntegrityError
from imgextract.layers.applier import Applier
from imgextract.layers.chunked import apply_chunked, parse_toc, toc_location
from imgextract.layers.chunked.assemble import plan_files
from imgextract.layers.chunked.plan import plan_ranges
from imgextract.layers.chunked.toc import (
    FOOTER_SIZE,
    Chunk,
    Toc,
    TocEntry,
    TocLocation,
    check_footer,
    parse_footer,
)
from imgextract.layers.member import Member
from imgextract.layers.selection import PathSelection
from imgextract.registry.ranges import coalesce
from tests.unit.layers.layerkit import (
    apply_tars,
    d,
    f,
    hard,
    opq,
    snapshot,
    sym,
    tar_bytes,
    wh,
    write_oci_layout,
)

RNG = bytes(
    hashlib.sha256(str(i).encode()).digest()[j % 32] ^ (i * 7 % 256) for i in range(2000) for j in range(160)
)


def go_style(tar: bytes) -> bytes:
    """The tar as Go writes it: members, then exactly two zero blocks (what zstd:chunked keeps)."""
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r") as tf:
        tf.getmembers()
        end = tf.offset
    return tar[:end] + b"\0" * 1024


class MemorySource:
    """A RangeSource over bytes in memory that counts what was read."""

    def __init__(self, blob: bytes, *, tamper: int | None = None) -> None:
        self.blob = bytearray(blob)
        if tamper is not None:
            self.blob[tamper] ^= 0xFF
        self.read_bytes = 0
        self.prepared: list[tuple[int, int]] = []
        self.expected: list[tuple[int, int]] = []

    def prepare(self, ranges: Sequence[tuple[int, int]]) -> None:
        self.prepared = list(ranges)

    def expect(self, start: int, end: int) -> None:
        self.expected.append((start, end))

    def open_range(self, start: int, end: int) -> io.BytesIO:
        self.read_bytes += end - start
        return io.BytesIO(bytes(self.blob[start:end]))


class Chunked:
    def __init__(self, blob: bytes, annotations: dict[str, str], tar: bytes) -> None:
        self.blob, self.annotations, self.tar = blob, annotations, tar

    def toc(self) -> Toc:
        loc = toc_location(self.annotations)
        assert loc is not None
        return parse_toc(self.blob[loc.offset : loc.offset + loc.length], loc)


def skopeo_chunked(tmp: Path, layers: Sequence[bytes]) -> list[Chunked]:
    """Convert gzip layers to zstd:chunked with skopeo; the layers must be Go-style tars."""
    src, dest = tmp / "src", tmp / "dest"
    write_oci_layout(src, layers, tag="t")
    manifest = convert(src, "t", dest)
    out = []
    for desc, tar in zip(manifest["layers"], layers, strict=True):
        assert desc["mediaType"] == "application/vnd.oci.image.layer.v1.tar+zstd"
        out.append(Chunked(blob_path(dest, desc["digest"]).read_bytes(), desc["annotations"], tar))
    return out


LOWER = [
    d("etc"),
    f("etc/keep", "lower keep"),
    f("etc/gone", "whited out"),
    d("opaque"),
    f("opaque/old", "hidden by opaque"),
    d("real/configs/pkg0"),
    f("real/configs/pkg0/catalog.json", "pkg0" * 1000),
    sym("configs", "real/configs"),
]
UPPER = [
    d("configs/pkg1"),
    f("configs/pkg1/catalog.json", RNG[:150_000]),
    f("configs/pkg1/small.yaml", "a: 1\n"),
    f("configs/pkg2/catalog.json", RNG[150_000:], mode=0o755),
    hard("configs/pkg2/link.json", "configs/pkg2/catalog.json"),
    sym("configs/pkg2/rel", "../pkg1/small.yaml"),
    f("etc/empty"),
    wh("etc/gone"),
    opq("opaque"),
    f("opaque/new", "same layer"),
    f("bulk/data.bin", RNG[:200_000]),
]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> list[Chunked]:
    tars = [go_style(tar_bytes(LOWER)), go_style(tar_bytes(UPPER))]
    return skopeo_chunked(tmp_path_factory.mktemp("chunked"), tars)


def apply_partial(root: Path, layers: list[Chunked], paths: list[str] | None) -> list[MemorySource]:
    applier = Applier(root, PathSelection(paths))
    sources = []
    try:
        for layer in layers:
            src = MemorySource(layer.blob)
            apply_chunked(layer.toc(), src, applier, paths)
            sources.append(src)
        applier.finalize()
    except BaseException:
        applier.close()
        raise
    return sources


# -- TOC ---------------------------------------------------------------------------------------


def test_skopeo_writes_the_older_annotation_spelling_and_a_matching_footer(image: list[Chunked]) -> None:
    layer = image[1]
    assert any(k.startswith("io.containers.zstd-chunked.") for k in layer.annotations)
    loc = toc_location(layer.annotations)
    assert loc is not None and loc.offset + loc.length + FOOTER_SIZE == len(layer.blob)
    check_footer(layer.blob[-FOOTER_SIZE:], loc)
    assert parse_footer(layer.blob[-FOOTER_SIZE:]).offset == loc.offset
    newer = {k.replace("io.containers.", "io.github.containers."): v for k, v in layer.annotations.items()}
    assert toc_location(newer) == loc
    names = {e.name: e for e in layer.toc().entries}
    assert names["configs/pkg2/link.json"].type == "hardlink"
    assert len(names["configs/pkg1/catalog.json"].chunks) > 1  # skopeo split it: chunk digests checked


def test_toc_checksum_mismatch_is_refused(image: list[Chunked]) -> None:
    loc = toc_location(image[1].annotations)
    assert loc is not None
    bad = TocLocation(loc.offset, loc.length, loc.uncompressed_length, "sha256:" + "0" * 64)
    with pytest.raises(IntegrityError, match="checksum mismatch"):
        parse_toc(image[1].blob[loc.offset : loc.offset + loc.length], bad)


def test_footer_disagreeing_with_annotations_is_refused(image: list[Chunked]) -> None:
    loc = toc_location(image[1].annotations)
    assert loc is not None
    moved = TocLocation(loc.offset - 1, loc.length, loc.uncompressed_length, loc.checksum)
    with pytest.raises(IntegrityError, match="disagree"):
        check_footer(image[1].blob[-FOOTER_SIZE:], moved)


def handmade_toc(entries: list[dict[str, object]], data_end: int = 10_000) -> tuple[bytes, TocLocation]:
    """A TOC no producer writes (hostile input), with a correct checksum."""
    raw = json.dumps({"version": 1, "entries": entries}).encode()
    comp = zstandard.ZstdCompressor().compress(raw)
    return comp, TocLocation(data_end, len(comp), len(raw), "sha256:" + hashlib.sha256(comp).hexdigest())


DIGEST = "sha256:" + "a" * 64


def _joined(pieces: Any) -> bytes:
    """A file's data as the fetcher hands it over (pieces, or lists of a file's chunks)."""
    return b"".join(b"".join(p) if isinstance(p, list) else p for p in pieces)


_FILE = {
    "type": "reg",
    "name": "a",
    "size": 4,
    "digest": DIGEST,
    "offset": 0,
    "endOffset": 50,
    "chunkSize": 2,
}
_CHUNK = {"type": "chunk", "name": "a", "offset": 20, "chunkOffset": 2, "chunkSize": 2}


@pytest.mark.parametrize(
    "entries",
    [
        [{"type": "reg", "name": "../escape", "size": 1, "digest": DIGEST, "offset": 0, "endOffset": 5}],
        [{"type": "dir", "name": "a/../../b"}],
        [{"type": "hardlink", "name": "x", "linkName": "../../etc/passwd"}],
        [
            {"type": "reg", "name": "a", "size": 1, "digest": DIGEST, "offset": 0, "endOffset": 50},
            {"type": "reg", "name": "b", "size": 1, "digest": DIGEST, "offset": 40, "endOffset": 60},
        ],
        [
            {
                "type": "reg",
                "name": "past-the-data",
                "size": 1,
                "digest": DIGEST,
                "offset": 0,
                "endOffset": 20_000,
            }
        ],
        [_FILE, {**_CHUNK, "offset": 60}],
        [{"type": "reg", "name": "nodigest", "size": 3, "offset": 0, "endOffset": 5}],
        [{"type": "socket?", "name": "x"}],
    ],
    ids=[
        "dotdot",
        "dotdot-dir",
        "hardlink-escape",
        "overlap",
        "outside",
        "chunk-outside",
        "no-digest",
        "type",
    ],
)
def test_hostile_tocs_are_integrity_errors(entries: list[dict[str, object]]) -> None:
    comp, loc = handmade_toc(entries)
    with pytest.raises(IntegrityError):
        parse_toc(comp, loc)


@pytest.mark.parametrize(
    "change",
    [
        {"offset": True},
        {"offset": 20.0},
        {"offset": "20"},
        {"chunkOffset": 2.0},
        {"chunkOffset": 3},
        {"chunkSize": -1},
        {"chunkSize": False},
        {"chunkDigest": "sha256:xyz"},
        {"chunkDigest": 7},
    ],
    ids=repr,
)
def test_chunk_entries_with_values_of_the_wrong_kind_are_integrity_errors(change: dict[str, object]) -> None:
    """The fast path for chunk entries is as strict as the general one (no bools, floats,
    strings or negative numbers where ints go, only well-formed digests)."""
    comp, loc = handmade_toc([_FILE, {**_CHUNK, **change}])
    with pytest.raises(IntegrityError):
        parse_toc(comp, loc)
    comp, loc = handmade_toc([_FILE, _CHUNK])  # the same TOC without the change is fine
    (entry,) = parse_toc(comp, loc).entries
    assert [(c.start, c.end, c.size) for c in entry.chunks] == [(0, 20, 2), (20, 50, 2)]


# -- partial application ------------------------------------------------------------------------


@pytest.mark.parametrize("paths", [None, ["configs"], ["configs/pkg1"], ["etc", "opaque"]])
def test_partial_equals_full_application(
    image: list[Chunked], tmp_path: Path, paths: list[str] | None
) -> None:
    full, part = tmp_path / "full", tmp_path / "part"
    full.mkdir()
    part.mkdir()
    apply_tars(full, [layer.tar for layer in image], paths=paths)
    apply_partial(part, image, paths)
    assert snapshot(part, mtimes=True) == snapshot(full, mtimes=True)
    assert snapshot(part)  # not vacuous


def test_one_package_reads_only_its_chunks(image: list[Chunked], tmp_path: Path) -> None:
    upper = image[1]  # alone: configs is a plain directory there
    (sources,) = apply_partial(tmp_path, [upper], ["configs/pkg1"])
    toc = upper.toc()
    mine = sum(c.end - c.start for e in toc.entries if e.name.startswith("configs/pkg1/") for c in e.chunks)
    assert sources.read_bytes == mine
    planned = plan_ranges(toc, ["configs/pkg1"])
    assert sources.prepared == [
        (e.chunks[0].start, e.chunks[-1].end) for e in plan_files(toc, ["configs/pkg1"], None)
    ]
    assert coalesce(sources.prepared, 0) == coalesce([(c.start, c.end) for c in planned], 0)
    assert sum(e - s for s, e in sources.prepared) == mine
    assert sources.read_bytes < 0.5 * len(upper.blob)
    assert sorted(os.listdir(tmp_path / "configs")) == ["pkg1"]


def test_selection_through_a_lower_symlink_reads_what_full_application_writes(
    image: list[Chunked], tmp_path: Path
) -> None:
    sources = apply_partial(tmp_path, image, ["configs/pkg1"])
    toc = image[1].toc()
    written = {e.name for e in toc.entries if e.chunks and (tmp_path / "real" / e.name).exists()}
    assert "configs/pkg1/catalog.json" in written and "bulk/data.bin" not in written
    assert sources[1].read_bytes == sum(
        c.end - c.start for e in toc.entries if e.name in written for c in e.chunks
    )
    assert sources[0].read_bytes == 0  # the lower layer has nothing below configs/pkg1


def test_chunk_with_wrong_bytes_fails(image: list[Chunked], tmp_path: Path) -> None:
    toc = image[1].toc()
    target = next(e for e in toc.entries if e.name == "configs/pkg1/catalog.json")
    applier = Applier(tmp_path, PathSelection(["configs"]))
    with pytest.raises(IntegrityError):
        apply_chunked(
            toc, MemorySource(image[1].blob, tamper=target.chunks[1].start + 20), applier, ["configs"]
        )
    applier.close()


def test_file_without_prediction_is_fetched_when_the_applier_wants_it(
    image: list[Chunked], tmp_path: Path
) -> None:
    """The plan only predicts; a file the applier wants is read even if it was not planned."""
    toc = image[1].toc()
    applier = Applier(tmp_path, PathSelection(["configs/pkg2"]))
    src = MemorySource(image[1].blob)
    try:
        apply_chunked(toc, src, applier, ["bulk"])  # wrong prediction on purpose
        applier.finalize()
    except BaseException:
        applier.close()
        raise
    assert src.prepared and all(
        s >= min(c.start for e in toc.entries if e.name == "bulk/data.bin" for c in e.chunks)
        for s, _ in src.prepared
    )
    assert (tmp_path / "configs" / "pkg2" / "catalog.json").read_bytes() == RNG[150_000:]


def test_handmade_toc_with_wrong_file_digest_fails(tmp_path: Path) -> None:
    """A TOC (hand-made, correct checksum) whose file digest does not match the data."""
    frame = zstandard.ZstdCompressor().compress(b"hello")
    blob = frame
    comp, loc = handmade_toc(
        [{"type": "reg", "name": "x", "size": 5, "digest": DIGEST, "offset": 0, "endOffset": len(frame)}],
        data_end=len(blob),
    )
    applier = Applier(tmp_path, PathSelection(None))
    with pytest.raises(IntegrityError, match="digest mismatch"):
        apply_chunked(parse_toc(comp, loc), MemorySource(blob), applier, None)
    applier.close()


def test_plan_predicts_through_symlinks_and_hard_links() -> None:
    """The prediction (what is fetched ahead) follows this layer's symlinks on the way to a selected
    path and pulls in hard link targets; everything else waits until the applier asks."""
    from imgextract.layers.chunked.plan import wanted_files
    from imgextract.layers.chunked.toc import Chunk, TocEntry

    def reg(name: str, start: int) -> TocEntry:
        return TocEntry("reg", name, size=1, digest=DIGEST, chunks=[Chunk(start, start + 1, 1, None)])

    toc = Toc(
        [
            reg("real/configs/a/catalog.json", 0),
            reg("real/other/x", 1),
            TocEntry("symlink", "configs", link_name="real/configs"),
            reg("data/blob", 2),
            TocEntry("hardlink", "configs/a/link", link_name="data/blob"),
            TocEntry("symlink", "up", link_name="../../real/other"),
        ],
        TocLocation(100, 1, 1),
    )
    assert wanted_files(toc, ["configs/a"]) == {"real/configs/a/catalog.json", "data/blob"}
    assert wanted_files(toc, ["up"]) == {"real/other/x"}  # ".." stops at the root
    assert wanted_files(toc, None) == {"real/configs/a/catalog.json", "real/other/x", "data/blob"}
    assert [c.start for c in plan_ranges(toc, ["configs"], skip=lambda d: False)] == [0, 2]


@pytest.mark.parametrize("paths", [None, ["configs"]])
def test_streamed_and_piecewise_paths_equal_full_application(
    image: list[Chunked], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, paths: list[str] | None
) -> None:
    """Large files take other paths (chunks streamed, files queued piece by piece, a small budget
    ahead); made small here so that the test image's files take them."""
    from imgextract.layers.chunked import decoder
    from imgextract.layers.chunked import fetcher as fetcher_module

    for module, name, value in [
        (decoder, "ONE_READ", 4096),
        (decoder, "ONE_SHOT", 4096),
        (decoder, "WHOLE_FILE", 4096),
        (fetcher_module, "WHOLE_FILE", 4096),
        (fetcher_module, "AHEAD", 8192),
    ]:
        monkeypatch.setattr(module, name, value)
    full, part = tmp_path / "full", tmp_path / "part"
    full.mkdir()
    part.mkdir()
    apply_tars(full, [layer.tar for layer in image], paths=paths)
    apply_partial(part, image, paths)
    assert snapshot(part, mtimes=True) == snapshot(full, mtimes=True)


def test_fetcher_drops_files_not_taken_and_keeps_to_its_budget(image: list[Chunked]) -> None:
    from imgextract.layers.chunked.fetcher import Fetcher

    toc = image[1].toc()
    files = [e for e in toc.entries if e.chunks]
    assert len(files) >= 4
    biggest = max(e.size for e in files)
    queued: list[int] = []
    fetcher = Fetcher(files, MemorySource(image[1].blob), ahead=biggest)
    fetcher.on_verified = lambda entry, data: queued.append(fetcher._queued)
    fetcher.start()
    try:
        pieces = fetcher.take(files[-1])  # every earlier file is dropped as it arrives
        assert pieces is not None
        data = _joined(pieces)
        assert hashlib.sha256(data).hexdigest() == files[-1].digest.split(":")[1]  # type: ignore[union-attr]
        assert fetcher.take(files[0]) is None  # gone: the applier would read it itself
    finally:
        fetcher.close()
    assert len(queued) == len(files) and max(queued) <= biggest


def test_one_chunk_file_is_hashed_once_and_checked_against_both_digests(tmp_path: Path) -> None:
    """A one-chunk file: its chunk digest and file digest cover the same bytes; a TOC whose chunk
    digest differs from the (correct) file digest is still refused."""
    content = b"one chunk of content"
    frame = zstandard.ZstdCompressor().compress(content)
    good = "sha256:" + hashlib.sha256(content).hexdigest()
    for chunk_digest, ok in [(good, True), (DIGEST, False)]:
        comp, loc = handmade_toc(
            [
                {
                    "type": "reg",
                    "name": "x",
                    "size": len(content),
                    "digest": good,
                    "chunkDigest": chunk_digest,
                    "offset": 0,
                    "endOffset": len(frame),
                }
            ],
            data_end=len(frame),
        )
        root = tmp_path / str(ok)
        root.mkdir()
        applier = Applier(root, PathSelection(None))
        try:
            if ok:
                apply_chunked(parse_toc(comp, loc), MemorySource(frame), applier, None)
                applier.finalize()
                assert (root / "x").read_bytes() == content
            else:
                with pytest.raises(IntegrityError, match="chunk digest mismatch"):
                    apply_chunked(parse_toc(comp, loc), MemorySource(frame), applier, None)
        finally:
            applier.close()


def test_cache_writer_holds_files_and_writes_them_together() -> None:
    """Verified files are held and written as one batch (flush, close); a file past the bound is
    written at once with those held (bounded memory); after a failure the held ones are dropped."""
    from imgextract.layers.chunked.cachewriter import BATCH, CacheWriter, HoldBudget
    from imgextract.layers.chunked.interfaces import FileData

    class Store:
        def __init__(self) -> None:
            self.batches: list[list[str]] = []

        def has(self, digest: str) -> bool:
            return any(digest in b for b in self.batches)

        def get(self, digest: str, size: int) -> bytes | None:
            raise AssertionError("not read")

        def put(self, digest: str, data: bytes) -> None:
            raise AssertionError("files are written in batches")

        def put_many(self, files: Sequence[tuple[str, FileData]]) -> None:
            self.batches.append([d for d, _ in files])

    files = [f"sha256:{i:064x}" for i in range(5)]
    for write, expected in [(True, [files[:4], files[4:]]), (False, [files[:4]])]:
        store = Store()
        budget = HoldBudget(160)
        budget.used = 40  # another layer's
        writer = CacheWriter(store, budget=budget)
        for digest in files:
            writer.put(digest, b"x" * 40)
        assert store.batches == [files[:4]]  # 3 x 40 bytes held, the 4th goes over: all 4 written
        writer.close(write=write)
        assert store.batches == expected and budget.used == 40
    store = Store()
    writer = CacheWriter(store)
    writer.put(files[0], b"x")
    writer.flush()
    writer.flush()  # nothing left: no empty batch
    writer.close()
    assert store.batches == [files[:1]]
    # idle work (a thread waiting for the other): a batch only once it is worth a pack
    store = Store()
    writer = CacheWriter(store)
    writer.put(files[0], b"x" * (BATCH - 1))
    assert not writer.flush_some() and store.batches == []
    writer.put(files[1], b"x")
    assert writer.flush_some() and store.batches == [files[:2]]
    assert not writer.flush_some()


def test_without_batch_decompression_chunks_are_decompressed_one_by_one(
    image: list[Chunked], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """python-zstandard's cffi backend has no multi_decompress_to_buffer: same output without it."""
    real = zstandard.ZstdDecompressor
    calls: list[int] = []

    class NoBatch:
        def __init__(self) -> None:
            self.inner = real()

        def multi_decompress_to_buffer(self, *args: object, **kwargs: object) -> None:
            raise NotImplementedError

        def decompress(self, *args: Any, **kwargs: Any) -> bytes:
            calls.append(1)
            return self.inner.decompress(*args, **kwargs)

        def __getattr__(self, name: str) -> object:
            return getattr(self.inner, name)

    monkeypatch.setattr(zstandard, "ZstdDecompressor", NoBatch)
    full, part = tmp_path / "full", tmp_path / "part"
    full.mkdir()
    part.mkdir()
    apply_tars(full, [layer.tar for layer in image], paths=["configs"])
    apply_partial(part, image, ["configs"])
    assert snapshot(part, mtimes=True) == snapshot(full, mtimes=True)
    assert calls  # the chunk-by-chunk path ran


def test_applier_thread_does_idle_work_while_it_waits_for_a_file(image: list[Chunked]) -> None:
    """While the applier's thread waits for the fetcher it runs ``idle`` (the cache writes of
    verified files), then waits normally once there is no idle work left."""
    import threading

    from imgextract.layers.chunked.fetcher import Fetcher

    toc = image[1].toc()
    files = [e for e in toc.entries if e.chunks]
    went_idle = threading.Event()

    class Held(MemorySource):
        def open_range(self, start: int, end: int) -> io.BytesIO:
            assert went_idle.wait(5), "the applier's thread never did idle work"
            return super().open_range(start, end)

    work = [1, 2, 3]

    def idle() -> bool:
        if not work:
            return False
        work.pop()
        if not work:
            went_idle.set()  # the fetcher goes on only once all of it is done
        return True

    fetcher = Fetcher(files, Held(image[1].blob))
    fetcher.idle = idle
    fetcher.start()
    try:
        pieces = fetcher.take(files[0])
        assert pieces is not None
        data = _joined(pieces)
        assert hashlib.sha256(data).hexdigest() == files[0].digest.split(":")[1]  # type: ignore[union-attr]
    finally:
        fetcher.close()
    assert work == []  # all of it done while waiting


def test_fetcher_does_idle_work_while_the_applier_is_behind(image: list[Chunked]) -> None:
    """A fetcher whose queue is full (the applier is slow) runs ``idle`` too, then waits."""
    import threading

    from imgextract.layers.chunked.fetcher import Fetcher

    toc = image[1].toc()
    files = [e for e in toc.entries if e.chunks]
    threads: list[str] = []
    work = [1, 2]

    def idle() -> bool:
        threads.append(threading.current_thread().name)
        if not work:
            return False
        work.pop()
        return True

    fetcher = Fetcher(files, MemorySource(image[1].blob), ahead=1)  # one file fills the queue
    fetcher.idle = idle
    fetcher.start()
    try:
        deadline = time.monotonic() + 5
        while (work or len(threads) < 3) and time.monotonic() < deadline:
            time.sleep(0.001)
        assert work == [] and set(threads) == {"imgextract-chunked"}
        pieces = fetcher.take(files[0])  # the applier catches up: the fetcher goes on
        assert pieces is not None and _joined(pieces)
        assert fetcher.take(files[1]) is not None
    finally:
        fetcher.close()


@pytest.mark.parametrize("wrong", [0, 1, None])
def test_a_wrong_chunk_digest_of_a_small_file_is_refused(tmp_path: Path, wrong: int | None) -> None:
    """A file of two chunks (decompressed in one call): each chunk digest is checked, even when
    the file digest is right (hand-made TOC)."""
    parts = [b"first chunk " * 40, b"second chunk " * 40]
    frames = [zstandard.ZstdCompressor().compress(p) for p in parts]
    blob = b"".join(frames)
    digests = ["sha256:" + hashlib.sha256(p).hexdigest() for p in parts]
    if wrong is not None:
        digests[wrong] = DIGEST
    comp, loc = handmade_toc(
        [
            {
                "type": "reg",
                "name": "x",
                "size": sum(map(len, parts)),
                "digest": "sha256:" + hashlib.sha256(b"".join(parts)).hexdigest(),
                "offset": 0,
                "endOffset": len(blob),
                "chunkSize": len(parts[0]),
                "chunkDigest": digests[0],
            },
            {
                "type": "chunk",
                "name": "x",
                "offset": len(frames[0]),
                "chunkOffset": len(parts[0]),
                "chunkSize": len(parts[1]),
                "chunkDigest": digests[1],
            },
        ],
        data_end=len(blob),
    )
    applier = Applier(tmp_path, PathSelection(None))
    try:
        if wrong is None:
            apply_chunked(parse_toc(comp, loc), MemorySource(blob), applier, None)
            applier.finalize()
            assert (tmp_path / "x").read_bytes() == b"".join(parts)
        else:
            with pytest.raises(IntegrityError, match="chunk digest mismatch"):
                apply_chunked(parse_toc(comp, loc), MemorySource(blob), applier, None)
    finally:
        applier.close()


def _two_chunk_files(
    names: Sequence[str], *, bad_file_digest: str = "", bad_chunk_digest: str = "", bad_frames: str = ""
) -> tuple[bytes, Toc]:
    """Files of two chunks each (decompressed in one call, queued before their digests are
    checked); ``bad_file_digest`` names one whose chunks are right but whose file digest is not,
    ``bad_chunk_digest`` one whose file digest is right but whose second chunk digest is not,
    ``bad_frames`` one whose frames cut its bytes one byte off the TOC's chunk sizes (all its
    digests right)."""
    blob = b""
    entries: list[dict[str, object]] = []
    for name in names:
        parts = [f"{name} first ".encode() * 50, f"{name} second ".encode() * 50]
        cut = len(parts[0]) + (1 if name == bad_frames else 0)
        whole = b"".join(parts)
        frames = [zstandard.ZstdCompressor().compress(p) for p in (whole[:cut], whole[cut:])]
        second = DIGEST if name == bad_chunk_digest else "sha256:" + hashlib.sha256(parts[1]).hexdigest()
        entries += [
            {
                "type": "reg",
                "name": name,
                "size": sum(map(len, parts)),
                "digest": "sha256:"
                + hashlib.sha256(whole + (b"!" if name == bad_file_digest else b"")).hexdigest(),
                "offset": len(blob),
                "endOffset": len(blob) + len(frames[0]) + len(frames[1]),
                "chunkSize": len(parts[0]),
                "chunkDigest": "sha256:" + hashlib.sha256(parts[0]).hexdigest(),
            },
            {
                "type": "chunk",
                "name": name,
                "offset": len(blob) + len(frames[0]),
                "chunkOffset": len(parts[0]),
                "chunkSize": len(parts[1]),
                "chunkDigest": second,
            },
        ]
        blob += b"".join(frames)
    comp, loc = handmade_toc(entries, data_end=len(blob))
    return blob, parse_toc(comp, loc)


def _content(name: str) -> bytes:
    return f"{name} first ".encode() * 50 + f"{name} second ".encode() * 50


class _CountingDecompressor:
    """zstandard.ZstdDecompressor, counting the chunks of each ``multi_decompress_to_buffer``."""

    calls: list[int] = []

    def __init__(self) -> None:
        self.inner = _REAL_DECOMPRESSOR()

    def multi_decompress_to_buffer(self, frames: list[Any], **kwargs: Any) -> Any:
        self.calls.append(len(frames))
        return self.inner.multi_decompress_to_buffer(frames, **kwargs)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


_REAL_DECOMPRESSOR = zstandard.ZstdDecompressor


@pytest.mark.parametrize(
    ("limits", "calls"),
    [
        ({}, [10]),  # five small files: one run, every chunk in one call
        ({"FIRST_BATCH": 1, "BATCH_READ": 1}, [2] * 5),  # a run per file
        ({"BATCH_OUT": 1}, [2] * 5),  # decompressed bytes bound a run too
        ({"FIRST_BATCH": 1}, [2, 8]),  # the first run short, the next longer
    ],
)
def test_small_files_are_decompressed_a_run_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limits: dict[str, int], calls: list[int]
) -> None:
    """Runs of small files are decompressed in one call each, within the run's bounds (compressed
    and decompressed bytes); the output is the same however the runs are cut."""
    from imgextract.layers.chunked import fetcher as fetcher_module

    for name, value in limits.items():
        monkeypatch.setattr(fetcher_module, name, value)
    monkeypatch.setattr(zstandard, "ZstdDecompressor", _CountingDecompressor)
    monkeypatch.setattr(_CountingDecompressor, "calls", [])
    names = ["a", "b", "c", "d", "e"]
    blob, toc = _two_chunk_files(names)
    applier = Applier(tmp_path, PathSelection(None))
    try:
        apply_chunked(toc, MemorySource(blob), applier, None)
        applier.finalize()
    finally:
        applier.close()
    assert _CountingDecompressor.calls == calls
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {n: _content(n) for n in names}


@pytest.mark.parametrize("checker", ["applier", "fetcher"])
@pytest.mark.parametrize(
    ("bad", "message"), [("bad_chunk_digest", "chunk digest"), ("bad_frames", "TOC says")]
)
def test_a_bad_file_in_a_run_fails_at_that_file_and_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: str, message: str, checker: str
) -> None:
    """In a run decompressed together, a file whose second chunk digest is wrong (its file digest
    right), or whose frames do not cut its bytes where the TOC's chunk sizes do, is refused when
    the applier's thread takes it, before any byte of it is handed over; the files before it
    are handed over and kept, it is not.  Applying the layer fails; what was written before
    stays for the caller to discard.  The same whichever thread checks the digests (the fetch
    thread does when the applier's is behind: ``CHECK_AHEAD`` 0 here)."""
    from imgextract.layers.chunked import fetcher as fetcher_module
    from imgextract.layers.chunked.fetcher import Fetcher

    if checker == "fetcher":
        monkeypatch.setattr(fetcher_module, "CHECK_AHEAD", 0)
    blob, toc = _two_chunk_files(["a", "b", "c"], **{bad: "b"})
    kept: list[str] = []
    fetcher = Fetcher(toc.entries, MemorySource(blob))
    fetcher.on_verified = lambda entry, data: kept.append(entry.name)
    fetcher.start()
    try:
        first = fetcher.take(toc.entries[0])
        assert first is not None and _joined(first) == _content("a")
        second = fetcher.take(toc.entries[1])
        assert second is not None
        with pytest.raises(IntegrityError, match=f"'b': .*{message}"):
            next(iter(second))
    finally:
        fetcher.close()
    assert kept == ["a"]
    applier = Applier(tmp_path, PathSelection(None))
    try:
        with pytest.raises(IntegrityError, match=f"'b': .*{message}"):
            apply_chunked(toc, MemorySource(blob), applier, None)
    finally:
        applier.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


@pytest.mark.parametrize(("check_ahead", "thread"), [(0, "imgextract-chunked"), (1 << 40, "MainThread")])
def test_the_fetch_thread_checks_the_files_when_the_applier_is_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, check_ahead: int, thread: str
) -> None:
    """The digests of a small file are checked once, by the applier's thread, or by the fetch
    thread when the applier's thread is ``CHECK_AHEAD`` bytes behind (0 here: always); checked
    files are kept either way, and the output is the same."""
    import threading

    from imgextract.layers.chunked import fetcher as fetcher_module
    from imgextract.layers.chunked.checks import check_file as real

    monkeypatch.setattr(fetcher_module, "CHECK_AHEAD", check_ahead)
    checks: list[tuple[str, str]] = []

    def check_file(entry: Any, parts: Any, *, chunks: bool = False) -> None:
        checks.append((entry.name, threading.current_thread().name))
        real(entry, parts, chunks=chunks)

    monkeypatch.setattr(fetcher_module, "check_file", check_file)
    names = ["a", "b", "c"]
    blob, toc = _two_chunk_files(names)
    kept: dict[str, bytes] = {}

    class Store:
        def has(self, digest: str) -> bool:
            return False

        def get(self, digest: str, size: int) -> bytes | None:
            return None

        def put(self, digest: str, data: bytes) -> None:
            raise AssertionError("kept in batches")

        def put_many(self, files: Sequence[tuple[str, Any]]) -> None:
            for digest, data in files:
                kept[digest] = data if isinstance(data, bytes) else b"".join(data)

    applier = Applier(tmp_path, PathSelection(None))
    try:
        apply_chunked(toc, MemorySource(blob), applier, None, files=Store())
        applier.finalize()
    finally:
        applier.close()
    assert checks == [(name, thread) for name in names]
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {n: _content(n) for n in names}
    assert sorted(kept.values()) == [_content(n) for n in names]


@pytest.mark.parametrize(("check_ahead", "fetcher_idle"), [(0, True), (1 << 40, False)])
def test_the_fetch_thread_does_idle_work_after_a_run_when_ahead(
    monkeypatch: pytest.MonkeyPatch, check_ahead: int, fetcher_idle: bool
) -> None:
    """A fetch thread ``CHECK_AHEAD`` bytes ahead of the applier runs ``idle`` (the cache writes
    of the files verified so far) after each run, though it never waits for room: otherwise
    they would all be written at the end, after the applier's last file."""
    import threading

    from imgextract.layers.chunked import fetcher as fetcher_module
    from imgextract.layers.chunked.fetcher import Fetcher

    monkeypatch.setattr(fetcher_module, "CHECK_AHEAD", check_ahead)
    blob, toc = _two_chunk_files(["a", "b", "c"])
    threads: list[str] = []

    def idle() -> bool:
        threads.append(threading.current_thread().name)
        return False

    fetcher = Fetcher(toc.entries, MemorySource(blob))
    fetcher.idle = idle
    fetcher.start()
    try:
        assert fetcher._thread is not None
        fetcher._thread.join(5)  # everything queued (the queue has room for it all)
        for entry in toc.entries:
            pieces = fetcher.take(entry)
            assert pieces is not None and _joined(pieces) == _content(entry.name)
    finally:
        fetcher.close()
    assert ("imgextract-chunked" in threads) == fetcher_idle


def test_a_read_failing_in_a_run_fails_the_layer(tmp_path: Path) -> None:
    """A run's compressed bytes are read before they are decompressed: a read failing for its
    second file fails the layer at the run's first file, and nothing of the run is written."""
    from imgextract.errors import UnreachableError

    blob, toc = _two_chunk_files(["a", "b", "c"])

    class Failing(MemorySource):
        def open_range(self, start: int, end: int) -> io.BytesIO:
            if start == toc.entries[1].chunks[0].start:
                raise UnreachableError("blob ranges: connection lost (test)")
            return super().open_range(start, end)

    applier = Applier(tmp_path, PathSelection(None))
    try:
        with pytest.raises(UnreachableError, match="connection lost"):
            apply_chunked(toc, Failing(blob), applier, None)
    finally:
        applier.close()
    assert list(tmp_path.iterdir()) == []


def test_a_file_digest_checked_by_the_applier_thread_refuses_before_any_byte(tmp_path: Path) -> None:
    """Right chunk digests, wrong file digest: the applier's thread checks the file digest of a
    file queued as its chunks before it writes any of it; the file is not kept either."""
    from imgextract.layers.chunked.fetcher import Fetcher

    blob, toc = _two_chunk_files(["a", "b"], bad_file_digest="b")
    kept: list[str] = []
    fetcher = Fetcher(toc.entries, MemorySource(blob))
    fetcher.on_verified = lambda entry, data: kept.append(entry.name)
    fetcher.start()
    try:
        first = fetcher.take(toc.entries[0])
        assert first is not None and _joined(first) == b"a first " * 50 + b"a second " * 50
        second = fetcher.take(toc.entries[1])
        assert second is not None
        with pytest.raises(IntegrityError, match="'b': digest mismatch"):
            next(iter(second))  # nothing of it handed over
    finally:
        fetcher.close()
    assert kept == ["a"]
    applier = Applier(tmp_path, PathSelection(None))
    try:
        with pytest.raises(IntegrityError, match="'b': digest mismatch"):
            apply_chunked(toc, MemorySource(blob), applier, None)
    finally:
        applier.close()
    assert (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_files_not_taken_are_checked_before_they_are_kept() -> None:
    """Files the applier skips are still checked (file digest) before ``on_verified`` keeps them."""
    from imgextract.layers.chunked.fetcher import Fetcher

    blob, toc = _two_chunk_files(["a", "b", "c"], bad_file_digest="a")
    kept: list[tuple[str, bytes]] = []
    fetcher = Fetcher(toc.entries, MemorySource(blob))
    fetcher.on_verified = lambda entry, data: kept.append((entry.name, b"".join(data)))  # type: ignore[arg-type]  # (its chunks)
    fetcher.start()
    try:
        last = fetcher.take(toc.entries[2])  # "a" and "b" are dropped as they arrive
        assert last is not None and _joined(last) == b"c first " * 50 + b"c second " * 50
    finally:
        fetcher.close()
    assert kept == [("b", b"b first " * 50 + b"b second " * 50), ("c", b"c first " * 50 + b"c second " * 50)]


def test_the_applier_writes_a_file_handed_as_many_buffers(tmp_path: Path) -> None:
    """A file handed over as a list of buffers (its chunks) is written with writev, a few hundred
    buffers per call, in order."""
    parts: list[bytes | memoryview] = [f"{i:05}|".encode() for i in range(1500)]
    parts[7] = memoryview(b"view|")
    info = tarfile.TarInfo("f")
    info.size = sum(len(p) for p in parts)

    class Data:
        def read_data(self, member: Member) -> Any:
            yield parts[:1000]
            yield b"tail"
            yield parts[1000:]

    info.size += 4
    applier = Applier(tmp_path, PathSelection(None))
    try:
        applier.apply_members([info], Data())
        applier.finalize()
    finally:
        applier.close()
    assert (tmp_path / "f").read_bytes() == b"".join(parts[:1000]) + b"tail" + b"".join(parts[1000:])


def test_toc_modtimes_are_exact_to_the_nanosecond(tmp_path: Path) -> None:
    """containers/storage reads a TOC's ``modtime`` with Go's ``time.Time`` JSON decoding (RFC 3339,
    nanoseconds) and sets it with ``utimensat``; skopeo writes a PAX mtime's nanoseconds there.
    Partial application gives every file, link and directory the time full application gives
    it, to the nanosecond (a float of seconds is off by up to a few hundred)."""
    frac = {"mtime": "1700000000.123456789"}
    entries = [d("dir", pax={"mtime": "1600000000.000000001"}), f("dir/file", "x", pax=frac)]
    entries += [sym("dir/link", "file"), f("dir/empty", pax={"mtime": "1650000000.999999999"})]
    entries[2].pax = frac
    (layer,) = skopeo_chunked(tmp_path / "img", [go_style(tar_bytes(entries))])
    full, part = tmp_path / "full", tmp_path / "part"
    full.mkdir()
    part.mkdir()
    apply_tars(full, [layer.tar])
    apply_partial(part, [layer], ["dir"])
    times = {
        name: tuple(os.lstat(root / name).st_mtime_ns for root in (full, part))
        for name in ("dir", "dir/file", "dir/link", "dir/empty")
    }
    assert times == {
        "dir": (1_600_000_000_000_000_001,) * 2,
        "dir/file": (1_700_000_000_123_456_789,) * 2,
        "dir/link": (1_700_000_000_123_456_789,) * 2,
        "dir/empty": (1_650_000_000_999_999_999,) * 2,
    }


@pytest.mark.parametrize(
    ("modtime", "ns"),
    [
        ("2023-11-14T22:13:20Z", 1_700_000_000 * 10**9),
        ("2023-11-15T00:13:20.5+02:00", 1_700_000_000_500_000_000),
        ("2023-11-14T21:43:20.0000000019-00:30", 1_700_000_000_000_000_001),  # cut to ns
        ("1969-12-31T23:59:59Z", 0),  # before 1970: clamped
        # Go's general parser (the strict RFC 3339 one refuses these): golang/go#54580
        ("2023-11-14T2:13:20Z", 1_699_928_000 * 10**9),  # an hour of one digit
        ("2023-11-15T22:13:20+24:00", 1_700_000_000 * 10**9),  # an offset of 24 hours
        ("2023-11-14T23:13:20+00:60", 1_700_000_000 * 10**9),  # or 60 minutes
        ("2023-11-14T22:13:20,5Z", 1_700_000_000_500_000_000),  # a comma before the fraction
    ],
)
def test_toc_modtime_is_read_as_go_reads_rfc3339(tmp_path: Path, modtime: str, ns: int) -> None:
    """A hand-made TOC's ``modtime`` in other forms Go's ``time.Parse`` (RFC 3339) takes: a zone offset,
    a fraction of any length (the first nine digits are the nanoseconds)."""
    comp, loc = handmade_toc([{"type": "reg", "name": "e", "modtime": modtime}])
    applier = Applier(tmp_path, PathSelection(None))
    apply_chunked(parse_toc(comp, loc), MemorySource(b""), applier, None)
    applier.finalize()
    assert os.lstat(tmp_path / "e").st_mtime_ns == ns


@pytest.mark.parametrize(
    "modtime",
    [
        "yesterday",
        "2023-02-30T00:00:00Z",
        "2023-11-14T24:00:00Z",
        "2023-11-14T22:13:20",
        "2023-11-14T122:13:20Z",
        "2023-11-14T22:13:20+25:00",
        "2023-11-14T22:13:20+00:61",
        "2023-11-14T22:13:20+0000",
        1700000000,
        "２０２３-11-14T22:13:20Z",
    ],
    ids=repr,
)
def test_toc_modtime_go_refuses_is_refused(modtime: object) -> None:
    """A ``modtime`` Go's ``time.Parse(time.RFC3339, s)`` refuses makes containers/storage's TOC
    decoding (``unmarshalToc``) fail (the pull fails): an integrity error here, not the epoch."""
    comp, loc = handmade_toc([{"type": "reg", "name": "e", "modtime": modtime}])
    with pytest.raises(IntegrityError):
        parse_toc(comp, loc)


def test_zeros_chunks_are_fetched_partially(tmp_path: Path) -> None:
    """containers/storage's compressor cuts a run of 1 KiB or more of zeros into a chunk of type
    ``zeros`` (skopeo writes them for any such file); its reader (``storage_linux.go``) fills it in
    without a fetch.  Its zstd frame is in the blob all the same (the blob decompresses to the
    whole tar), so it is read as data here: a few bytes, checked against its chunk digest.  The
    layer is applied partially (not fetched whole) and equals full application."""
    sparse = RNG[:3000] + bytes(50_000) + RNG[3000:6000] + bytes(2048)
    entries = [d("bin"), f("bin/tool", sparse, mode=0o755), f("other", RNG[:100_000])]
    (layer,) = skopeo_chunked(tmp_path / "img", [go_style(tar_bytes(entries))])
    toc = layer.toc()
    (tool,) = [e for e in toc.entries if e.name == "bin/tool"]
    assert len(tool.chunks) >= 3  # data, zeros, data (, zeros)
    full, part = tmp_path / "full", tmp_path / "part"
    full.mkdir()
    part.mkdir()
    apply_tars(full, [layer.tar], paths=["bin"])
    (source,) = apply_partial(part, [layer], ["bin"])
    assert snapshot(part, mtimes=True) == snapshot(full, mtimes=True)
    assert (part / "bin/tool").read_bytes() == sparse
    assert source.read_bytes == tool.chunks[-1].end - tool.chunks[0].start < 10_000


def test_an_empty_layer_has_a_toc_of_null_entries(tmp_path: Path) -> None:
    """skopeo (containers/storage's compressor) writes an empty layer's TOC as
    ``{"version":1,"entries":null}``: Go marshals a nil slice as ``null``, and its decoder reads
    it back as no entries.  Such a layer (an image with an empty layer, as many have) is applied
    partially, as nothing, not refused."""
    lower, empty = skopeo_chunked(tmp_path / "img", [go_style(tar_bytes([f("a", "x")])), b"\0" * 1024])
    loc = toc_location(empty.annotations)
    assert loc is not None
    raw = zstandard.ZstdDecompressor().stream_reader(empty.blob[loc.offset : loc.offset + loc.length])
    assert b'"entries":null' in raw.read()
    assert empty.toc().entries == []
    full, part = tmp_path / "full", tmp_path / "part"
    full.mkdir()
    part.mkdir()
    apply_tars(full, [lower.tar, empty.tar])
    apply_partial(part, [lower, empty], ["a"])
    assert snapshot(part, mtimes=True) == snapshot(full, mtimes=True)
    assert list(snapshot(part)) == ["a"]


def test_a_toc_of_another_version_is_unsupported_not_an_integrity_error() -> None:
    """A TOC whose checksum matches the manifest's annotation is authentic: another ``version``
    is a TOC format this reader does not know (the whole layer is fetched, as docs/formats.md
    says), not damage.  A TOC that is not an object with a list of entries is damage."""
    from imgextract.layers.chunked.toc import TocUnsupported

    others: list[Any] = [{"version": 2, "entries": [{"type": "dir", "name": "d"}]}, {"entries": []}]
    for other in others:
        raw = json.dumps(other).encode()
        comp = zstandard.ZstdCompressor().compress(raw)
        loc = TocLocation(10_000, len(comp), len(raw), "sha256:" + hashlib.sha256(comp).hexdigest())
        with pytest.raises(TocUnsupported):
            parse_toc(comp, loc)
    damaged: list[Any] = [
        [],
        {"version": 1, "entries": {}},
        {"version": "1", "entries": []},
        {"version": True},
    ]
    for doc in damaged:
        raw = json.dumps(doc).encode()
        comp = zstandard.ZstdCompressor().compress(raw)
        loc = TocLocation(10_000, len(comp), len(raw), "sha256:" + hashlib.sha256(comp).hexdigest())
        with pytest.raises(IntegrityError):
            parse_toc(comp, loc)


class _SpanSource(MemorySource):
    """A source that reads spans (as the registry's does): what was asked, span by span."""

    def __init__(self, blob: bytes) -> None:
        super().__init__(blob)
        self.spans: list[tuple[int, int]] = []

    def read_span(self, start: int, end: int, into: memoryview) -> None:
        self.spans.append((start, end))
        into[:] = self.open_range(start, end).read()


@pytest.mark.parametrize("gap", [4096, 0])
def test_nearby_files_are_read_as_one_span(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gap: int) -> None:
    """A run of small files is read in spans of files at most ``SPAN_GAP`` apart (the bytes
    between them are read through, not asked for again), each file out of its span exactly."""
    from imgextract.layers.chunked import decoder as decoder_module

    monkeypatch.setattr(decoder_module, "SPAN_GAP", gap)
    blob, toc = _two_chunk_files(["a", "b", "c", "d", "e"])
    where = {e.name: (e.chunks[0].start, e.chunks[-1].end) for e in toc.entries if e.chunks}
    source = _SpanSource(blob)
    applier = Applier(tmp_path, PathSelection(["a", "b", "e"]))
    try:
        apply_chunked(toc, source, applier, ["a", "b", "e"])
        applier.finalize()
    finally:
        applier.close()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {n: _content(n) for n in "abe"}
    if gap:  # c and d lie between b and e: read through
        assert source.spans == [(where["a"][0], where["e"][1])]
    else:
        assert source.spans == [(where["a"][0], where["b"][1]), where["e"]]


class _SpanCounter:
    """A source that reads spans out of a blob it makes up: frames of one byte where the TOC says."""

    def __init__(self, frames: dict[int, bytes]) -> None:
        self.frames = frames
        self.spans: list[tuple[int, int]] = []

    def prepare(self, ranges: Sequence[tuple[int, int]]) -> None:
        pass

    def open_range(self, start: int, end: int) -> Any:
        raise AssertionError("a span source is read by spans")

    def read_span(self, start: int, end: int, into: memoryview) -> None:
        self.spans.append((start, end))
        for at, frame in self.frames.items():
            if start <= at and at + len(frame) <= end:
                into[at - start : at - start + len(frame)] = frame


def test_a_hostile_toc_of_files_4_kib_apart_does_not_grow_the_span_buffer() -> None:
    """Thousands of one-byte files, each ``SPAN_GAP`` after the last (a TOC can say so; the blob's
    size is the manifest's word): the bytes between them are read through only up to
    ``SPAN_GAPS`` per batch, so the buffer stays about the files' own compressed bytes, not
    4 KiB a file (12 MiB here, 1.7 GiB for a 64 MiB TOC's worth of such files)."""
    from imgextract.layers.chunked import decoder as decoder_module

    frame = zstandard.ZstdCompressor().compress(b"x")
    step = len(frame) + decoder_module.SPAN_GAP
    entries = []
    frames = {}
    for i in range(3000):
        at = i * step
        frames[at] = frame
        chunk = Chunk(at, at + len(frame), 1, None)
        entries.append(
            TocEntry(
                "reg", f"f{i}", size=1, digest="sha256:" + hashlib.sha256(b"x").hexdigest(), chunks=[chunk]
            )
        )
    source = _SpanCounter(frames)
    decoder = decoder_module.Decoder()
    got = list(decoder.batch(entries, source))
    assert len(got) == len(entries)
    assert all(b"".join(bytes(p) for p in item.parts) == b"x" for item in got)  # type: ignore[union-attr]
    read = sum(end - start for start, end in source.spans)
    assert read <= len(frame) * len(entries) + decoder_module.SPAN_GAPS
    assert len(decoder._span) <= 2 * decoder_module.MiB
