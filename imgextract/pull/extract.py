"""Apply an image's layers into a directory, through the content cache and the prefetcher.

``pull.resolve`` found the image; ``bundles.detect`` chose the paths; ``pull.plan`` decided which
layers can be skipped; this module downloads (through the cache and a bounded prefetcher), verifies
and applies each remaining layer in order.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgextract.bundles import detect
from imgextract.errors import ContentMismatch, ImgExtractError, IntegrityError, NotFoundError
from imgextract.layers.applier import Applier, Limits
from imgextract.layers.layerstats import LayerStats
from imgextract.layers.selection import PathSelection
from imgextract.oci.digest import compute_digest
from imgextract.outputs.directory import force_rmtree
from imgextract.progress import CountingReader, Progress
from imgextract.pull.plan import layer_pairs, plan_skips
from imgextract.pull.resolve import ResolvedImage

if TYPE_CHECKING:
    from imgextract import oci
    from imgextract.cache import ContentCache
    from imgextract.layers.memtree import MemTree
    from imgextract.mirrors import Source
    from imgextract.pull.partial import LayerFetchResult, PartialLayers
    from imgextract.pull.prefetch import Prefetcher
    from imgextract.registry.client import RegistryClient

log = logging.getLogger(__name__)

# Layers up to this size (compressed) are read whole into memory and applied on the pulling thread:
# bundles are made of such layers, and a pull of hundreds of them pays per layer, not per byte.
SMALL_LAYER = 1024 * 1024


@dataclass(frozen=True)
class LayerReport:
    """One layer of a pull: descriptor fields, whether it came over the network (``fetched``), how
    (``fetch``: "whole", "partial" for zstd:chunked ranges, "cache", "skipped"; "" when the layer
    was not pulled, as in ``inspect``) and how many bytes that took (``bytes_fetched``)."""

    digest: str
    size: int
    media_type: str
    fetched: bool
    bytes_fetched: int = 0
    fetch: str = ""

    def to_json(self) -> dict[str, Any]:
        """The layer as ``--json`` shows it: digest, size, media type, whether and how it was fetched."""
        out: dict[str, Any] = {
            "digest": self.digest,
            "size": self.size,
            "mediaType": self.media_type,
            "fetched": self.fetched,
        }
        if self.fetch:
            out.update(fetch=self.fetch, bytesFetched=self.bytes_fetched)
        return out


# zstd:chunked support (pull/partial.py, layers/chunked/, registry/ranges.py) is loaded only for a
# layer that can be zstd:chunked: one whose annotations locate a TOC.  A pull of gzip layers never
# imports it.


def wants_partial(desc: oci.Descriptor, paths: Sequence[str] | None, cache: ContentCache | None) -> bool:
    """Whether the layer is fetched partially (:func:`imgextract.pull.partial.wants_partial`)."""
    if not desc.annotations:  # no TOC position: not zstd:chunked
        return False
    from imgextract.pull import partial

    return partial.wants_partial(desc, paths, cache)


class _NoPartialLayers:
    """Stands in for ``PartialLayers`` when no layer is fetched partially (nothing to load)."""

    def advance(self, position: int) -> None:
        pass

    def apply(self, position: int, diff_id: str, applier: Applier) -> LayerFetchResult:
        raise AssertionError("no layer of this pull is fetched partially")

    def close(self) -> None:
        pass


def partial_layers(
    image: ResolvedImage,
    layers: Sequence[tuple[int, oci.Descriptor]],
    paths: Sequence[str] | None,
    cache: ContentCache | None,
) -> PartialLayers | _NoPartialLayers:
    """:class:`imgextract.pull.partial.PartialLayers` for ``layers``, loaded only if there are any;
    the ones ``resolve`` started early (``image.early``) when it did."""
    early = image.take_early()
    if early is not None:
        if not layers:
            early.close()
            return _NoPartialLayers()
        early.settle(layers, paths)
        return early
    if not layers:
        return _NoPartialLayers()
    from imgextract.pull.partial import PartialLayers

    return PartialLayers(image.client, image.repository, layers, paths, cache=cache)


def extract(
    image: ResolvedImage, plan: detect.Plan, root: Path, limits: Limits, progress: Progress
) -> list[LayerReport]:
    """Apply the image's layers into ``root`` (empty).  Layers the cache's index shows cannot touch the
    selection are skipped; if a selected path then resolves through a symlink, redo without skipping."""
    return extract_counted(image, plan, root, limits, progress)[0]


def extract_counted(
    image: ResolvedImage, plan: detect.Plan, root: Path, limits: Limits, progress: Progress
) -> tuple[list[LayerReport], tuple[int, int] | None]:
    """``extract``, and the regular files it left in ``root`` with their total size, as the applier
    counted them while writing (``Applier.file_count``: None when only a walk of ``root`` can tell)."""
    from imgextract.cache import selection_traverses_symlink

    cache = image.cache
    reports, skipped, count = _from_sources(image, plan, root, limits, progress, cache, allow_skip=True)
    if skipped and selection_traverses_symlink(root, plan.paths):
        _empty(root)
        reports, _, count = _from_sources(image, plan, root, limits, progress, cache, allow_skip=False)
    return reports, count


def _empty(root: Path) -> None:
    for child in list(root.iterdir()):
        if child.is_dir() and not child.is_symlink():
            force_rmtree(child)
        else:
            child.unlink()


def _from_sources(
    image: ResolvedImage,
    plan: detect.Plan,
    root: Path,
    limits: Limits,
    progress: Progress,
    cache: ContentCache | None,
    *,
    allow_skip: bool,
) -> tuple[list[LayerReport], bool, tuple[int, int] | None]:
    """Apply the layers from the source that served the manifest; a blob that fails verification
    (wrong bytes: a bad mirror, a corrupted resumed partial) is fetched again, whole, once from the
    same source when a partial download was resumed, then from the next sources in pull order."""
    sources = [(image.source, image.client), *image.fallbacks]
    failures: list[str] = []
    refetched = False
    index = 0
    while True:
        source, client = sources[index]
        digests = [d.digest for d in image.manifest.layers]
        resumed = cache is not None and any(cache.has_partial(d) for d in digests)
        try:
            return _apply_layers(
                image,
                plan,
                root,
                limits,
                progress,
                cache,
                allow_skip=allow_skip,
                client=client,
                source=source,
            )
        except (IntegrityError, NotFoundError) as exc:
            if isinstance(exc, IntegrityError) and not isinstance(exc, ContentMismatch):
                raise  # the layer itself is bad (unsafe, malformed): another copy of it is no better
            if isinstance(exc, NotFoundError) and index == 0:
                raise
            failures.append(f"{source.reference.name}: {exc.message}")
            _empty(root)
            if isinstance(exc, IntegrityError) and resumed and not refetched:
                refetched = True  # the partial was discarded: fetch it whole from the same source
                log.warning("%s (from a resumed download); fetching it again whole", exc.message)
                continue
            index += 1
            if index >= len(sources):
                if len(failures) == 1:
                    raise
                raise IntegrityError(
                    "layer failed verification from every source: " + "; ".join(failures),
                    reference=str(image.reference),
                ) from None
            log.warning(
                "%s from %s; trying the next source, %s",
                exc.message,
                source.reference.name,
                sources[index][0].reference.name,
            )


def _apply_layers(
    image: ResolvedImage,
    plan: detect.Plan,
    root: Path,
    limits: Limits,
    progress: Progress,
    cache: ContentCache | None,
    *,
    allow_skip: bool,
    client: RegistryClient,
    source: Source,
) -> tuple[list[LayerReport], bool, tuple[int, int] | None]:
    applier = Applier(
        root,
        PathSelection(list(plan.paths) if plan.paths is not None else None),
        limits,
    )
    pairs = layer_pairs(image)
    skips = plan_skips(pairs, plan, cache if allow_skip else None)
    partial = [
        not skip and wants_partial(d, plan.paths, cache) for (d, _), skip in zip(pairs, skips, strict=True)
    ]
    small = [  # an interrupted download of it waits in the cache: the prefetcher resumes (or redoes) it
        not skip
        and not part
        and 0 <= d.size <= SMALL_LAYER
        and not (cache is not None and cache.has_partial(d.digest))
        for (d, _), skip, part in zip(pairs, skips, partial, strict=True)
    ]
    wanted = [
        d
        for (d, _), skip, part, tiny in zip(pairs, skips, partial, small, strict=True)
        if not skip and not part and not tiny
    ]
    partials = partial_layers(
        image,
        [(i, d) for i, ((d, _), part) in enumerate(zip(pairs, partial, strict=True)) if part],
        plan.paths,
        cache,
    )
    reports = []
    try:
        partials.advance(0)  # TOCs and chunks of zstd:chunked layers, fetched while others apply
        with _prefetcher(client, source, wanted, cache, root) as prefetch:
            for position, ((desc, diff_id), skip, part, tiny) in enumerate(
                zip(pairs, skips, partial, small, strict=True)
            ):
                if skip:
                    reports.append(LayerReport(desc.digest, desc.size, desc.media_type, False, 0, "skipped"))
                    continue
                if tiny:
                    progress.layer_started(desc.digest, desc.size)
                    reports.append(
                        _apply_small(
                            client, source.reference.repository, desc, diff_id, applier, cache, progress
                        )
                    )
                    continue
                progress.layer_started(desc.digest, None if part else desc.size)
                if part:  # zstd:chunked: only what the selection needs (pull/partial.py)
                    got = partials.apply(position, diff_id, applier)
                    progress.advance(desc.digest, got.bytes_fetched)
                    _index_layer(cache, desc.digest, got.stats)
                    progress.layer_done(desc.digest, fetched=True)
                    reports.append(
                        LayerReport(
                            desc.digest, desc.size, desc.media_type, True, got.bytes_fetched, got.mode
                        )
                    )
                    continue
                from imgextract.layers.pipeline import apply_blob  # (not for zstd:chunked ranges)

                assert prefetch is not None  # the layer is in ``wanted``

                with prefetch.open(desc) as raw:
                    stats = apply_blob(
                        CountingReader(raw, progress, desc.digest).as_binary(),
                        digest=desc.digest,
                        size=desc.size,
                        media_type=desc.media_type,
                        diff_id=diff_id,
                        applier=applier,
                        source_verifies=getattr(raw, "source_verifies", False),
                    )
                fetched = not prefetch.stats(desc).from_cache
                _index_layer(cache, desc.digest, stats)
                progress.layer_done(desc.digest, fetched=fetched)
                reports.append(
                    LayerReport(
                        desc.digest,
                        desc.size,
                        desc.media_type,
                        fetched,
                        prefetch.stats(desc).fetched_bytes,
                        "whole" if fetched else "cache",
                    )
                )
        applier.finalize()
    except BaseException:
        applier.close()  # release the root fd; the caller discards the staging root
        raise
    finally:
        partials.close()
    return reports, any(skips), applier.file_count()


def _prefetcher(
    client: RegistryClient,
    source: Source,
    wanted: list[oci.Descriptor],
    cache: ContentCache | None,
    root: Path,
) -> AbstractContextManager[Prefetcher | None]:
    """The prefetcher of the layers fetched whole (``wanted``); none (not even imported) when
    every layer is skipped, small, or fetched in ranges (a zstd:chunked pull of a selection)."""
    if not wanted:
        return nullcontext(None)
    from imgextract.pull.prefetch import Prefetcher

    return Prefetcher(
        client,
        source.reference.repository,
        wanted,
        cache=cache,
        spool_dir=root.parent,
        reader_verifies=True,
    )


def _apply_small(
    client: RegistryClient,
    repository: str,
    desc: Any,
    diff_id: str,
    applier: Applier,
    cache: ContentCache | None,
    progress: Progress,
) -> LayerReport:
    """A small layer: read whole (from the cache, or in one request on this thread), then verified
    and applied on this thread; the prefetcher's threads and spool file cost more than they save.
    Another thread of this process pulling the same layer meanwhile (bundles of a catalog share
    layers) waits for this one and then reads it from the cache: one request, not two."""
    if cache is None:
        return _apply_small_from(client, repository, desc, diff_id, applier, None, progress)
    with cache.fetching(desc.digest):
        return _apply_small_from(client, repository, desc, diff_id, applier, cache, progress)


def _apply_small_from(
    client: RegistryClient,
    repository: str,
    desc: Any,
    diff_id: str,
    applier: Applier,
    cache: ContentCache | None,
    progress: Progress,
) -> LayerReport:
    data: bytes | None = None
    if cache is not None:
        data = cache.read_small_blob(desc.digest, desc.size + 1)
        if data is not None and compute_digest(data, algorithm=desc.digest.split(":", 1)[0]) != desc.digest:
            # rotted or tampered (nothing applied yet): evict it and fetch the layer instead
            log.warning("content cache: blob %s does not match its digest; evicted", desc.digest)
            try:
                cache.evict_blob(desc.digest)
            except OSError:
                pass
            data = None
    from_cache = data is not None
    if data is None:
        with client.open_blob(repository, desc.digest, size=desc.size) as raw:
            data = raw.read(desc.size + 1)
        if len(data) > desc.size:
            raise ContentMismatch(
                f"layer {desc.digest}: registry sent more than the {desc.size} bytes the manifest gives"
            )
    progress.advance(desc.digest, len(data))
    from imgextract.layers.pipeline import apply_blob

    stats = apply_blob(
        io.BytesIO(data),
        digest=desc.digest,
        size=desc.size,
        media_type=desc.media_type,
        diff_id=diff_id,
        applier=applier,
        threaded=False,
    )
    if not from_cache and cache is not None:
        try:
            cache.put_small_blob(desc.digest, data)
        except (OSError, IntegrityError) as exc:  # a full or read-only cache only costs a re-fetch
            log.debug("content cache write skipped: %s", exc)
    _index_layer(cache, desc.digest, stats)
    progress.layer_done(desc.digest, fetched=not from_cache)
    fetched = 0 if from_cache else len(data)
    return LayerReport(
        desc.digest, desc.size, desc.media_type, not from_cache, fetched, "cache" if from_cache else "whole"
    )


def read_small_tree(image: ResolvedImage, paths: Sequence[str], limits: Limits) -> MemTree | None:
    """The selected files of an image made of small layers, read into memory (verified as
    :func:`extract` verifies them: blob digest and size, diff_id, limits) when the layers leave no
    doubt about them (:mod:`imgextract.layers.memtree`); None when they do not, or anything fails:
    the caller then extracts to disk, whose rules, retries over mirrors and errors stay the
    reference.  Layers come from the content cache or the first source, and are kept in the cache
    as :func:`extract` keeps them; the cache's layer index (what a later pull may skip) is written
    by :func:`extract` only."""
    from imgextract.layers.memtree import MemTree, NotPlain

    cache = image.cache
    try:
        pairs = layer_pairs(image)
    except IntegrityError:
        return None
    for desc, _diff_id in pairs:
        if (
            not 0 <= desc.size <= SMALL_LAYER
            or wants_partial(desc, paths, cache)
            or (cache is not None and cache.has_partial(desc.digest))
        ):
            return None
    tree = MemTree(PathSelection(list(paths)), limits)
    budget = limits.max_uncompressed_bytes
    repository = image.source.reference.repository
    try:
        for desc, diff_id in pairs:
            if cache is None:
                budget -= _read_small_into(image.client, repository, desc, diff_id, tree, None, budget)
                continue
            with cache.fetching(desc.digest):
                budget -= _read_small_into(image.client, repository, desc, diff_id, tree, cache, budget)
    except (NotPlain, ImgExtractError, OSError) as exc:
        log.debug("%s: layers applied to disk instead of read in memory: %s", image.reference, exc)
        return None
    return tree


def _read_small_into(
    client: RegistryClient,
    repository: str,
    desc: Any,
    diff_id: str,
    tree: MemTree,
    cache: ContentCache | None,
    budget: int,
) -> int:
    """One small layer into ``tree`` (from the cache, or fetched and then kept there); the
    uncompressed bytes it held."""
    data = cache.read_small_blob(desc.digest, desc.size + 1) if cache is not None else None
    from_cache = data is not None
    if data is None:
        with client.open_blob(repository, desc.digest, size=desc.size) as raw:
            data = raw.read(desc.size + 1)
    from imgextract.layers.decompress import open_decompressed
    from imgextract.layers.verify import VerifyingReader

    blob = VerifyingReader(io.BytesIO(data), desc.digest, desc.size)
    decoded = open_decompressed(blob, desc.media_type, limit=budget)
    uncompressed = VerifyingReader(decoded, diff_id, None)  # type: ignore[arg-type]
    tree.add_layer(uncompressed)  # type: ignore[arg-type]
    uncompressed.finish()
    blob.finish()  # the blob's digest and size checked: kept without hashing it again
    if not from_cache and cache is not None:
        try:
            cache.put_small_blob(desc.digest, data, verified=True)
        except (OSError, IntegrityError) as exc:  # a full or read-only cache only costs a re-fetch
            log.debug("content cache write skipped: %s", exc)
    return int(decoded.total)


def _index_layer(cache: ContentCache | None, digest: str, stats: LayerStats) -> None:
    """Record what the layer touched (the skip planner's index), when there is a cache."""
    from imgextract.cache import entry_from_stats

    if cache is None:
        return
    entry = entry_from_stats(stats)
    if entry is not None:
        cache.put_layer_index(digest, entry)
