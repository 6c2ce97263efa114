"""Benchmark bundle-extract against skopeo+umoci and the C limit on a local docker-registry.

    python benchmarks/run.py [--rounds 3] [--workloads small,catalog,big,files,...] [--workdir DIR] [--json FILE]

The C limit pipeline is every layer at once, ``curl blob | igzip -dc | tar -x`` (ISA-L inflate, no
verification): what the hardware allows, not a peer.  ``files100k`` and ``huge`` (peak RSS at
100,000 files and at a 2 GiB layer) take minutes to build: name them in ``--workloads`` or set
``BENCH_HUGE=1``.

``render``: BENCH_RENDER_COUNT (default 100) bundle images rendered in one call vs a skopeo+umoci loop;
the warm command then runs BENCH_RENDER_WARM_REPEAT (default 5) more times alone (best run: information).

bundle-extract runs as ``python -m imgextract`` from this checkout (the benchmark's parent directory).

Each contender runs as its own process; wall time is measured around it and peak RSS is the
``ru_maxrss`` that wait4 reports for it, taken by GNU time (or a minimal launcher) so that this
Python process's own RSS does not leak into the figure (for a pipeline: its largest process).
Contenders alternate within each round (the starting one rotates); before each, untimed, ``sync``
and a wait until the machine's CPUs are idle (``settle``); the medians are compared with the
targets as ratios.  Not part of the test suite: ``make bench``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "registry-fixtures"), str(Path(__file__).resolve().parent)]

import chunked  # noqa: E402
from workloads import BUILDERS, DEFAULT, OPT_IN, Image, push  # noqa: E402

BUILDERS = {
    **BUILDERS,
    "chunked": chunked.build,
    "request-cpu": BUILDERS["small"],
    "startup": BUILDERS["small"],
    "writer-thread": BUILDERS["files"],  # an experiment (writerthread.py), run only when named
}

MiB = 1024 * 1024


@dataclass
class Sample:
    wall: float
    rss_kib: int
    cpu: float = 0.0  # user + system seconds of the command and its children
    fetched: int | None = None
    registry_cpu: float | None = None  # user + system seconds the registry process spent meanwhile
    requests: int | None = None  # requests the registry answered meanwhile


@dataclass
class Contender:
    name: str
    command: Callable[[Path], list[str]]  # scratch dir -> argv
    prepare: Callable[[Path], None] | None = None
    samples: list[Sample] = field(default_factory=list)

    def median_wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    def median_cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    def median_rss_mib(self) -> float:
        return statistics.median(s.rss_kib for s in self.samples) / 1024

    def median_fetched(self) -> float | None:
        got = [s.fetched for s in self.samples if s.fetched is not None]
        return statistics.median(got) if got else None

    def median_registry(self) -> tuple[float, float] | None:
        """Median registry CPU seconds and requests per run, when they were measured."""
        got = [(s.registry_cpu, s.requests) for s in self.samples if s.registry_cpu is not None]
        if not got:
            return None
        return statistics.median(c for c, _ in got), statistics.median(n or 0 for _, n in got)


# Peak RSS must be taken by a small parent: Linux carries a process's RSS high-water mark across
# exec, so a command forked straight from this (40 MiB) Python process would inherit that figure.
# GNU time forks the command from a ~2 MiB process and reports its wait4 ru_maxrss; without it, a
# minimal Python launcher does the same with a higher floor (printed at start).
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
open(sys.argv[1], "w").write(f"{usage.ru_maxrss} {usage.ru_utime} {usage.ru_stime}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _wrapped(argv: list[str], rss_file: str) -> list[str]:
    gnu_time = shutil.which("time") or ("/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None)
    if gnu_time:
        return [gnu_time, "-f", "%M %U %S", "-o", rss_file, *argv]
    return [sys.executable, "-I", "-S", "-c", _LAUNCHER, rss_file, *argv]


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, in clock ticks (/proc/stat's first line)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def settle(log: Path, *, window: float = 0.25, quiet: float = 0.1, limit: float = 10.0) -> None:
    """Before a measured run: ``sync`` (earlier contenders' dirty pages are not this one's cost),
    then wait until the machine is idle (under ``quiet`` of its CPUs busy over one ``window``) or
    ``limit`` seconds have passed.  A contender's aftermath (the registry finishing its log, the
    kernel writing back or freeing what the previous process left) then never lands in the next
    one's time.  The same for every contender; a wait that hit the limit is logged."""
    os.sync()
    start = time.monotonic()
    if not os.path.exists("/proc/stat"):
        return
    while True:
        busy0, total0 = _busy_jiffies()
        time.sleep(window)
        busy1, total1 = _busy_jiffies()
        if total1 > total0 and (busy1 - busy0) / (total1 - total0) < quiet:
            return
        if time.monotonic() - start > limit:
            with open(log, "a") as out:
                out.write(f"settle: machine still busy after {limit:.0f} s; measuring anyway\n")
            return


