"""Two processes pulling the same blob into one cache at once (real processes, real flock)."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import Any

from imgextract.cache import ContentCache

SIZE = 4 * 1024 * 1024
CHUNK = 64 * 1024


def _writer(root: str, data_path: str, digest: str, start: Any, out: Any) -> None:
    data = Path(data_path).read_bytes()
    cache = ContentCache(Path(root), wait=None)  # the no-wait path: a private copy at once
    start.wait()
    with cache.blob_writer(digest, len(data)) as w:
        shared, offset = w.shared, w.offset
        start.wait()  # both writers exist before either writes: their downloads overlap
        for i in range(offset, len(data), CHUNK):
            w.write(data[i : i + CHUNK])
            os.sched_yield()
        path = w.commit()
    out.put((shared, offset, str(path)))


def test_two_processes_writing_same_blob(tmp_path: Path) -> None:
    data = os.urandom(SIZE)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    src = tmp_path / "src"
    src.write_bytes(data)
    root = tmp_path / "cache"
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(root), str(src), digest, start, out)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    results = [out.get(timeout=5) for _ in procs]
    # exactly one held the lock on the shared partial, the other wrote a private temp file
    assert sorted(r[0] for r in results) == [False, True]
    assert all(r[2] == results[0][2] for r in results)
    assert Path(results[0][2]).read_bytes() == data
    assert sorted(p.name for p in (root / "blobs" / "sha256").iterdir()) == [digest.split(":")[1]]
    assert list((root / "tmp").iterdir()) == []


def _waiter(root: str, data_path: str, digest: str, start: Any, out: Any) -> None:
    data = Path(data_path).read_bytes()
    cache = ContentCache(Path(root))
    start.wait()
    first = cache.blob_writer(digest, len(data))
    if first.shared:  # the downloader: write slowly so the other one has to wait
        start.wait()
        for i in range(0, len(data), CHUNK):
            first.write(data[i : i + CHUNK])
            if i % (16 * CHUNK) == 0:
                time.sleep(0.05)
        path = first.commit()
        out.put(("downloaded", first.offset, str(path)))
        return
    raise AssertionError("unreachable: the second writer waits in blob_writer")


def _late(root: str, data_path: str, digest: str, start: Any, out: Any) -> None:
    data = Path(data_path).read_bytes()
    cache = ContentCache(Path(root))
    start.wait()
    start.wait()  # the downloader holds the lock now
    with cache.blob_writer(digest, len(data)) as w:
        assert w.shared
        for i in range(w.offset, len(data), CHUNK):  # nothing left when the other one committed
            w.write(data[i : i + CHUNK])
        path = w.commit()
        out.put(("waited", w.offset, str(path)))


def test_second_process_waits_for_the_download_instead_of_copying(tmp_path: Path) -> None:
    data = os.urandom(SIZE)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    src = tmp_path / "src"
    src.write_bytes(data)
    root = tmp_path / "cache"
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_waiter, args=(str(root), str(src), digest, start, out)),
        ctx.Process(target=_late, args=(str(root), str(src), digest, start, out)),
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    results = dict((r[0], r[1:]) for r in (out.get(timeout=5) for _ in procs))
    assert results["waited"][0] == SIZE  # it wrote nothing: the other process's blob was used
    assert Path(results["waited"][1]).read_bytes() == data
    assert not (root / "tmp").exists() or list((root / "tmp").iterdir()) == []


def test_a_forked_child_names_its_temporary_files_apart_from_its_parent() -> None:
    """Temporary names are a per-process random prefix and a counter, the owner token is worked
    out once a process: a child forked after both were set up gets its own prefix and its own
    token (``os.register_at_fork``), so a parent and a child writing the same cache never pick the
    same name, nor does the child take the parent's files for its own debris."""
    import os

    from imgextract.cache.writer import unique_suffix
    from imgextract.procowner import owner_token

    parent_suffix, parent_token = unique_suffix(), owner_token()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave at once (no pytest teardown)
        try:
            os.write(write, f"{unique_suffix()} {owner_token()} {os.getpid()}".encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child_suffix, child_token, child_pid = pipe.read().split()
    os.waitpid(pid, 0)
    assert child_token != parent_token and child_token.split(".")[-2] == child_pid
    assert child_suffix[:12] != parent_suffix[:12]  # another random prefix
    assert unique_suffix()[:12] == parent_suffix[:12]  # (the parent's own is kept)
