"""Test helpers for layers: build tar layers (incl. hostile ones), apply them, snapshot trees,
build OCI layouts and run ``umoci unpack --rootless`` as an oracle."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from imgextract.layers.applier import Applier, Limits
from imgextract.layers.layerstats import LayerStats
from imgextract.layers.pipeline import apply_blob
from imgextract.layers.selection import PathSelection

GZIP_MT = "application/vnd.oci.image.layer.v1.tar+gzip"
ZSTD_MT = "application/vnd.oci.image.layer.v1.tar+zstd"
TAR_MT = "application/vnd.oci.image.layer.v1.tar"
MTIME = 1_600_000_000


@dataclass
class E:
    """One tar entry.  kind: file, dir, sym, link, fifo, chr, blk, raw (pre-built TarInfo)."""

    name: str
    kind: str = "file"
    data: bytes = b""
    target: str = ""
    mode: int | None = None
    mtime: int = MTIME
    pax: dict[str, str] = field(default_factory=dict)
    uid: int = 0
    gid: int = 0


def f(name: str, data: bytes | str = b"", mode: int = 0o644, **kw: object) -> E:
    return E(name, "file", data.encode() if isinstance(data, str) else data, mode=mode, **kw)  # type: ignore[arg-type]


def d(name: str, mode: int = 0o755, **kw: object) -> E:
    return E(name, "dir", mode=mode, **kw)  # type: ignore[arg-type]


def sym(name: str, target: str) -> E:
    return E(name, "sym", target=target, mode=0o777)


def hard(name: str, target: str) -> E:
    return E(name, "link", target=target, mode=0o644)


def wh(path: str) -> E:
    head, _, base = path.rpartition("/")
    return f(f"{head}/.wh.{base}" if head else f".wh.{base}")


def opq(dirpath: str) -> E:
    return f(f"{dirpath.rstrip('/')}/.wh..wh..opq" if dirpath else ".wh..wh..opq")


_KIND = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "sym": tarfile.SYMTYPE,
    "link": tarfile.LNKTYPE,
    "fifo": tarfile.FIFOTYPE,
    "chr": tarfile.CHRTYPE,
    "blk": tarfile.BLKTYPE,
}


def tar_bytes(entries: Iterable[E], *, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for e in entries:
            ti = tarfile.TarInfo(e.name)
            ti.type = _KIND[e.kind]
            ti.mode = e.mode if e.mode is not None else (0o755 if e.kind == "dir" else 0o644)
            ti.mtime = e.mtime
            ti.uid, ti.gid = e.uid, e.gid
            ti.linkname = e.target
            ti.pax_headers = dict(e.pax)
            if e.kind == "file":
                ti.size = len(e.data)
                t.addfile(ti, io.BytesIO(e.data))
            else:
                t.addfile(ti)
    return buf.getvalue()


def raw_header(
    name: str, *, type_: bytes = tarfile.REGTYPE, size: int = 0, linkname: str = "", mode: int = 0o644
) -> bytes:
    """One ustar header block, exactly as given (names up to 100 bytes)."""
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.linkname, ti.mode, ti.mtime = type_, size, linkname, mode, MTIME
    return ti.tobuf(format=tarfile.USTAR_FORMAT)


def pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 512)


def pax_record(key: str, value: str | bytes) -> bytes:
    v = value.encode() if isinstance(value, str) else value
    body = b" " + key.encode() + b"=" + v + b"\n"
    n = len(body) + 1
    while len(str(n).encode()) + len(body) != n:
        n += 1
    return str(n).encode() + body


def ext_member(type_: bytes, payload: bytes, name: str = "././@PaxHeader") -> bytes:
    return raw_header(name, type_=type_, size=len(payload)) + pad(payload)


END = b"\0" * 1024


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


def apply_tars(
    root: Path,
    layers: Sequence[bytes | Sequence[E]],
    *,
    paths: list[str] | None = None,
    limits: Limits | None = None,
    compress: str = "gzip",
    finalize: bool = True,
) -> tuple[Applier, list[LayerStats]]:
    """Apply layers (tar bytes or entry lists) through the real pipeline."""
    applier = Applier(root, PathSelection(paths), limits or Limits())
    stats = []
    try:
        for layer in layers:
            tar = layer if isinstance(layer, bytes) else tar_bytes(layer)
            blob = {"gzip": gz, "zstd": zst, "none": lambda b: b}[compress](tar)
            mt = {"gzip": GZIP_MT, "zstd": ZSTD_MT, "none": TAR_MT}[compress]
            stats.append(
                apply_blob(
                    io.BytesIO(blob),
                    digest=sha256(blob),
                    size=len(blob),
                    media_type=mt,
                    diff_id=sha256(tar),
                    applier=applier,
                )
            )
        if finalize:
            applier.finalize()
    except BaseException:
        applier.close()
        raise
    return applier, stats


# -- tree snapshots ------------------------------------------------------------------------


def snapshot(root: Path, *, mtimes: bool = False) -> dict[str, tuple[object, ...]]:
    """path -> (kind, mode, content digest | link target, link group) without following links."""
    out: dict[str, tuple[object, ...]] = {}
    inodes: dict[tuple[int, int], list[str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = Path(dirpath, name)
            rel = str(p.relative_to(root))
            st = p.lstat()
            if stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = ("sym", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                rec: tuple[object, ...] = (
                    "file",
                    stat.S_IMODE(st.st_mode),
                    hashlib.sha256(p.read_bytes()).hexdigest(),
                )
                if mtimes:
                    rec += (int(st.st_mtime),)
                out[rel] = rec
                inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
            else:
                out[rel] = ("other", stat.S_IFMT(st.st_mode))
    for group in inodes.values():
        if len(group) > 1:
            for rel in group:
                out[rel] = (*out[rel], "linkgroup:" + min(group))
    return out


def tree_digest(root: Path) -> str:
    """A checksum of everything under root incl. modes, link counts, owners and mtimes."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = Path(dirpath, name)
            st = p.lstat()
            h.update(
                f"{p.relative_to(root)}|{st.st_mode}|{st.st_nlink}|{st.st_uid}|{st.st_gid}|"
                f"{st.st_mtime_ns}|{st.st_size}\n".encode()
            )
            if stat.S_ISREG(st.st_mode):
                h.update(p.read_bytes())
            elif stat.S_ISLNK(st.st_mode):
                h.update(os.readlink(p).encode())
    st = root.lstat()
    h.update(f"{st.st_mode}|{st.st_mtime_ns}".encode())
    return h.hexdigest()