def measure(argv: list[str], log: Path) -> Sample:
    """Wall time around the whole command; peak RSS (KiB) of its largest process, via wait4."""
    with tempfile.NamedTemporaryFile("r", prefix="bench-rss-", suffix=".txt") as rss, open(log, "ab") as out:
        wrapped = _wrapped(argv, rss.name)
        start = time.perf_counter()
        proc = subprocess.run(
            wrapped, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=REPO
        )
        wall = time.perf_counter() - start
        lines = [ln for ln in open(rss.name).read().splitlines() if ln.strip()]
    if proc.returncode != 0:
        raise SystemExit(
            f"benchmark command failed ({proc.returncode}): {shlex.join(argv)}\n"
            f"see {log}:\n{log.read_text(errors='replace')[-3000:]}"
        )
    rss_kib, user, system = lines[-1].split()
    return Sample(wall, int(rss_kib), float(user) + float(system))


class RegistryLog:
    """Bytes the registry wrote in responses, from distribution's ``http.response.written`` log fields."""

    _WRITTEN = re.compile(r"http\.response\.written=(\d+)")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mark = 0

    def start(self) -> None:
        self.mark = self.path.stat().st_size

    def written(self) -> int:
        time.sleep(0.2)  # the registry logs after the response completes
        with open(self.path, "rb") as f:
            f.seek(self.mark)
            text = f.read().decode(errors="replace")
        return sum(int(m.group(1)) for m in self._WRITTEN.finditer(text))


class RegistryWork:
    """What the registry did while one command ran: its CPU (user + system seconds of the
    docker-registry process, from ``/proc/PID/stat``) and the requests it answered (distribution's
    ``response completed`` log lines).  On a machine whose cores the registry shares with the
    contender, a contender's wall time includes the registry's work for it."""

    _DONE = re.compile(rb'msg="response completed"')

    def __init__(self, pid: int, log_path: Path) -> None:
        self.pid = pid
        self.log_path = log_path
        self.ticks = 0
        self.mark = 0

    def _ticks(self) -> int:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)

    def start(self) -> None:
        self.ticks = self._ticks()
        self.mark = self.log_path.stat().st_size

    def stop(self, sample: Sample) -> None:
        time.sleep(0.2)  # the registry logs after the response completes
        sample.registry_cpu = (self._ticks() - self.ticks) / os.sysconf("SC_CLK_TCK")
        with open(self.log_path, "rb") as f:
            f.seek(self.mark)
            sample.requests = len(self._DONE.findall(f.read()))


def env_prefix(host: str, tmp: Path) -> list[str]:
    auth = tmp / "auth.json"
    if not auth.exists():
        auth.write_text('{"auths":{}}')
    return ["env", f"REGISTRY_AUTH_FILE={auth}"]


def bundle_extract(
    ref: str, host: str, flags: Sequence[str], *, cache: str = "cold"
) -> Callable[[Path], list[str]]:
    def argv(scratch: Path) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "imgextract",
            "pull",
            ref,
            "-o",
            str(scratch / "out"),
            *flags,
            "--insecure-registry",
            host,
            "-q",
        ]
        if cache == "off":
            cmd.append("--no-cache")
        else:
            cmd += ["--cache-dir", str(scratch / "cache")]
        return cmd

    return argv


