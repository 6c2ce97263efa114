"""Read a few small files (``.imgpkg/images.yml``, ``image-locations.yml``) out of an image in a registry.

Layers are streamed, verified and parsed with :mod:`tarfile` (never extracted); later layers win and
whiteouts remove, as in an unpacked image.  Each wanted file is capped.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection
from typing import BinaryIO, cast

from imgextract import oci
from imgextract.errors import LimitExceeded
from imgextract.layers.decompress import open_decompressed
from imgextract.layers.tarstream import TarReader
from imgextract.layers.verify import VerifyingReader
from imgextract.oci import whiteout
from imgextract.registry.client import RegistryClient

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_LAYER_UNCOMPRESSED = 4 * 1024**3
MAX_HEADER_BYTES = 1024 * 1024


def clean_member_name(name: str) -> str:
    return posixpath.normpath("/" + name).lstrip("/")


def read_image_files(
    client: RegistryClient,
    repository: str,
    manifest: oci.Manifest,
    names: Collection[str],
    *,
    limit: int = MAX_FILE_BYTES,
) -> dict[str, bytes]:
    """The files of ``names`` (image-relative paths) present in the image, by name."""
    wanted = {clean_member_name(n) for n in names}
    found: dict[str, bytes] = {}
    for desc in manifest.layers:
        if oci.is_non_distributable(desc.media_type):
            continue
        with client.open_blob(repository, desc.digest, size=desc.size) as raw:
            reader = VerifyingReader(raw, desc.digest, desc.size)
            stream = open_decompressed(cast(BinaryIO, reader), desc.media_type, limit=MAX_LAYER_UNCOMPRESSED)
            _scan_layer(cast(BinaryIO, stream), wanted, found, limit, desc.digest)
            reader.finish()
    return found


def _scan_layer(stream: BinaryIO, wanted: set[str], found: dict[str, bytes], limit: int, digest: str) -> None:
    """Apply one layer to ``found`` as an unpacked image would (see :mod:`imgextract.oci.whiteout`).

    Whiteouts and opaque markers remove entries of the lower layers only, never this layer's own;
    an entry that is not a regular file (a directory, a link) hides the lower file at its path and
    below it.  So removals are collected while reading and applied before this layer's files land.
    """
    # TarReader: the extraction's hostile-input rules (bounded extension headers, no PAX global headers)
    reader = TarReader(stream, max_header_bytes=MAX_HEADER_BYTES)
    removed: list[str] = []  # lower entries at this path or below it are gone
    cleared: list[str] = []  # lower entries strictly below this directory are gone ("" = root)
    layer: dict[str, bytes] = {}
    for member in reader.members():
        name = clean_member_name(member.name)
        base = posixpath.basename(name)
        parent = posixpath.dirname(name)
        if whiteout.is_opaque(base):
            cleared.append(parent)
            continue
        if whiteout.is_whiteout(base):
            target = whiteout.target(base)
            if target:
                removed.append(posixpath.join(parent, target))
            continue
        if not member.isfile():
            layer.pop(name, None)
            if not member.isdir():
                removed.append(name)  # a link or special file replaces the lower entry and its subtree
            elif name in wanted:
                removed.append(name)  # a directory where a wanted file was
            continue
        if name not in wanted:
            continue
        if member.size > limit:
            raise LimitExceeded(f"{name} is {member.size} bytes, more than {limit}")
        layer[name] = b"".join(reader.read_data(member))
    for path in list(found):
        if any(path == r or path.startswith(r + "/") for r in removed) or any(
            not d or path.startswith(d + "/") for d in cleared
        ):
            del found[path]
    found.update(layer)


def read_first_by_basename(
    client: RegistryClient,
    repository: str,
    desc: oci.Descriptor,
    basenames: Collection[str],
    *,
    limit: int = MAX_FILE_BYTES,
) -> tuple[str, bytes] | None:
    """The first entry of one layer whose base name is in ``basenames``: (its path, its content).

    As imgpkg's ``locationsSingleLayerReader.Read`` finds ``image-locations.yml``: the first tar
    header with that base name wherever it lies; an entry that is no regular file reads as empty
    (Go's ``io.ReadAll`` of it).  The layer is read to its end, so its digest is verified."""
    found: tuple[str, bytes] | None = None
    with client.open_blob(repository, desc.digest, size=desc.size) as raw:
        reader = VerifyingReader(raw, desc.digest, desc.size)
        stream = open_decompressed(cast(BinaryIO, reader), desc.media_type, limit=MAX_LAYER_UNCOMPRESSED)
        tar = TarReader(cast(BinaryIO, stream), max_header_bytes=MAX_HEADER_BYTES)
        for member in tar.members():
            name = clean_member_name(member.name)
            if found is not None or posixpath.basename(name) not in basenames:
                continue
            if not member.isfile():
                found = (name, b"")
                continue
            if member.size > limit:
                raise LimitExceeded(f"{name} is {member.size} bytes, more than {limit}")
            found = (name, b"".join(tar.read_data(member)))
        reader.finish()
    return found
