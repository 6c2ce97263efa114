"""Can a writer thread overlap the per-file Python work with the kernel's file creation?

An experiment, not a contender: the ``files`` workload's layer (40,000 small files) is read with
the product's ``TarReader`` and every file is written with ``open``/``write``/``utime``/``close``
(what the applier does per file), either on the reading thread (``serial``) or handed, in batches,
to one writer thread (``thread``), with the interpreter's switch interval as it is (5 ms) or set
lower for the run.  No path checks or bookkeeping: this is the most a writer thread could win.
Each run is a fresh process writing into a fresh directory (``--dir``: put it on a tmpfs for
stable file-creation costs; on ext4, ``--keep`` leaves the trees until the end, as removing
40,000 files slows the next run's creates for minutes); variants alternate, medians printed.

    python benchmarks/writerthread.py [--rounds 8] [--dir DIR] [--keep] [--work-us N]
    python benchmarks/run.py --workloads writer-thread   (the same, defaults, DIR in the workdir)

``--work-us``: Python work per file on the reading thread (a busy loop) on top of the parse, to
stand in for the applier's own (~5-10 us per file here).
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VARIANTS = [
    ("serial", 0.0, 1),
    ("thread", 0.0, 256),
    ("thread", 0.0, 16),
    ("thread", 0.0005, 64),
    ("thread", 0.00005, 64),
]
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _write(items: list[tuple[int, str, object, int, int]]) -> None:
    for dir_fd, name, data, mode, mtime in items:
        fd = os.open(name, _NEW_FILE, mode, dir_fd=dir_fd)
        try:
            if data:
                os.write(fd, data)  # type: ignore[arg-type]
            os.utime(fd, (mtime, mtime))
        finally:
            os.close(fd)


def one_run(tar: Path, root: Path, mode: str, switch: float, batch: int, work_us: float) -> tuple[float, ...]:
    """In this process: read ``tar`` and write its files under ``root``; (wall, user, sys)."""
    import io

    sys.path.insert(0, str(REPO))
    from imgextract.layers.tarstream import TarReader

    data = tar.read_bytes()
    t = time.perf_counter()
    for _ in range(200_000):
        pass
    spin = int(work_us * 200_000 / ((time.perf_counter() - t) * 1e6))  # loop steps per file
    root.mkdir()
    dirs = {"": os.open(root, os.O_RDONLY | os.O_DIRECTORY)}
    cond = threading.Condition()
    queue: deque[list[tuple[int, str, object, int, int]]] = deque()
    state = {"done": False, "queued": 0, "error": None}

    def writer() -> None:
        while True:
            with cond:
                while not queue and not state["done"]:
                    cond.wait()
                if not queue:
                    return
                items = queue.popleft()
            try:
                _write(items)
            except OSError as e:  # (first error wins; the reader raises it)
                state["error"] = state["error"] or e
            with cond:
                state["queued"] -= 1  # type: ignore[operator]
                cond.notify_all()

    old = sys.getswitchinterval()
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    if switch:
        sys.setswitchinterval(switch)
    thread = threading.Thread(target=writer) if mode == "thread" else None
    if thread is not None:
        thread.start()
    reader = TarReader(io.BytesIO(data), max_header_bytes=1 << 20)
    items: list[tuple[int, str, object, int, int]] = []
    for m in reader.members():
        name = m.name.rstrip("/")
        parent, _, base = name.rpartition("/")
        if m.type == b"5":
            os.mkdir(base, 0o755, dir_fd=dirs[parent])
            dirs[name] = os.open(base, os.O_PATH | os.O_DIRECTORY, dir_fd=dirs[parent])
            continue
        body = b"".join(reader.read_data(m))
        for _ in range(spin):
            pass
        item = (dirs[parent], base, body, (m.mode & 0o755) | 0o644, int(m.mtime))
        if thread is None:
            _write([item])
            continue
        items.append(item)
        if len(items) >= batch:
            with cond:
                while state["queued"] >= 4:  # type: ignore[operator]
                    cond.wait()
                queue.append(items)
                state["queued"] += 1  # type: ignore[operator]
                cond.notify_all()
            items = []
    if thread is not None:
        with cond:
            if items:
                queue.append(items)
            state["done"] = True
            cond.notify_all()
        thread.join()
    sys.setswitchinterval(old)
    t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    if state["error"] is not None:
        raise state["error"]  # type: ignore[misc]
    return t1 - t0, r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime


def bench(
    layer_blob: Path, rounds: int, out_dir: Path, *, keep: bool = False, work_us: float = 0.0
) -> dict[str, object]:
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="writer-thread-", dir=out_dir))
    tar = scratch / "layer.tar"
    with gzip.open(layer_blob, "rb") as src, open(tar, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    samples: dict[str, list[tuple[float, ...]]] = {}
    try:
        for r in range(rounds):
            for mode, switch, batch in VARIANTS:
                label = f"{mode} switch={switch or 'default'} batch={batch}"
                root = scratch / f"r{r}-{len(samples.get(label, []))}-{mode}-{batch}-{switch}"
                argv = [sys.executable, __file__, "--one", str(tar), str(root), mode, str(switch), str(batch)]
                out = subprocess.run(argv + [str(work_us)], check=True, capture_output=True, text=True).stdout
                samples.setdefault(label, []).append(tuple(float(x) for x in out.split()))
                if not keep:
                    shutil.rmtree(root)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"\n== writer thread experiment ({rounds} rounds, {out_dir}, load {os.getloadavg()[0]:.2f})")
    print(f"  {'variant':<40} {'wall':>7} {'user':>7} {'sys':>7}   (medians, s)")
    variants: dict[str, object] = {}
    result: dict[str, object] = {"workload": "writer-thread", "targets": [], "variants": variants}
    for label, runs in samples.items():
        wall, user, system = (statistics.median(x[i] for x in runs) for i in range(3))
        print(f"  {label:<40} {wall:7.3f} {user:7.3f} {system:7.3f}")
        variants[label] = {"wall": wall, "user": user, "sys": system, "runs": runs}
    return result


def main() -> int:
    if sys.argv[1:2] == ["--one"]:
        tar, root, mode, switch, batch, work_us = sys.argv[2:8]
        print(
            *(
                f"{x:.4f}"
                for x in one_run(Path(tar), Path(root), mode, float(switch), int(batch), float(work_us))
            )
        )
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument(
        "--dir", type=Path, default=Path(tempfile.gettempdir()) / "bundle-extract-bench" / "writer-thread"
    )
    p.add_argument("--keep", action="store_true", help="keep the written trees until the end (ext4)")
    p.add_argument("--work-us", type=float, default=0.0)
    p.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "bundle-extract-bench")
    args = p.parse_args()
    sys.path[:0] = [str(Path(__file__).resolve().parent), str(REPO / "registry-fixtures")]
    from workloads import build_files

    image = build_files(args.workdir)[0]
    blob = image.layout / "blobs" / "sha256" / image.layers[0].digest.split(":", 1)[1]
    bench(blob, args.rounds, args.dir, keep=args.keep, work_us=args.work_us)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
