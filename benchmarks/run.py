"""Benchmark bundle-extract against skopeo+umoci and curl|tar on a local docker-registry.

    python benchmarks/run.py [--rounds 3] [--workloads small,catalog,big,render] [--workdir DIR] [--json FILE]

``render``: BENCH_RENDER_COUNT (default 100) bundle images rendered in one call vs a skopeo+umoci loop.

bundle-extract runs as ``python -m imgextract`` from this checkout (the benchmark's parent directory).

Each contender runs as its own process; wall time is measured around it and peak RSS is the
``ru_maxrss`` that wait4 reports for it, taken by GNU time (or a minimal launcher) so that this
Python process's own RSS does not leak into the figure (for a pipeline: its largest process).
Contenders alternate within each round (the starting one rotates) and the medians are compared with
the performance targets.  Not part of the test suite: ``make bench``.
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
from workloads import BUILDERS, Image, push  # noqa: E402

BUILDERS = {**BUILDERS, "chunked": chunked.build}

MiB = 1024 * 1024


@dataclass
class Sample:
    wall: float
    rss_kib: int
    fetched: int | None = None


@dataclass
class Contender:
    name: str
    command: Callable[[Path], list[str]]  # scratch dir -> argv
    prepare: Callable[[Path], None] | None = None
    samples: list[Sample] = field(default_factory=list)

    def median_wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    def median_rss_mib(self) -> float:
        return statistics.median(s.rss_kib for s in self.samples) / 1024

    def median_fetched(self) -> float | None:
        got = [s.fetched for s in self.samples if s.fetched is not None]
        return statistics.median(got) if got else None


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
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _wrapped(argv: list[str], rss_file: str) -> list[str]:
    gnu_time = shutil.which("time") or ("/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None)
    if gnu_time:
        return [gnu_time, "-f", "%M", "-o", rss_file, *argv]
    return [sys.executable, "-I", "-S", "-c", _LAUNCHER, rss_file, *argv]


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
    return Sample(wall, int(lines[-1]))


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


def run_round(
    contenders: list[Contender], round_no: int, work: Path, log: Path, reglog: RegistryLog | None = None
) -> None:
    order = contenders[round_no % len(contenders) :] + contenders[: round_no % len(contenders)]
    for c in order:
        scratch = Path(tempfile.mkdtemp(prefix=f"{c.name.split()[0]}-", dir=work))
        try:
            if c.prepare is not None:
                c.prepare(scratch)
            if reglog is not None:
                reglog.start()
            sample = measure(c.command(scratch), log)
            if reglog is not None:
                sample.fetched = reglog.written()
            c.samples.append(sample)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def report(
    title: str, contenders: list[Contender], targets: list[tuple[str, float, float]]
) -> dict[str, object]:
    print(f"\n== {title}")
    print(f"  {'contender':<34} {'wall (median)':>14} {'peak RSS':>10} {'runs':>30}")
    for c in contenders:
        runs = " ".join(f"{s.wall:.3f}" for s in c.samples)
        fetched = c.median_fetched()
        extra = f"  fetched {fetched / MiB:.2f} MiB" if fetched is not None else ""
        print(f"  {c.name:<34} {c.median_wall():>12.3f} s {c.median_rss_mib():>6.1f} MiB {runs:>30}{extra}")
    results = []
    for label, value, limit in targets:
        ok = value <= limit
        print(f"  target {label:<52} {value:8.3f} <= {limit:<6g} {'PASS' if ok else 'FAIL'}")
        results.append({"target": label, "value": round(value, 4), "limit": limit, "pass": ok})
    return {
        "title": title,
        "targets": results,
        "contenders": [
            {
                "name": c.name,
                "wall_median_s": round(c.median_wall(), 4),
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
    for r in range(rounds):
        run_round([be, su], r, work, log)
    return report(
        f"small bundle ({im.compressed_bytes / 1024:.0f} KiB compressed, {len(im.layers)} layers)",
        [be, su],
        [("wall bundle-extract / skopeo+umoci", be.median_wall() / su.median_wall(), 3.0)],
    )


def bench_big(images: list[Image], host: str, rounds: int, work: Path, log: Path) -> dict[str, object]:
    im = images[0]
    ref = push(im, host)
    be = Contender("bundle-extract --all (cold cache)", bundle_extract(ref, host, im.mode_flags))
    nc = Contender("bundle-extract --all --no-cache", bundle_extract(ref, host, im.mode_flags, cache="off"))
    su = Contender("skopeo copy + umoci unpack", skopeo_umoci(ref, host))
    ct = Contender("curl | tar -xz (per layer)", curl_tar(im, host))
    everyone = [be, nc, su, ct]
    for r in range(rounds):
        run_round(everyone, r, work, log)
    return report(
        f"{len(im.layers)}-layer image ({im.compressed_bytes / MiB:.0f} MiB compressed)",
        everyone,
        [
            ("wall bundle-extract / skopeo+umoci", be.median_wall() / su.median_wall(), 0.6),
            ("wall bundle-extract / curl|tar", be.median_wall() / ct.median_wall(), 1.1),
            ("peak RSS bundle-extract (MiB)", be.median_rss_mib(), 100.0),
            ("peak RSS bundle-extract --no-cache (MiB)", nc.median_rss_mib(), 100.0),
        ],
    )


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
            ("wall bundle-extract cold / skopeo+umoci", be.median_wall() / su.median_wall(), 0.6),
            ("warm re-pull fetched / changed layer bytes", fetched / changed_bytes, 1.1),
        ],
    )


def bench_render(images: list[Image], host: str, rounds: int, work: Path, log: Path) -> dict[str, object]:
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
    for r in range(rounds):
        run_round([cold, warm, su], r, work, log)
    return report(
        f"render {len(refs)} bundle images in one call",
        [cold, warm, su],
        [
            ("wall render cold / skopeo+umoci loop", cold.median_wall() / su.median_wall(), 0.2),
            ("wall render warm / skopeo+umoci loop", warm.median_wall() / su.median_wall(), 0.05),
        ],
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workloads", default="small,catalog,big,chunked,render,catalog-query,catalog-pull")
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
    for tool in ("skopeo", "umoci", "curl", "tar", "docker-registry"):
        if shutil.which(tool) is None:
            p.error(f"{tool} not found (make system-deps)")

    from regfix.registry import start_registry

    args.workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"host: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, workdir {args.workdir}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    floor = measure(["true"], Path(os.devnull))
    print(f"RSS measurement floor (an empty command): {floor.rss_kib / 1024:.1f} MiB")
    built: dict[str, list[Image]] = {}
    for name in names:
        t = time.perf_counter()
        built[name] = BUILDERS[name](args.workdir)
        print(f"workload {name}: ready in {time.perf_counter() - t:.1f} s")
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=args.workdir))
    log = run_dir / "commands.log"
    results = []
    try:
        with start_registry(run_dir / "registry") as reg:
            reglog = RegistryLog(reg.log_path)
            for name in names:
                if name == "small":
                    results.append(bench_small(built[name], reg.host, args.rounds, run_dir, log))
                elif name == "big":
                    results.append(bench_big(built[name], reg.host, args.rounds, run_dir, log))
                elif name == "catalog-query":
                    from catalogs import bench_catalog_query

                    results.append(bench_catalog_query(args.rounds, run_dir, log, args.catalog_mb))
                elif name == "catalog-pull":
                    from catalogs import bench_catalog_pull

                    results.append(
                        bench_catalog_pull(reg.host, reg, args.rounds, run_dir, log, args.catalog_bundles)
                    )
                elif name == "render":
                    results.append(bench_render(built[name], reg.host, args.rounds, run_dir, log))
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
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