# -- OCI layout + umoci --------------------------------------------------------------------


def write_oci_layout(layout: Path, layers: Sequence[bytes], *, tag: str = "t", compress: bool = True) -> None:
    """A minimal OCI image layout with one image of these tar layers."""
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> str:
        dg = sha256(data)
        (blobs / dg.split(":")[1]).write_bytes(data)
        return dg

    layer_descs = []
    for tar in layers:
        blob = gz(tar) if compress else tar
        layer_descs.append(
            {"mediaType": GZIP_MT if compress else TAR_MT, "digest": put(blob), "size": len(blob)}
        )
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [sha256(t) for t in layers]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": put(config),
                "size": len(config),
            },
            "layers": layer_descs,
        }
    ).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": put(manifest),
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')


UMOCI = shutil.which("umoci")


def umoci_unpack(workdir: Path, layers: Sequence[bytes]) -> Path:
    """Unpack with ``umoci unpack --rootless``; returns the rootfs (raises CalledProcessError)."""
    layout = workdir / "layout"
    write_oci_layout(layout, layers)
    bundle = workdir / "bundle"
    subprocess.run(
        [UMOCI or "umoci", "unpack", "--rootless", "--image", f"{layout}:t", str(bundle)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return bundle / "rootfs"


def normalize_umoci(
    snap: dict[str, tuple[object, ...]],
    special_paths: set[str] = frozenset(),  # type: ignore[assignment]
) -> dict[str, tuple[object, ...]]:
    """Map umoci's rootless result onto our output policy (documented differences):

    * modes: ours are ``|0644`` for files and ``|0755`` for dirs, special bits dropped;
    * devices/FIFOs: umoci --rootless writes an empty regular file, we create nothing
      (``special_paths`` lists the names of such entries in the top-most layer that set them).
    """
    out = {}
    for rel, rec in snap.items():
        if rel in special_paths:
            continue
        kind = rec[0]
        if kind == "file":
            out[rel] = (kind, (int(rec[1]) & 0o755) | 0o644, *rec[2:])  # type: ignore[call-overload]
        elif kind == "dir":
            out[rel] = (kind, (int(rec[1]) & 0o755) | 0o755)  # type: ignore[call-overload]
        else:
            out[rel] = rec
    return out
