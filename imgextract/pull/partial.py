"""The pull plan's partial-fetch decision and step for zstd:chunked layers.

A layer is fetched partially when a selection is given (``--all`` fetches whole layers: only then
can the diff_id be verified), the layer is zstd with a checksummed TOC, and the whole blob is not
already in the content cache.  Partially means: read the TOC (and footer) with one Range request,
verify it against the manifest's annotation, then read only the chunks of the files the applier
applies.  When the registry (or where it redirects) ignores Range and sends the whole blob, that
body is applied as a whole layer with its digest and diff_id verified, as without partial fetch;
the same when the TOC uses a feature we do not implement.

Verified files (up to 4 MiB) and the TOC are kept in the content cache by digest, so a later pull
of another part of the same (or a related) image fetches only the chunks of files it has not seen.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imgextract import oci
from imgextract.errors import IntegrityError
from imgextract.layers.applier import Applier, LayerStats
from imgextract.layers.chunked import TocUnsupported, apply_chunked, is_chunked, parse_toc, toc_location
from imgextract.layers.chunked.toc import FOOTER_SIZE, Toc, TocLocation, check_footer
from imgextract.layers.pipeline import apply_blob
from imgextract.layers.selection import PathSelection
from imgextract.registry.client import RegistryClient
from imgextract.registry.ranges import BlobRanges, RangeIgnored

if TYPE_CHECKING:
    from imgextract.cache import ContentCache

log = logging.getLogger(__name__)


@dataclass
class LayerFetchResult:
    stats: LayerStats
    mode: str  # "partial" | "whole"
    bytes_fetched: int


def wants_partial(desc: oci.Descriptor, paths: Sequence[str] | None, cache: ContentCache | None) -> bool:
    """Whether the pull plan fetches this layer partially."""
    if PathSelection(list(paths) if paths is not None else None).everything:
        return False
    try:
        if not is_chunked(desc.media_type, desc.annotations):
            return False
    except IntegrityError:
        return False  # malformed annotations: the whole layer, verified by its digest
    return cache is None or cache.get_blob_path(desc.digest) is None


class CacheFiles:
    """Verified file contents in the content cache, content-addressed like blobs."""

    def __init__(self, cache: ContentCache) -> None:
        self.cache = cache

    def has(self, digest: str) -> bool:
        try:
            return self.cache.get_blob_path(digest) is not None
        except (OSError, IntegrityError):
            return False

    def get(self, digest: str, size: int) -> bytes | None:
        try:
            stream = self.cache.open_blob(digest)
        except (OSError, IntegrityError):
            return None
        if stream is None:
            return None
        with stream:
            data = stream.read(size + 1)
        if len(data) == size and oci.compute_digest(data, algorithm=digest.split(":", 1)[0]) == digest:
            return data
        _evict(self.cache, digest)  # rotten or tampered: fetch it again
        return None

    def put(self, digest: str, data: bytes) -> None:
        try:
            self.cache.put_small_blob(digest, data)
        except (OSError, IntegrityError) as exc:
            log.debug("file %s not cached: %s", digest, exc)


def apply_partial_layer(
    client: RegistryClient,
    repository: str,
    desc: oci.Descriptor,
    diff_id: str,
    applier: Applier,
    paths: Sequence[str] | None,
    *,
    cache: ContentCache | None = None,
) -> LayerFetchResult:
    """Apply ``desc`` into ``applier`` fetching only what the selection needs (see module doc)."""
    location = toc_location(desc.annotations)
    assert location is not None
    if location.offset + location.length > desc.size:
        raise IntegrityError(f"zstd:chunked TOC of {desc.digest} lies beyond the blob's end")
    ranges = BlobRanges(client, repository, desc.digest, desc.size)
    try:
        try:
            toc = _cached_toc(cache, location)
            if toc is None:
                with_footer = location.offset + location.length + FOOTER_SIZE == desc.size
                end = desc.size if with_footer else location.offset + location.length
                try:
                    head = ranges.read_head(location.offset, end)
                except RangeIgnored as ignored:
                    with ignored.body as body:
                        return _whole(body, desc, diff_id, applier, ranges)
                if with_footer:
                    check_footer(head[location.length :], location)
                toc = parse_toc(head[: location.length], location)
                if cache is not None and location.checksum is not None:
                    _put_toc(cache, location.checksum, head[: location.length])
        except TocUnsupported as exc:
            log.info("layer %s: %s; fetching it whole", desc.digest, exc)
            with client.open_blob(repository, desc.digest, size=desc.size) as body:
                result = _whole(body, desc, diff_id, applier, ranges)
            result.bytes_fetched += desc.size
            return result
        files = CacheFiles(cache) if cache is not None else None
        stats = apply_chunked(toc, ranges, applier, paths, files=files)
    finally:
        ranges.close()
    stats.digest = desc.digest
    stats.compressed_size = ranges.bytes_fetched
    mode = "partial" if ranges.requests else "cache"  # TOC and every needed chunk were cached
    return LayerFetchResult(stats, mode, ranges.bytes_fetched)


def _cached_toc(cache: ContentCache | None, location: TocLocation) -> Toc | None:
    """The TOC from the cache (kept under its checksum), verified; a bad entry is evicted."""
    if cache is None or location.checksum is None:
        return None
    try:
        stream = cache.open_blob(location.checksum)
    except (OSError, IntegrityError):
        return None
    if stream is None:
        return None
    with stream:
        data = stream.read(location.length + 1)
    try:
        return parse_toc(data, location)
    except IntegrityError:  # rotten or tampered: read it from the registry again
        _evict(cache, location.checksum)
        return None


def _evict(cache: ContentCache | None, digest: str) -> None:
    if cache is None:
        return
    try:
        cache.evict_blob(digest)
    except (OSError, IntegrityError):
        pass


def _put_toc(cache: ContentCache, checksum: str, data: bytes) -> None:
    try:
        cache.put_small_blob(checksum, data)
    except (OSError, IntegrityError) as exc:
        log.debug("TOC %s not cached: %s", checksum, exc)


def _whole(
    body: object, desc: oci.Descriptor, diff_id: str, applier: Applier, ranges: BlobRanges
) -> LayerFetchResult:
    stats = apply_blob(
        body,  # type: ignore[arg-type]
        digest=desc.digest,
        size=desc.size,
        media_type=desc.media_type,
        diff_id=diff_id,
        applier=applier,
    )
    return LayerFetchResult(stats, "whole", ranges.bytes_fetched)
