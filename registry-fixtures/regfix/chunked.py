"""zstd:chunked images made by skopeo itself (the producer users have), and dual-compression indexes.

skopeo 1.9 drops a tar's trailing padding when it writes zstd:chunked, so the layer tars here are
written the way Go tools write them (two 512-byte zero blocks, no record padding): the config's
diff_ids then hold for both the gzip original and the zstd:chunked copy.

    layout = write_layout(dir, ImageSpec([Layer(tar=go_tar(entries))]), "v1")
    zlayout = convert(layout, dir2)                   # oci -> oci, zstd:chunked (skopeo)
    digest = skopeo_push(zlayout_dir, "v1", host, repo, "v1")
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path

from regfix.oci import Entry
from regfix.push import PushError, skopeo_binary

ZSTD_ANNOTATION = "io.github.containers.compression.zstd"


def go_tar(entries: Iterable[Entry]) -> bytes:
    """A PAX tar of ``entries`` ending in exactly two zero blocks (as Go's archive/tar writes)."""
    buf = io.BytesIO()
    tf = tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT)
    for e in entries:
        tf.addfile(e.info, io.BytesIO(e.data) if e.info.isreg() or e.data else None)
    end = tf.offset
    tf.fileobj = io.BytesIO()  # let close() write its padding somewhere else
    tf.close()
    return buf.getvalue()[:end] + b"\0" * 1024


def _skopeo(args: list[str], timeout: float = 300) -> None:
    skopeo = skopeo_binary()
    if skopeo is None:
        raise PushError("skopeo not found (apt install skopeo)")
    with tempfile.TemporaryDirectory(prefix="regfix-skopeo-") as tmp:
        t = Path(tmp)
        (t / "auth.json").write_text('{"auths":{}}')
        (t / "registries.conf").write_text("")
        env = dict(
            os.environ,
            REGISTRY_AUTH_FILE=str(t / "auth.json"),
            CONTAINERS_REGISTRIES_CONF=str(t / "registries.conf"),
        )
        cmd = [skopeo, "--insecure-policy", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
        if proc.returncode != 0:
            raise PushError(f"skopeo failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")


def convert(src: Path, tag: str, dest: Path) -> dict[str, object]:
    """``skopeo copy --dest-compress-format zstd:chunked oci:SRC:TAG oci:DEST:TAG``; the new manifest."""
    _skopeo(["copy", "--dest-compress-format", "zstd:chunked", f"oci:{src}:{tag}", f"oci:{dest}:{tag}"])
    return read_manifest(dest, tag)


def read_manifest(layout: Path, tag: str) -> dict[str, object]:
    index = json.loads((layout / "index.json").read_text())
    for desc in index["manifests"]:
        if desc.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            raw = (layout / "blobs" / "sha256" / desc["digest"].split(":", 1)[1]).read_bytes()
            manifest: dict[str, object] = json.loads(raw)
            manifest["_digest"] = desc["digest"]
            manifest["_size"] = len(raw)
            return manifest
    raise KeyError(tag)


def blob_path(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.split(":", 1)[1]


def skopeo_push(layout: Path, tag: str, host: str, repository: str, dest_tag: str) -> None:
    """Push an OCI layout as it is (``--preserve-digests``: no recompression, no blob reuse)."""
    _skopeo(
        [
            "copy",
            "--preserve-digests",
            "--dest-tls-verify=false",
            "--retry-times",
            "0",
            f"oci:{layout}:{tag}",
            f"docker://{host}/{repository}:{dest_tag}",
        ]
    )


def handmade_layer(files: list[tuple[dict[str, object], bytes]]) -> tuple[bytes, dict[str, str]]:
    """A zstd:chunked-shaped blob written by hand (no producer writes hostile TOCs): each file's
    content one zstd frame, then the TOC (``entry`` dicts; ``offset``/``endOffset`` filled in
    unless given) in a skippable frame, then the 48-byte footer.  Returns (blob, annotations)."""
    import hashlib
    import struct

    import zstandard

    cctx = zstandard.ZstdCompressor()
    blob = bytearray()
    entries: list[dict[str, object]] = []
    for entry, content in files:
        e = dict(entry)
        if content:
            frame = cctx.compress(content)
            e.setdefault("offset", len(blob))
            e.setdefault("endOffset", len(blob) + len(frame))
            e.setdefault("size", len(content))
            e.setdefault("digest", "sha256:" + hashlib.sha256(content).hexdigest())
            blob += frame
        entries.append(e)
    raw = json.dumps({"version": 1, "entries": entries}).encode()
    toc = cctx.compress(raw)
    blob += struct.pack("<II", 0x184D2A50, len(toc))
    offset = len(blob)
    blob += toc
    blob += struct.pack("<IIQQQQ8s", 0x184D2A50, 40, offset, len(toc), len(raw), 1, b"GnUlInUx")
    annotations = {
        "io.containers.zstd-chunked.manifest-checksum": "sha256:" + hashlib.sha256(toc).hexdigest(),
        "io.containers.zstd-chunked.manifest-position": f"{offset}:{len(toc)}:{len(raw)}:1",
    }
    return bytes(blob), annotations


def push_index(host: str, repository: str, tag: str, entries: list[dict[str, object]]) -> str:
    """PUT an OCI image index of ``entries`` (descriptors, already in the repository); its digest."""
    import hashlib

    import requests

    raw = json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}
    ).encode()
    r = requests.put(
        f"http://{host}/v2/{repository}/manifests/{tag}",
        data=raw,
        headers={"Content-Type": "application/vnd.oci.image.index.v1+json"},
        timeout=30,
    )
    if r.status_code != 201:
        raise PushError(f"index put {r.status_code}: {r.text}")
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def dual_compression_index(gzip_layout: Path, zstd_layout: Path, host: str, repository: str) -> str:
    """Push both variants (digests preserved) and an index listing gzip first, then zstd annotated
    ``io.github.containers.compression.zstd: "true"`` (the dual-compression layout); its digest."""
    entries = []
    for layout, tag, notes in (
        (gzip_layout, "gzip", None),
        (zstd_layout, "zstd", {ZSTD_ANNOTATION: "true"}),
    ):
        skopeo_push(layout, "v1", host, repository, tag)
        manifest = read_manifest(layout, "v1")
        entry: dict[str, object] = {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest["_digest"],
            "size": manifest["_size"],
            "platform": {"architecture": "amd64", "os": "linux"},
        }
        if notes:
            entry["annotations"] = notes
        entries.append(entry)
    return push_index(host, repository, "v1", entries)