def skopeo_umoci(ref: str, host: str) -> Callable[[Path], list[str]]:
    def argv(scratch: Path) -> list[str]:
        script = (
            f"skopeo --insecure-policy copy -q --src-tls-verify=false docker://{ref} "
            f"oci:{scratch}/layout:bench && umoci unpack --rootless --image {scratch}/layout:bench "
            f"{scratch}/bundle >/dev/null"
        )
        return [*env_prefix(host, scratch.parent), "sh", "-c", script]

    return argv


def curl_tar(image: Image, host: str) -> Callable[[Path], list[str]]:
    def argv(scratch: Path) -> list[str]:
        lines = ["set -e -o pipefail", f"mkdir -p {scratch}/out"]
        for la in image.layers:
            lines.append(
                f"curl -sSf http://{host}/v2/bench/{image.name}/blobs/{la.digest} "
                f"| tar -xzf - -C {scratch}/out"
            )
        return ["bash", "-c", "\n".join(lines)]

    return argv


def limit_pipeline(image: Image, host: str) -> Callable[[Path], list[str]]:
    """Every layer at once: ``curl | igzip -dc | tar -x`` into one directory; fails if any fails."""

    def argv(scratch: Path) -> list[str]:
        lines = ["set -o pipefail", f"mkdir -p {scratch}/out", "pids="]
        for la in image.layers:
            lines.append(
                f"(curl -sSf http://{host}/v2/bench/{image.name}/blobs/{la.digest} "
                f'| igzip -dc | tar -xf - -C {scratch}/out) & pids="$pids $!"'
            )
        lines.append("rc=0; for p in $pids; do wait $p || rc=1; done; exit $rc")
        return ["bash", "-c", "\n".join(lines)]

    return argv


def run_round(
    contenders: list[Contender],
    round_no: int,
    work: Path,
    log: Path,
    reglog: RegistryLog | None = None,
    regwork: RegistryWork | None = None,
) -> None:
    order = contenders[round_no % len(contenders) :] + contenders[: round_no % len(contenders)]
    for c in order:
        scratch = Path(tempfile.mkdtemp(prefix=f"{c.name.split()[0]}-", dir=work))
        try:
            if c.prepare is not None:
                c.prepare(scratch)
            settle(log)
            if reglog is not None:
                reglog.start()
            if regwork is not None:
                regwork.start()
            sample = measure(c.command(scratch), log)
            if reglog is not None:
                sample.fetched = reglog.written()
            if regwork is not None:
                regwork.stop(sample)
            c.samples.append(sample)
        finally:
            _SCRATCH.append(scratch)  # removed at the end of the run, not before the next contender


# Every contender's output stays until the end of the run.  Removing it before the next contender
# ran made the next one pay: on ext4 without a journal (this machine's), creating a file skips
# every inode of its block group freed in the last 60 s (300 s more while the inode table block
# is dirty), and reads each one's table block to find that out; after a 40,000-file tree was
# removed, each create cost ~0.5 ms of system time instead of ~0.02 ms, so whichever contender
# ran first won by 3-4x (tar itself took 27 s for what it does in 1.6 s on a quiet volume).
_SCRATCH: list[Path] = []


def remove_scratch() -> None:
    twin = sys.modules.get("run")  # catalogs.py imports this file as ``run``: a second _SCRATCH
    for pending in (_SCRATCH, getattr(twin, "_SCRATCH", [])):
        while pending:
            shutil.rmtree(pending.pop(), ignore_errors=True)


