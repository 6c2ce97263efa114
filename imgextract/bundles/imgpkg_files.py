"""Read a few small files (``.imgpkg/images.yml``, ``image-locations.yml``) out of an image in a registry.

Layers are streamed, verified and parsed with :mod:`tarfile` (never extracted); later layers win and
whiteouts remove, as in an unpacked image.  Each wanted file is capped.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection
from typing import BinaryIO, cast

from imgextract import manifests as m
from imgextract.errors import LimitExceeded
from imgextract.layers.decompress import open_decompressed
from imgextract.layers.tarstream import TarReader
from imgextract.layers.verify import VerifyingReader
from imgextract.registry.client import RegistryClient

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_LAYER_UNCOMPRESSED = 4 * 1024**3
MAX_HEADER_BYTES = 1024 * 1024


def clean_member_name(name: str) -> str:
    return posixpath.normpath("/" + name).lstrip("/")


def read_image_files(
    client: RegistryClient,
    repository: str,
    manifest: m.Manifest,
    names: Collection[str],
    *,
    limit: int = MAX_FILE_BYTES,
) -> dict[str, bytes]:
    """The files of ``names`` (image-relative paths) present in the image, by name."""
    wanted = {clean_member_name(n) for n in names}
    found: dict[str, bytes] = {}
    for desc in manifest.layers:
        if m.is_non_distributable(desc.media_type):
            continue
        with client.open_blob(repository, desc.digest, size=desc.size) as raw:
            reader = VerifyingReader(raw, desc.digest, desc.size)
            stream = open_decompressed(cast(BinaryIO, reader), desc.media_type, limit=MAX_LAYER_UNCOMPRESSED)
            _scan_layer(cast(BinaryIO, stream), wanted, found, limit, desc.digest)
            reader.finish()
    return found


def _scan_layer(stream: BinaryIO, wanted: set[str], found: dict[str, bytes], limit: int, digest: str) -> None:
    # TarReader: the extraction's hostile-input rules (bounded extension headers, no PAX global headers)
    reader = TarReader(stream, max_header_bytes=MAX_HEADER_BYTES)
    for member in reader.members():
        name = clean_member_name(member.name)
        base = posixpath.basename(name)
        parent = posixpath.dirname(name)
        if base == ".wh..wh..opq":
            for w in [w for w in found if not parent or w.startswith(parent + "/")]:
                del found[w]
            continue
        if base.startswith(".wh."):
            found.pop(posixpath.join(parent, base[4:]), None)
            continue
        if name not in wanted:
            continue
        if not member.isfile():
            found.pop(name, None)
            continue
        if member.size > limit:
            raise LimitExceeded(f"{name} is {member.size} bytes, more than {limit}")
        found[name] = b"".join(reader.read_data(member))
