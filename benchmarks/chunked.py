"""The zstd:chunked workload: /configs from a catalog image converted by skopeo to zstd:chunked.

The catalog is built as in ``workloads.build_catalog`` (a 60 MiB and a 40 MiB base layer, a 20 MiB
configs layer; ``BENCH_CHUNKED_SCALE`` scales all three), with tars written the way Go writes
them so the diff_ids hold after ``skopeo copy --dest-compress-format zstd:chunked``.  Contenders:

* bundle-extract on the zstd:chunked image, cold cache (partial fetch: TOCs plus configs chunks);
* bundle-extract on the gzip twin, cold cache (every layer whole: what partial fetch saves);
* skopeo copy + umoci unpack of the gzip twin (umoci 0.4.7 cannot read zstd layers).

Targets: wall(zstd:chunked) / wall(skopeo+umoci) <= 0.2, and bytes the registry sent for the
zstd:chunked pull <= 1.3 x the configs layer's compressed size + 1 MiB.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from workloads import (
    INDEX_CONFIGS,
    FileSpec,
    Image,
    LayerInfo,
    MiB,
    _configs,
    _Hashing,
    _tree,
    _write_layout,
    add_files,
    push,
)

BUILD_VERSION = 1


def _scale() -> float:
    return float(os.environ.get("BENCH_CHUNKED_SCALE", "1"))


def _go_layer(blobs: Path, files: Iterator[FileSpec]) -> LayerInfo:
    """A gzip layer whose tar ends in exactly two zero blocks (no record padding), as Go writes."""
    blobs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=blobs) as tar_file:
        tf = tarfile.open(fileobj=tar_file, mode="w", format=tarfile.PAX_FORMAT)
        add_files(tf, files)
        end = tf.offset
        tf.fileobj = io.BytesIO()  # close() pads to a record: let it pad elsewhere
        tf.close()
        tar_file.truncate(end)
        tar_file.seek(end)
        tar_file.write(b"\0" * 1024)
        tar_file.seek(0)
        fd, tmp_name = tempfile.mkstemp(dir=blobs, suffix=".tmp")
        with os.fdopen(fd, "wb") as raw:
            outer = _Hashing(raw)
            with gzip.GzipFile(fileobj=outer, mode="wb", compresslevel=6, mtime=0) as gz:  # type: ignore[arg-type]
                inner = _Hashing(gz)  # type: ignore[arg-type]
                shutil.copyfileobj(tar_file, inner)  # type: ignore[misc]
    os.replace(tmp_name, blobs / outer.sha.hexdigest())
    return LayerInfo("sha256:" + outer.sha.hexdigest(), outer.size, "sha256:" + inner.sha.hexdigest())


def _skopeo(*args: str) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-skopeo-") as tmp:
        auth = Path(tmp) / "auth.json"
        auth.write_text('{"auths":{}}')
        subprocess.run(
            ["skopeo", "--insecure-policy", *args],
            check=True,
            env=dict(os.environ, REGISTRY_AUTH_FILE=str(auth)),
        )


def build(workdir: Path) -> list[Image]:
    """[zstd:chunked image, its gzip twin]; layouts kept in ``workdir`` between runs."""
    scale = _scale()
    root = workdir / "layouts" / f"chunked-v{BUILD_VERSION}-x{scale:g}"
    gz_path, zs_path = root / "gzip", root / "zstd"
    meta = root / "bench-images.json"
    if not meta.exists():
        shutil.rmtree(root, ignore_errors=True)
        blobs = gz_path / "blobs" / "sha256"
        layers = [
            _go_layer(
                blobs, _tree(random.Random(200), "usr/lib", int(60 * MiB * scale), (4 * 1024, 2 * MiB), 0.3)
            ),
            _go_layer(blobs, _tree(random.Random(201), "bin", int(40 * MiB * scale), (MiB, 20 * MiB), 0.2)),
            _go_layer(blobs, _configs(random.Random(301), int(20 * MiB * scale), 1)),
        ]
        _write_layout(gz_path, "v1", layers, {INDEX_CONFIGS: "/configs"})
        _skopeo(
            "copy", "-q", "--dest-compress-format", "zstd:chunked", f"oci:{gz_path}:v1", f"oci:{zs_path}:v1"
        )
        index = json.loads((zs_path / "index.json").read_text())
        manifest = json.loads(
            (zs_path / "blobs" / "sha256" / index["manifests"][0]["digest"].split(":", 1)[1]).read_text()
        )
        zlayers = [
            LayerInfo(d["digest"], d["size"], la.diff_id)
            for d, la in zip(manifest["layers"], layers, strict=True)
        ]
        meta.write_text(
            json.dumps({"gzip": [la.__dict__ for la in layers], "zstd": [la.__dict__ for la in zlayers]})
        )
    data = json.loads(meta.read_text())
    return [
        Image("chunked", "v1", zs_path, tuple(LayerInfo(**la) for la in data["zstd"]), ()),
        Image("chunked-gzip", "v1", gz_path, tuple(LayerInfo(**la) for la in data["gzip"]), ()),
    ]


def bench(
    images: list[Image],
    host: str,
    rounds: int,
    work: Path,
    log: Path,
    reglog: Any,
    *,
    contender: Callable[..., Any],
    bundle_extract: Callable[..., Any],
    skopeo_umoci: Callable[..., Any],
    run_round: Callable[..., Any],
    report: Callable[..., dict[str, object]],
) -> dict[str, object]:
    zs, gz = images
    zref, gref = push(zs, host), push(gz, host)
    chunked = contender("bundle-extract zstd:chunked (cold)", bundle_extract(zref, host, zs.mode_flags))
    whole = contender("bundle-extract gzip twin (cold)", bundle_extract(gref, host, gz.mode_flags))
    su = contender("skopeo copy + umoci unpack (gzip)", skopeo_umoci(gref, host))
    for r in range(rounds):
        run_round([chunked], 0, work, log, reglog)
        run_round([whole, su], r, work, log)
    configs = zs.layers[-1].size
    fetched = chunked.median_fetched() or 0.0
    print(
        f"\n  zstd:chunked image: {zs.compressed_bytes / MiB:.1f} MiB, configs layer {configs / MiB:.2f} MiB;"
        f" fetched {fetched / MiB:.2f} MiB (limit {(1.3 * configs + MiB) / MiB:.2f} MiB)"
    )
    return report(
        f"zstd:chunked catalog ({zs.compressed_bytes / MiB:.0f} MiB compressed, /configs)",
        [chunked, whole, su],
        [
            ("wall zstd:chunked cold / skopeo+umoci", chunked.median_wall() / su.median_wall(), 0.2),
            ("fetched / (1.3 x configs layer + 1 MiB)", fetched / (1.3 * configs + MiB), 1.0),
        ],
    )