def report(
    title: str, contenders: list[Contender], targets: list[tuple[str, float, float]]
) -> dict[str, object]:
    print(f"\n== {title}")
    print(f"  {'contender':<34} {'wall (median)':>14} {'CPU':>8} {'peak RSS':>10} {'runs':>30}")
    for c in contenders:
        runs = " ".join(f"{s.wall:.3f}" for s in c.samples)
        fetched = c.median_fetched()
        extra = f"  fetched {fetched / MiB:.2f} MiB" if fetched is not None else ""
        print(
            f"  {c.name:<34} {c.median_wall():>12.3f} s {c.median_cpu():>6.2f} s"
            f" {c.median_rss_mib():>6.1f} MiB {runs:>30}{extra}"
        )
    results = []
    for label, value, limit in targets:
        ok = value <= limit
        info = "(info)" in label  # shown beside a target, not one itself
        verdict = ("under" if ok else "over") if info else ("PASS" if ok else "FAIL")
        print(f"  target {label:<52} {value:8.3f} <= {limit:<6g} {verdict}")
        if not info:
            results.append({"target": label, "value": round(value, 4), "limit": limit, "pass": ok})
    return {
        "title": title,
        "targets": results,
        "contenders": [
            {
                "name": c.name,
                "wall_median_s": round(c.median_wall(), 4),
                "cpu_median_s": round(c.median_cpu(), 4),
                "rss_median_mib": round(c.median_rss_mib(), 1),
                "walls": [round(s.wall, 4) for s in c.samples],
                "fetched_median": c.median_fetched(),
            }
            for c in contenders
        ],
    }


def bench_small(images: list[Image], host: str, rounds: int, work: Path, log: Path) -> dict[str, object]:
    im = images[0]
    ref = push(im, host)
    be = Contender("bundle-extract (cold cache)", bundle_extract(ref, host, im.mode_flags))
    su = Contender("skopeo copy + umoci unpack", skopeo_umoci(ref, host))
    cl = Contender("C limit: curl|igzip|tar, all layers", limit_pipeline(im, host))
    for r in range(rounds):
        run_round([be, su, cl], r, work, log)
    return report(
        f"small bundle ({im.compressed_bytes / 1024:.0f} KiB compressed, {len(im.layers)} layers)",
        [be, su, cl],
        [("wall bundle-extract / skopeo+umoci", be.median_wall() / su.median_wall(), 3.0)],
    )


def bench_big(images: list[Image], host: str, rounds: int, work: Path, log: Path) -> dict[str, object]:
    im = images[0]
    ref = push(im, host)
    be = Contender("bundle-extract --all (cold cache)", bundle_extract(ref, host, im.mode_flags))
    nc = Contender("bundle-extract --all --no-cache", bundle_extract(ref, host, im.mode_flags, cache="off"))
    su = Contender("skopeo copy + umoci unpack", skopeo_umoci(ref, host))
    cl = Contender("C limit: curl|igzip|tar, all layers", limit_pipeline(im, host))
    everyone = [be, nc, su, cl]
    for r in range(rounds):
        run_round(everyone, r, work, log)
    return report(
        f"{len(im.layers)}-layer image ({im.compressed_bytes / MiB:.0f} MiB compressed)",
        everyone,
        [
            ("wall bundle-extract / C limit", be.median_wall() / cl.median_wall(), 1.4),
            ("wall bundle-extract --no-cache / C limit", nc.median_wall() / cl.median_wall(), 1.4),
            ("CPU bundle-extract --no-cache / C limit (info)", nc.median_cpu() / cl.median_cpu(), 1.4),
            (
                "wall bundle-extract / skopeo+umoci (first round: 0.6)",
                be.median_wall() / su.median_wall(),
                0.6,
            ),
            ("peak RSS bundle-extract (MiB)", be.median_rss_mib(), 100.0),
            ("peak RSS bundle-extract --no-cache (MiB)", nc.median_rss_mib(), 100.0),
        ],
    )


def bench_files(images: list[Image], host: str, rounds: int, work: Path, log: Path) -> dict[str, object]:
    im = images[0]
    ref = push(im, host)
    be = Contender("bundle-extract /configs (cold cache)", bundle_extract(ref, host, im.mode_flags))
    su = Contender("skopeo copy + umoci unpack", skopeo_umoci(ref, host))
    cl = Contender("C limit: curl|igzip|tar, all layers", limit_pipeline(im, host))
    everyone = [be, su, cl]
    for r in range(rounds):
        run_round(everyone, r, work, log)
    return report(
        f"many small files, one layer ({im.compressed_bytes / MiB:.0f} MiB compressed)",
        everyone,
        [
            ("wall bundle-extract / C limit", be.median_wall() / cl.median_wall(), 1.15),
            ("CPU bundle-extract / C limit (info)", be.median_cpu() / cl.median_cpu(), 1.15),
            ("wall bundle-extract / skopeo+umoci", be.median_wall() / su.median_wall(), 1.0),
            ("peak RSS bundle-extract (MiB)", be.median_rss_mib(), 100.0),
        ],
    )


