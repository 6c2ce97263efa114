"""Benchmark workloads, written as OCI layouts (streamed to disk, never whole in memory) and pushed with skopeo.

* ``small``   - a registry+v1 operator bundle, one layer (regfix's fixture bundle).
* ``catalog`` - a file-based catalog: two base layers (binaries, libraries) and a ``/configs`` layer;
                ``catalog:v2`` differs from ``v1`` only in the configs layer (for the warm re-pull).
* ``big``     - a four-layer image, ~320 MB uncompressed, half incompressible and half text-like files.
* ``files``   - 40,000 small FBC-like JSON files (~60 MB) in one layer, label ``configs.v1=/configs``.
* ``files100k`` (opt-in) - the same shape with 100,000 files (~150 MB): peak RSS must stay flat.
* ``huge``    (opt-in) - one 2 GiB layer (4 MiB files, half incompressible): peak RSS must stay flat.

Layouts are cached in the work directory by name and builder version, so a second run only pushes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

BUILDER_VERSION = "1"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
INDEX_CONFIGS = "operators.operatorframework.io.index.configs.v1"
MiB = 1024 * 1024


@dataclass(frozen=True)
class LayerInfo:
    digest: str
    size: int
    diff_id: str


@dataclass(frozen=True)
class Image:
    name: str  # workload name, also the repository under bench/
    tag: str
    layout: Path  # OCI layout directory
    layers: tuple[LayerInfo, ...]
    mode_flags: tuple[str, ...]  # what bundle-extract needs to extract the interesting part

    @property
    def compressed_bytes(self) -> int:
        return sum(la.size for la in self.layers)


# ------------------------------------------------------------------------------------------ content


class _Hashing:
    """File-like sink that hashes and counts what passes through."""

    def __init__(self, sink: BinaryIO | None) -> None:
        self.sink = sink
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        if self.sink is not None:
            self.sink.write(data)
        return len(data)

    def flush(self) -> None:
        pass


FileSpec = tuple[str, int, Callable[[int], bytes]]  # path, size, content(size)


def _text(rng: random.Random) -> Callable[[int], bytes]:
    words = [
        bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10)))
        for _ in range(2000)
    ]

    def make(size: int) -> bytes:
        out = bytearray()
        while len(out) < size:
            out += b" ".join(rng.choices(words, k=64)) + b"\n"
        return bytes(out[:size])

    return make


def _random(rng: random.Random) -> Callable[[int], bytes]:
    return rng.randbytes


def _write_layer(blobs: Path, files: Iterator[FileSpec], *, level: int = 6) -> LayerInfo:
    blobs.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=blobs, suffix=".tmp")
    with os.fdopen(fd, "wb") as raw:
        outer = _Hashing(raw)
        with gzip.GzipFile(fileobj=outer, mode="wb", compresslevel=level, mtime=0) as gz:
            inner = _Hashing(gz)  # type: ignore[arg-type]
            with tarfile.open(fileobj=inner, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                add_files(tar, files)
    digest = "sha256:" + outer.sha.hexdigest()
    os.replace(tmp_name, blobs / outer.sha.hexdigest())
    return LayerInfo(digest, outer.size, "sha256:" + inner.sha.hexdigest())


def add_files(tar: tarfile.TarFile, files: Iterator[FileSpec]) -> None:
    """Append ``files`` to ``tar``, each parent directory first (once, mode 0755), every entry
    with the same fixed mtime, so that a rebuild writes the same bytes."""
    dirs: set[str] = set()
    for path, size, content in files:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in dirs:
                dirs.add(d)
                info = tarfile.TarInfo(d)
                info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_700_000_000
                tar.addfile(info)
        info = tarfile.TarInfo(path)
        info.size, info.mode, info.mtime = size, 0o644, 1_700_000_000
        tar.addfile(info, _BytesReader(content(size)))  # type: ignore[arg-type]


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._data, self._pos = data, 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else self._pos + n
        out = self._data[self._pos : end]
        self._pos += len(out)
        return out


def _put_json(blobs: Path, obj: object) -> tuple[str, int]:
    raw = json.dumps(obj, separators=(",", ":")).encode()
    hexd = hashlib.sha256(raw).hexdigest()
    (blobs / hexd).write_bytes(raw)
    return "sha256:" + hexd, len(raw)


def _write_layout(path: Path, tag: str, layers: list[LayerInfo], labels: dict[str, str]) -> None:
    blobs = path / "blobs" / "sha256"
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": {"Labels": labels, "Env": ["PATH=/usr/bin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [la.diff_id for la in layers]},
    }
    cdigest, csize = _put_json(blobs, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": cdigest, "size": csize},
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": la.digest, "size": la.size} for la in layers],
    }
    mdigest, msize = _put_json(blobs, manifest)
    (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    index_path = path / "index.json"
    entries = []
    if index_path.exists():
        entries = [
            m
            for m in json.loads(index_path.read_text())["manifests"]
            if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag
        ]
    entries.append(
        {
            "mediaType": OCI_MANIFEST,
            "digest": mdigest,
            "size": msize,
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }
    )
    index_path.write_text(json.dumps({"schemaVersion": 2, "manifests": entries}))


# ------------------------------------------------------------------------------------------ workloads


def _tree(
    rng: random.Random, prefix: str, total: int, sizes: tuple[int, int], text_share: float
) -> Iterator[FileSpec]:
    text, rand = _text(rng), _random(rng)
    written, i = 0, 0
    while written < total:
        size = min(rng.randint(*sizes), total - written)
        kind = text if rng.random() < text_share else rand
        yield f"{prefix}/d{i // 50:03d}/f{i:05d}", size, kind
        written += size
        i += 1


def _configs(rng: random.Random, total: int, revision: int) -> Iterator[FileSpec]:
    text = _text(rng)
    n = 200
    for p in range(n):

        def content(size: int, p: int = p) -> bytes:
            head = json.dumps(
                {"schema": "olm.package", "name": f"pkg-{p:03d}", "revision": revision}
            ).encode()
            return (head + b"\n" + text(size))[:size]

        yield f"configs/pkg-{p:03d}/catalog.json", total // n, content


def _cached(workdir: Path, name: str, build: Callable[[Path], list[Image]]) -> list[Image]:
    path = workdir / "layouts" / f"{name}-v{BUILDER_VERSION}"
    meta = path / "bench-images.json"
    if meta.exists():
        return [
            Image(
                d["name"],
                d["tag"],
                path,
                tuple(LayerInfo(**la) for la in d["layers"]),
                tuple(d["mode_flags"]),
            )
            for d in json.loads(meta.read_text())
        ]
    shutil.rmtree(path, ignore_errors=True)
    images = build(path)
    meta.write_text(
        json.dumps(
            [
                {
                    "name": im.name,
                    "tag": im.tag,
                    "layers": [la.__dict__ for la in im.layers],
                    "mode_flags": list(im.mode_flags),
                }
                for im in images
            ]
        )
    )
    return images


def build_big(workdir: Path) -> list[Image]:
    def build(path: Path) -> list[Image]:
        blobs = path / "blobs" / "sha256"
        layers = [
            _write_layer(
                blobs, _tree(random.Random(100 + n), f"layer{n}", 80 * MiB, (4 * 1024, 4 * MiB), 0.5)
            )
            for n in range(4)
        ]
        _write_layout(path, "v1", layers, {})
        return [Image("big", "v1", path, tuple(layers), ("--all",))]

    return _cached(workdir, "big", build)


def _fbc_files(rng: random.Random, count: int, total: int) -> Iterator[FileSpec]:
    """FBC-like: ``configs/<package>/`` holding a package blob, channels and many bundle documents."""
    text = _text(rng)
    per_pkg = 20
    mean = total // count
    for i in range(count):
        pkg, n = divmod(i, per_pkg)
        kind = "package" if n == 0 else ("channel" if n < 3 else "bundle")
        size = rng.randint(mean // 4, mean * 7 // 4)

        def content(size: int, pkg: int = pkg, kind: str = kind) -> bytes:
            head = json.dumps({"schema": f"olm.{kind}", "package": f"operator-{pkg:05d}"}).encode()
            return (head + b"\n" + text(size))[:size]

        yield f"configs/operator-{pkg:05d}/{kind}-{n:02d}.json", size, content


def _fast_text(rng: random.Random) -> Callable[[int], bytes]:
    """Text-like bytes for gigabytes: slices of one pre-generated megabyte."""
    block = _text(rng)(2 * MiB)

    def make(size: int) -> bytes:
        start = rng.randrange(0, MiB)
        return (block[start:] * (size // (len(block) - start) + 1))[:size]

    return make


def _huge_tree(rng: random.Random, total: int) -> Iterator[FileSpec]:
    text, rand = _fast_text(rng), _random(rng)
    for i in range(total // (4 * MiB)):
        yield f"data/d{i // 50:03d}/f{i:05d}", 4 * MiB, text if i % 2 else rand


def build_files(workdir: Path, count: int = 40_000, name: str = "files") -> list[Image]:
    def build(path: Path) -> list[Image]:
        blobs = path / "blobs" / "sha256"
        layer = _write_layer(blobs, _fbc_files(random.Random(400), count, count * 1536))
        _write_layout(path, "v1", [layer], {INDEX_CONFIGS: "/configs"})
        return [Image(name, "v1", path, (layer,), ())]

    return _cached(workdir, name, build)


def build_files100k(workdir: Path) -> list[Image]:
    return build_files(workdir, 100_000, "files100k")


def build_huge(workdir: Path) -> list[Image]:
    def build(path: Path) -> list[Image]:
        blobs = path / "blobs" / "sha256"
        layer = _write_layer(blobs, _huge_tree(random.Random(500), 2048 * MiB), level=1)
        _write_layout(path, "v1", [layer], {})
        return [Image("huge", "v1", path, (layer,), ("--all",))]

    return _cached(workdir, "huge", build)


def build_catalog(workdir: Path) -> list[Image]:
    def build(path: Path) -> list[Image]:
        blobs = path / "blobs" / "sha256"
        base = _write_layer(blobs, _tree(random.Random(200), "usr/lib", 60 * MiB, (4 * 1024, 2 * MiB), 0.3))
        opm = _write_layer(blobs, _tree(random.Random(201), "bin", 40 * MiB, (4 * MiB, 20 * MiB), 0.2))
        images = []
        for rev in (1, 2):
            cfg = _write_layer(blobs, _configs(random.Random(300 + rev), 20 * MiB, rev))
            layers = [base, opm, cfg]
            _write_layout(path, f"v{rev}", layers, {INDEX_CONFIGS: "/configs"})
            images.append(Image("catalog", f"v{rev}", path, tuple(layers), ()))
        return images

    return _cached(workdir, "catalog", build)


def build_small(workdir: Path) -> list[Image]:
    def build(path: Path) -> list[Image]:
        from regfix.bundles import registry_v1_bundle
        from regfix.oci import write_layout

        layout = write_layout(path, registry_v1_bundle().spec, "v1")
        layers = tuple(LayerInfo(la.digest, la.size, la.diff_id) for la in layout.image.layers)
        return [Image("small", "v1", path, layers, ())]

    return _cached(workdir, "small", build)


def build_render(workdir: Path) -> list[Image]:
    """``BENCH_RENDER_COUNT`` (default 100) distinct registry+v1 bundles, one repository each: no two
    share a manifest file byte for byte (every CRD carries its bundle's salt), so nothing the renderer
    keeps by content serves one bundle from another's work."""
    import os

    count = int(os.environ.get("BENCH_RENDER_COUNT", "100"))

    def build(path: Path) -> list[Image]:
        from regfix.bundles import registry_v1_bundle
        from regfix.oci import write_layout

        images = []
        for i in range(count):
            tag = f"r{i:03d}"
            spec = registry_v1_bundle(
                package=f"bench-op-{i:03d}", large_crd_bytes=100_000, crd_salt=f"bench-op-{i:03d}"
            ).spec
            layout = write_layout(path, spec, tag)
            layers = tuple(LayerInfo(la.digest, la.size, la.diff_id) for la in layout.image.layers)
            images.append(Image(f"render{i:03d}", tag, path, layers, ()))
        return images

    return _cached(workdir, f"render{count}-distinct", build)


BUILDERS: dict[str, Callable[[Path], list[Image]]] = {
    "render": build_render,
    "small": build_small,
    "catalog": build_catalog,
    "big": build_big,
    "files": build_files,
    "files100k": build_files100k,
    "huge": build_huge,
    # built by benchmarks/catalogs.py itself (generated catalogs and bundle images)
    "catalog-query": lambda workdir: [],
    "catalog-pull": lambda workdir: [],
}
DEFAULT = ("small", "catalog", "big", "files")
OPT_IN = ("files100k", "huge")  # minutes to build: named in --workloads, or BENCH_HUGE=1


def push(image: Image, host: str) -> str:
    """skopeo copy the layout to ``host/bench/<name>:<tag>``; returns the reference."""
    ref = f"{host}/bench/{image.name}:{image.tag}"
    with tempfile.TemporaryDirectory(prefix="bench-skopeo-") as tmp:
        auth = Path(tmp) / "auth.json"
        auth.write_text('{"auths":{}}')
        subprocess.run(
            [
                "skopeo",
                "--insecure-policy",
                "copy",
                "-q",
                "--preserve-digests",
                "--dest-tls-verify=false",
                f"oci:{image.layout}:{image.tag}",
                f"docker://{ref}",
            ],
            check=True,
            env=dict(os.environ, REGISTRY_AUTH_FILE=str(auth)),
        )
    return ref
