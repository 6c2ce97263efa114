"""Catalog benchmarks (``make bench`` runs them with the others; ``--workloads catalog-query,catalog-pull``).

* ``catalog-query`` - ``bundle-extract catalog bundles DIR`` on a generated file-based catalog of
  ``--catalog-mb`` MB (default 130, the size of the largest OpenShift catalog: ~6,000 bundles whose
  ``olm.bundle.object`` properties make up the bulk). Target: peak RSS under 150 MiB.
* ``catalog-pull``  - ``bundle-extract pull --from-catalog`` of ``--catalog-bundles`` small bundle images
  (default 200) against a shell loop of ``skopeo copy`` + ``umoci unpack`` per bundle. Target: <= 0.2x
  the loop's wall time.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from regfix.catalogs import bundle_catalog, generate, push_bundle_images
from run import Contender, MiB, report, run_round


def _catalog_dir(work: Path, size_mb: int) -> Path:
    """A generated catalog of about ``size_mb`` MB, cached in the work directory."""
    root = work.parent / "layouts" / f"catalog-fbc-{size_mb}mb-v2"  # v2: no stranded entries
    done = root / ".complete"
    if done.exists():
        return root / "configs"
    packages = max(10, size_mb * 1000 // 130)  # 1,000 packages (~6,000 bundles) for 130 MB
    bundles = packages * 6
    pad = max(0, size_mb * MiB // bundles - 900)  # ~900 bytes of FBC per bundle besides the padding
    gen = generate(packages, seed=130, bundles_per_package=(5, 7), pad_bytes=pad)
    gen.write(root / "configs")
    done.write_text("")
    return root / "configs"


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def bench_catalog_query(rounds: int, work: Path, log: Path, size_mb: int) -> dict[str, Any]:
    configs = _catalog_dir(work, size_mb)
    total = _size(configs)

    def argv(scratch: Path) -> list[str]:
        return [sys.executable, "-m", "imgextract", "catalog", "bundles", str(configs), "--json"]

    be = Contender("bundle-extract catalog bundles", argv)
    for r in range(rounds):
        run_round([be], r, work, log)
    return report(
        f"catalog query ({total / MiB:.0f} MiB of FBC on disk)",
        [be],
        [("peak RSS catalog bundles (MiB)", be.median_rss_mib(), 150.0)],
    )


def bench_catalog_pull(
    host: str, registry: Any, rounds: int, work: Path, log: Path, count: int
) -> dict[str, Any]:
    layouts = work / "catalog-pull-layouts"
    gen, built = bundle_catalog(host, layouts, packages=max(1, count // 5), per_package=5, prefix="benchcat")
    push_bundle_images(registry, built)
    configs = gen.write(work / "catalog-pull-fbc")
    refs = [b.image for b in gen.bundles()]
    refs_file = work / "catalog-pull-refs.txt"
    refs_file.write_text("\n".join(refs) + "\n")

    def ours(scratch: Path) -> list[str]:
        return [
            sys.executable, "-m", "imgextract", "pull", "--from-catalog", str(configs), "-o", str(scratch / "out"),
            "--insecure-registry", host, "--cache-dir", str(scratch / "cache"), "--jobs", "8", "-q",
        ]  # fmt: skip

    def loop(scratch: Path) -> list[str]:
        auth = scratch / "auth.json"
        script = (
            f"echo '{{\"auths\":{{}}}}' > {auth}; export REGISTRY_AUTH_FILE={auth}; i=0; "
            f"while read -r ref; do i=$((i+1)); "
            f"skopeo --insecure-policy copy -q --src-tls-verify=false docker://$ref oci:{scratch}/layout:b$i "
            f"&& umoci unpack --rootless --image {scratch}/layout:b$i {scratch}/b$i >/dev/null || exit 1; "
            f"done < {refs_file}"
        )
        return ["bash", "-c", script]

    be = Contender(f"pull --from-catalog ({len(refs)} bundles)", ours)
    su = Contender("skopeo copy + umoci unpack, per bundle", loop)
    for r in range(rounds):
        run_round([be, su], r, work, log)
    return report(
        f"pull every bundle of a catalog ({len(refs)} small bundle images)",
        [be, su],
        [("wall pull --from-catalog / skopeo+umoci loop", be.median_wall() / su.median_wall(), 0.2)],
    )