def bench_rss(
    images: list[Image], host: str, rounds: int, work: Path, log: Path, baseline_mib: float | None
) -> dict[str, object]:
    """Peak RSS only (one round is enough): flat means within 100 MiB and near the small workloads'."""
    im = images[0]
    ref = push(im, host)
    be = Contender(f"bundle-extract {im.name}", bundle_extract(ref, host, im.mode_flags))
    for r in range(max(1, min(rounds, 2))):
        run_round([be], r, work, log)
    targets = [("peak RSS bundle-extract (MiB)", be.median_rss_mib(), 100.0)]
    if baseline_mib:
        targets.append(
            ("peak RSS / peak RSS of the 40,000-file run", be.median_rss_mib() / baseline_mib, 1.2)
        )
    return report(f"peak RSS, {im.name} ({im.compressed_bytes / MiB:.0f} MiB compressed)", [be], targets)


def bench_catalog(
    images: list[Image], host: str, rounds: int, work: Path, log: Path, reglog: RegistryLog
) -> dict[str, object]:
    v1, v2 = images
    ref1, ref2 = push(v1, host), push(v2, host)
    be = Contender("bundle-extract /configs (cold)", bundle_extract(ref1, host, v1.mode_flags))
    su = Contender("skopeo copy + umoci unpack", skopeo_umoci(ref1, host))

    def warm_up(scratch: Path) -> None:  # pull v1 into the cache this run will use
        argv = bundle_extract(ref1, host, v1.mode_flags)(scratch)
        argv[argv.index("-o") + 1] = str(scratch / "out-v1")
        measure(argv, log)

    warm = Contender(
        "bundle-extract v1 -> v2 (warm)", bundle_extract(ref2, host, v2.mode_flags), prepare=warm_up
    )
    for r in range(rounds):
        run_round([be, su], r, work, log)
        run_round([warm], 0, work, log, reglog)
    changed = [la for la in v2.layers if la not in v1.layers]
    changed_bytes = sum(la.size for la in changed)
    fetched = warm.median_fetched() or 0.0
    print(f"\n  catalog v2 changed layer(s): {len(changed)}, {changed_bytes / MiB:.2f} MiB compressed")
    return report(
        f"catalog ({v1.compressed_bytes / MiB:.0f} MiB compressed, /configs)",
        [be, su, warm],
        [
            ("wall bundle-extract cold / skopeo+umoci", be.median_wall() / su.median_wall(), 0.5),
            ("warm re-pull fetched / changed layer bytes", fetched / changed_bytes, 1.1),
        ],
    )


def _registry_work(contenders: list[Contender], images: int, result: dict[str, object]) -> None:
    """Print (and add to ``result``) what the registry did for each contender: its CPU and its
    requests per image (medians), and each contender's CPU plus the registry's."""
    rows = []
    for c in contenders:
        got = c.median_registry()
        if got is None:
            continue
        cpu, requests = got
        own = c.median_cpu()
        rows.append({"name": c.name, "registry_cpu_s": round(cpu, 3), "requests": requests})
        print(
            f"  registry for {c.name:<36} CPU {cpu:5.2f} s, {requests / images:5.2f} requests/image;"
            f" with the contender's CPU {own + cpu:5.2f} s"
        )
    if rows:
        result["registry"] = rows


def bench_render(
    images: list[Image], host: str, rounds: int, work: Path, log: Path, regwork: RegistryWork | None = None
) -> dict[str, object]:
    """N bundle images: one ``render`` call (cold, then warm cache) against the per-bundle shell loop
    catalog pipelines run today (skopeo copy + umoci unpack for each bundle)."""
    refs = [push(im, host) for im in images]

    def render(scratch: Path) -> list[str]:
        return [
            sys.executable,
            "-m",
            "imgextract",
            "render",
            *refs,
            "-o",
            "json",
            "--insecure-registry",
            host,
            "-q",
            "--cache-dir",
            str(scratch / "cache"),
        ]

    def loop(scratch: Path) -> list[str]:
        body = " && ".join(
            f"skopeo --insecure-policy copy -q --src-tls-verify=false docker://{ref} oci:{scratch}/l{i}:b "
            f"&& umoci unpack --rootless --image {scratch}/l{i}:b {scratch}/b{i} >/dev/null"
            for i, ref in enumerate(refs)
        )
        return [*env_prefix(host, scratch.parent), "sh", "-c", body]

    def warm_up(scratch: Path) -> None:
        measure(render(scratch), log)

    cold = Contender(f"bundle-extract render x{len(refs)} (cold)", render)
    warm = Contender(f"bundle-extract render x{len(refs)} (warm)", render, prepare=warm_up)
    su = Contender(f"skopeo copy + umoci unpack loop x{len(refs)}", loop)
    # the registry alone answering the cold render's request set from idle plain clients
    # (replay.py): the floor under the cold render's wall time on these cores (information)
    alone = Contender(
        "registry alone, cold render's requests",
        lambda scratch: [sys.executable, str(Path(__file__).resolve().parent / "replay.py"), host, *refs],
    )
    for r in range(rounds):
        run_round([cold, warm, su, alone], r, work, log, regwork=regwork)
    # the warm command alone, again and again on one warm cache: its best run says what the code
    # costs when nothing else competes for the two CPUs (informational; the target is the median's)
    again = Contender(f"render x{len(refs)} warm, best of N", render)
    repeat = int(os.environ.get("BENCH_RENDER_WARM_REPEAT", "5"))
    if repeat > 0:
        scratch = Path(tempfile.mkdtemp(prefix="render-again-", dir=work))
        _SCRATCH.append(scratch)
        warm_up(scratch)
        for _ in range(repeat):
            settle(log)
            again.samples.append(measure(render(scratch), log))
    result = report(
        f"render {len(refs)} bundle images in one call",
        [cold, warm, su, alone],
        [
            ("wall render cold / skopeo+umoci loop", cold.median_wall() / su.median_wall(), 0.2),
            ("wall render warm / skopeo+umoci loop", warm.median_wall() / su.median_wall(), 0.05),
            ("(info) registry alone / skopeo+umoci loop", alone.median_wall() / su.median_wall(), 0.2),
        ],
    )
    print(
        f"  render cold / registry alone (the floor on these cores): {cold.median_wall() / alone.median_wall():.2f}"
    )
    _registry_work([cold, warm, su, alone], len(refs), result)
    if again.samples:
        best = min(again.samples, key=lambda s: s.wall)
        walls = " ".join(f"{s.wall:.3f}" for s in again.samples)
        print(
            f"  warm again x{len(again.samples)}: best {best.wall:.3f} s (CPU {best.cpu:.2f} s), "
            f"median {again.median_wall():.3f} s (CPU {again.median_cpu():.2f} s); runs {walls}"
        )
        print(
            f"  target (info) {'wall best warm / skopeo+umoci loop':<45} {best.wall / su.median_wall():8.3f}"
        )
        result["warm_again"] = {
            "walls": [round(s.wall, 4) for s in again.samples],
            "cpus": [round(s.cpu, 4) for s in again.samples],
        }
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    default = [
        *DEFAULT,
        *("chunked", "render", "catalog-query", "catalog-pull", "request-cpu", "startup"),
        *(OPT_IN if os.environ.get("BENCH_HUGE") == "1" else ()),
    ]
    p.add_argument("--workloads", default=",".join(default), help=f"any of {', '.join(BUILDERS)}")
    p.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "bundle-extract-bench",
        help="built layouts are kept here between runs",
    )
    p.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    p.add_argument("--catalog-mb", type=int, default=130, help="catalog-query: size of the generated catalog")
    p.add_argument("--catalog-bundles", type=int, default=200, help="catalog-pull: number of bundle images")
    args = p.parse_args(argv)
    names = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = set(names) - set(BUILDERS)
    if unknown:
        p.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    for tool in ("skopeo", "umoci", "curl", "tar", "igzip", "docker-registry"):
        if shutil.which(tool) is None:
            p.error(f"{tool} not found (make system-deps)")

    from regfix.registry import start_registry

    args.workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"host: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, workdir {args.workdir}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    # bundle-extract runs from this checkout: byte-compile it now, as installing a package does (with
    # PYTHONDONTWRITEBYTECODE set, a module edited since the last compile would be compiled in every run)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "imgextract")], check=True)
    floor = measure(["true"], Path(os.devnull))
    print(f"RSS measurement floor (an empty command): {floor.rss_kib / 1024:.1f} MiB")
    built: dict[str, list[Image]] = {}
    for name in names:
        t = time.perf_counter()
        built[name] = BUILDERS[name](args.workdir)
        print(f"workload {name}: ready in {time.perf_counter() - t:.1f} s")
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=args.workdir))
    log = run_dir / "commands.log"
    results: list[dict[str, object]] = []
    files_rss: float | None = None
    try:
        with start_registry(run_dir / "registry") as reg:
            reglog = RegistryLog(reg.log_path)
            for name in names:
                if name == "small":
                    results.append(bench_small(built[name], reg.host, args.rounds, run_dir, log))
                elif name == "big":
                    results.append(bench_big(built[name], reg.host, args.rounds, run_dir, log))
                elif name == "files":
                    results.append(bench_files(built[name], reg.host, args.rounds, run_dir, log))
                    files_rss = _rss_of(results[-1], "bundle-extract")
                elif name in OPT_IN:
                    results.append(bench_rss(built[name], reg.host, args.rounds, run_dir, log, files_rss))
                elif name == "request-cpu":
                    import requestcpu

                    results.append(requestcpu.bench(push(built["request-cpu"][0], reg.host), reg.host, REPO))
                elif name == "writer-thread":
                    import writerthread

                    im = built[name][0]
                    blob = im.layout / "blobs" / "sha256" / im.layers[0].digest.split(":", 1)[1]
                    results.append(
                        writerthread.bench(blob, max(args.rounds, 3), run_dir / "writer-thread", keep=True)
                    )
                elif name == "startup":
                    import startup

                    results.append(startup.bench(push(built["startup"][0], reg.host), reg.host, REPO))
                elif name == "catalog-query":
                    from catalogs import bench_catalog_query

                    results.append(bench_catalog_query(args.rounds, run_dir, log, args.catalog_mb))
                elif name == "catalog-pull":
                    from catalogs import bench_catalog_pull

                    results.append(
                        bench_catalog_pull(reg.host, reg, args.rounds, run_dir, log, args.catalog_bundles)
                    )
                elif name == "render":
                    regwork = RegistryWork(reg.process.pid, reg.log_path)
                    results.append(bench_render(built[name], reg.host, args.rounds, run_dir, log, regwork))
                elif name == "chunked":
                    results.append(
                        chunked.bench(
                            built[name],
                            reg.host,
                            args.rounds,
                            run_dir,
                            log,
                            reglog,
                            contender=Contender,
                            bundle_extract=bundle_extract,
                            skopeo_umoci=skopeo_umoci,
                            run_round=run_round,
                            report=report,
                        )
                    )
                else:
                    results.append(bench_catalog(built[name], reg.host, args.rounds, run_dir, log, reglog))
    finally:
        shutil.rmtree(run_dir / "registry" / "storage", ignore_errors=True)
        remove_scratch()
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    failed = [t for r in results for t in r["targets"] if not t["pass"]]  # type: ignore[attr-defined]
    print(f"{len(failed)} target(s) missed" if failed else "every target met")
    return 0


def _rss_of(result: dict[str, object], prefix: str) -> float | None:
    for c in result["contenders"]:  # type: ignore[attr-defined]
        if c["name"].startswith(prefix):
            return float(c["rss_median_mib"])
    return None


if __name__ == "__main__":
    sys.exit(main())
