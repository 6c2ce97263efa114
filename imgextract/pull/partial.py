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

``PartialLayers`` starts each such layer a few layers before its turn (``PartialLayer``: a worker
thread reads and parses the TOC, then fetches and verifies the predicted files, bounded), so the
TOCs of all layers are read at once and the selected files are fetched while lower layers apply.
A pull may start them as soon as the manifest is known (``start_early``), before it knows what
the selection is: the workers read and parse their TOCs meanwhile and plan once ``select`` (as
soon as the pull knows its selection) or ``settle`` (the pull's plan: it also stops the layers
not fetched partially after all) gives them the selection.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from imgextract import oci
from imgextract.errors import IntegrityError
from imgextract.layers.applier import Applier
from imgextract.layers.chunked import TocUnsupported, apply_chunked, is_chunked, parse_toc, toc_location
from imgextract.layers.chunked.assemble import MAX_CACHED_FILE, make_fetcher
from imgextract.layers.chunked.cachewriter import CacheWriter, HoldBudget
from imgextract.layers.chunked.fetcher import Fetcher
from imgextract.layers.chunked.interfaces import FileData
from imgextract.layers.chunked.toc import FOOTER_SIZE, Toc, TocEntry, TocLocation, check_footer
from imgextract.layers.layerstats import LayerStats
from imgextract.layers.selection import PathSelection
from imgextract.registry.client import RegistryClient
from imgextract.registry.ranges import BlobRanges, RangeIgnored

if TYPE_CHECKING:
    from imgextract.cache import ContentCache
    from imgextract.cache.writer import SmallBlobWriter

log = logging.getLogger(__name__)
T = TypeVar("T")
WINDOW = 4  # partial layers started ahead of their turn (each holds at most fetcher.AHEAD bytes)
LISTING_LIMIT = 4096  # blobs whose names one directory read gets cheaper than a stat per file
EXPECT_GRACE = 0.025  # seconds a parse waits for a higher layer's TOC still on the way


class LayerFetchResult:
    """What applying one partially fetched layer did (a plain class: imported by every pull)."""

    __slots__ = ("stats", "mode", "bytes_fetched")

    def __init__(self, stats: LayerStats, mode: str, bytes_fetched: int) -> None:
        self.stats = stats
        self.mode = mode  # "partial" | "whole" | "cache"
        self.bytes_fetched = bytes_fetched


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


def may_be_partial(desc: oci.Descriptor, cache: ContentCache | None) -> bool:
    """Whether the layer will be fetched partially unless the selection turns out to be everything:
    zstd:chunked, not in the cache whole, and not a layer the cache's index may let the plan skip."""
    try:
        if not is_chunked(desc.media_type, desc.annotations):
            return False
    except IntegrityError:
        return False
    if cache is None:
        return True
    return cache.get_blob_path(desc.digest) is None and cache.get_layer_index(desc.digest) is None


def start_early(
    client: RegistryClient, repository: str, layers: Sequence[oci.Descriptor], cache: ContentCache | None
) -> PartialLayers | None:
    """Start reading the TOCs of the image's zstd:chunked layers now, before the selection is known
    (see the module doc); None when no layer can be fetched partially.  The caller ``settle``s or
    ``close``s what it gets."""
    candidates = [(i, d) for i, d in enumerate(layers) if may_be_partial(d, cache)]
    if not candidates:
        return None
    early = PartialLayers(client, repository, candidates, None, cache=cache, paths_known=False)
    try:
        early.advance(0)
    except BaseException:
        early.close()
        raise
    return early


class CacheFiles:
    """Verified file contents in the content cache, by digest: in packs (``put_many``, a layer's
    files together) or as single blobs (``put``, a file fetched on its own)."""

    def __init__(self, cache: ContentCache) -> None:
        self.cache = cache
        self.packs = cache.packs()
        self._writer: SmallBlobWriter | None = None
        self._listings: dict[str, frozenset[str] | None] = {}  # algorithm -> blob names (``has``)

    def _blobs(self) -> SmallBlobWriter:
        if self._writer is None:
            self._writer = self.cache.small_blob_writer()
        return self._writer

    def has(self, digest: str) -> bool:
        """Whether the cache holds ``digest`` (a hint for the plan: ``get`` verifies).  Single
        blobs are looked up in one listing of their directory, read at the first lookup, when it
        is small (``LISTING_LIMIT``): a plan asks about every file of a layer, and a ``stat`` each
        would wait for the GIL each time another thread holds it.  A blob committed after the
        listing is fetched again; one removed since is fetched when ``get`` misses it."""
        try:
            if self.packs.has(digest):
                return True
            algorithm, _, hexd = digest.partition(":")
            if algorithm not in self._listings:
                self._listings[algorithm] = self._blobs().listing(digest, LISTING_LIMIT)
            names = self._listings[algorithm]
            return hexd in names if names is not None else self._blobs().exists(digest)
        except (OSError, IntegrityError):
            return False

    def get(self, digest: str, size: int) -> bytes | None:
        """The file's bytes, verified against ``digest``; a rotten copy is removed (None)."""
        try:
            data = self.packs.get(digest, size)
        except (OSError, IntegrityError):
            data = None
        if data is not None:
            return data
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
        """Keep ``data``, which the caller has verified against ``digest``."""
        try:
            self._blobs().put(digest, data)
        except (OSError, IntegrityError) as exc:
            log.debug("file %s not cached: %s", digest, exc)

    def put_many(self, files: Sequence[tuple[str, FileData]]) -> None:
        """Keep ``files`` (digest, bytes), each verified by the caller, as one pack."""
        try:
            self.packs.put(files)
        except (OSError, IntegrityError) as exc:
            log.debug("%d files not cached: %s", len(files), exc)


class ParseGate:
    """One TOC parsed at a time, the highest layer first.

    TOC parsing is Python work: several at once only share the GIL, so each finishes as late as
    the last.  One at a time, upper layers first (where a catalog's configs and a bundle's
    manifests usually are), the layer most likely to need chunks starts fetching them soonest.
    A layer announced with ``expect`` (its TOC is on the way, or parsed with its plan waiting
    for the selection) goes before lower ones whose TOCs arrived first, if it comes within
    ``grace`` seconds of them: a parse in progress would delay it, the one that starts the
    fetch, by a whole parse.  A TOC that takes longer does
    not keep the lower ones waiting (they use the time); nor does one that leaves the gate
    (``leave``: parsed, failed, or needs no parse)."""

    def __init__(self, grace: float = EXPECT_GRACE) -> None:
        self.grace = grace
        self._cond = threading.Condition()
        self._busy = False
        self._waiting: list[int] = []
        self._expected: set[int] = set()

    def expect(self, position: int) -> None:
        """The TOC of the layer at ``position`` is being read: lower layers parse after it."""
        with self._cond:
            self._expected.add(position)

    def leave(self, position: int) -> None:
        """The layer at ``position`` will not parse (again): stop holding lower layers back."""
        with self._cond:
            if position in self._expected:
                self._expected.discard(position)
                self._cond.notify_all()

    def run(self, position: int, work: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.grace
        with self._cond:
            self._waiting.append(position)
            while True:
                if self._busy or max(self._waiting) != position:
                    self._cond.wait()
                    continue
                left = deadline - time.monotonic()
                if left <= 0 or max(self._expected, default=-1) <= position:
                    break
                self._cond.wait(left)  # a higher layer's TOC is on its way
            self._waiting.remove(position)
            self._expected.discard(position)
            self._busy = True
        try:
            return work()
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()


class PartialLayer:
    """One layer fetched partially, started ahead of its turn: a worker thread reads the TOC (and
    footer), verifies and plans it, then fetches, decompresses and verifies the predicted files
    (``assemble.Fetcher``) while earlier layers are still being applied; ``apply`` applies it in
    its turn (see the module doc), ``close`` stops the worker."""

    def __init__(
        self,
        client: RegistryClient,
        repository: str,
        desc: oci.Descriptor,
        paths: Sequence[str] | None,
        *,
        cache: ContentCache | None = None,
        hold: HoldBudget | None = None,
        gate: ParseGate | None = None,
        position: int = 0,
        start: bool = True,
        paths_known: bool = True,
    ) -> None:
        location = toc_location(desc.annotations)
        assert location is not None
        if location.offset + location.length > desc.size:
            raise IntegrityError(f"zstd:chunked TOC of {desc.digest} lies beyond the blob's end")
        self.client, self.repository, self.desc, self.paths = client, repository, desc, paths
        self.location = location
        self.cache = cache
        self.files = CacheFiles(cache) if cache is not None else None
        self.hold = hold if hold is not None else HoldBudget()
        self.gate = gate if gate is not None else ParseGate()
        self.position = position
        self.ranges = BlobRanges(client, repository, desc.digest, desc.size)
        self._side: BlobRanges | None = None
        self._ready = threading.Event()
        self._settled = threading.Event()  # ``paths`` is the selection (see ``settle``)
        if paths_known:
            self._settled.set()
        self._toc: Toc | None = None
        self._fetcher: Fetcher | None = None
        self._writer: CacheWriter | None = None
        self._toc_blob: tuple[str, bytes] | None = None  # (checksum, TOC) to keep in the cache
        self._whole_body: object | None = None  # the registry ignored Range: the blob, from byte 0
        self._unsupported: TocUnsupported | None = None
        self._error: BaseException | None = None
        self._closed = False
        self._abandoned = False  # the pull failed: stop writing to the cache
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="imgextract-partial", daemon=True)
        self._started = False
        if start:
            self.start()

    def start(self) -> None:
        """Start the worker (once)."""
        if self._started:
            return
        self._started = True
        self.gate.expect(self.position)
        try:
            self._thread.start()
        except BaseException:
            self.gate.leave(self.position)
            raise

    def settle(self, paths: Sequence[str] | None) -> None:
        """The selection is known: plan the layer's files for ``paths`` (a layer started before it
        was known has read and parsed its TOC meanwhile)."""
        self.paths = paths
        self._settled.set()

    def _run(self) -> None:
        try:
            if self._closed:  # the pull failed before this layer's worker got going
                return
            fetcher = self._read_toc()
            self.gate.leave(self.position)  # parsed, from the cache, or not at all
            if fetcher is None or self._closed:
                return
            with self._lock:  # close() either sees the fetcher (and cancels it) or ran before
                self._fetcher = fetcher
                closed = self._closed
            self._ready.set()
            if not closed:
                fetcher.run_here()
                if self._writer is not None and not self._abandoned:
                    self._writer.flush()  # the layer's verified files, while the applier writes them
                if self._toc_blob is not None and self.cache is not None and not self._abandoned:
                    _put_toc(self.cache, *self._toc_blob)  # a blob of its own: read before any pack
        except TocUnsupported as exc:
            self._unsupported = exc
        except BaseException as exc:  # raised in the applier's thread, in this layer's turn
            self._error = exc
        finally:
            self.gate.leave(self.position)
            self._ready.set()

    def _verified(self, entry: TocEntry, data: FileData) -> None:
        if self._writer is not None and entry.digest is not None and entry.size <= MAX_CACHED_FILE:
            self._writer.put(entry.digest, data)

    def _plan(self, toc: Toc) -> Fetcher:
        """The fetcher of the files this layer is predicted to need (and their cache writer)."""
        fetcher = make_fetcher(toc, self.ranges, self.paths, files=self.files)
        if self.files is not None and fetcher.files:
            self._writer = CacheWriter(self.files, budget=self.hold)
            fetcher.on_verified = self._verified
            fetcher.idle = self._writer.flush_some  # by either thread while it waits for the other
        self._toc = toc
        return fetcher

    def _plan_settled(self, toc: Toc) -> Fetcher | None:
        """``_plan`` once the selection is known, through the gate (see ``_read_toc``); None when
        the layer was closed meanwhile."""
        self._settled.wait()
        if self._closed:
            return None
        return self.gate.run(self.position, lambda: self._plan(toc))

    def _parse(self, raw: bytes, location: TocLocation) -> Toc | Fetcher:
        """Parse the TOC, and plan it too if the selection is known by then."""
        toc = parse_toc(raw, location)
        return self._plan(toc) if self._settled.is_set() else toc

    def _read_toc(self) -> Fetcher | None:
        """Read, verify and plan the TOC; None when the registry sent the whole blob instead (or
        the layer was closed before the selection was known)."""
        location, desc = self.location, self.desc
        toc = _cached_toc(self.files, location)
        if toc is not None:
            return self._plan_settled(toc)
        with_footer = location.offset + location.length + FOOTER_SIZE == desc.size
        end = desc.size if with_footer else location.offset + location.length
        try:
            head = self.ranges.read_head(location.offset, end)
        except RangeIgnored as ignored:
            self._whole_body = ignored.body
            return None
        if with_footer:
            check_footer(head[location.length :], location)
        raw = head[: location.length]
        # Planning (a stat per file in the cache) is gated with the parse: its system calls would
        # each wait for the GIL while another layer's parse holds it (up to the interpreter's
        # switch interval, 5 ms, each).  The selection usually arrives while the first TOC is
        # parsed: then the plan follows at once; otherwise it takes the gate again when the
        # selection is known, ahead of the lower layers' parses still waiting.
        parsed = self.gate.run(self.position, lambda: self._parse(raw, location))
        if not isinstance(parsed, Fetcher):  # its plan follows once the selection is known: the
            self.gate.expect(self.position)  # lower layers' parses wait for it (within the grace)
        fetcher = parsed if isinstance(parsed, Fetcher) else self._plan_settled(parsed)
        if fetcher is None:
            return None
        if location.checksum is not None and self.cache is not None:
            if self._writer is not None:  # verified: written after the files are fetched
                self._toc_blob = (location.checksum, raw)
            else:
                _put_toc(self.cache, location.checksum, raw)
        return fetcher

    def _side_source(self) -> BlobRanges:
        """A second connection for files the prediction missed (the worker owns ``ranges``)."""
        self._side = BlobRanges(self.client, self.repository, self.desc.digest, self.desc.size)
        return self._side

    def apply(self, applier: Applier, diff_id: str) -> LayerFetchResult:
        """Apply the layer into ``applier`` in its turn, fetching only what the selection needs."""
        self.start()
        self._ready.wait()
        desc = self.desc
        if self._error is not None:
            raise self._error
        whole_body, self._whole_body = self._whole_body, None
        if whole_body is not None:
            with whole_body as body:  # type: ignore[attr-defined]
                return _whole(body, desc, diff_id, applier, self.ranges)
        if self._unsupported is not None:
            log.info("layer %s: %s; fetching it whole", desc.digest, self._unsupported)
            with self.client.open_blob(self.repository, desc.digest, size=desc.size) as body:
                result = _whole(body, desc, diff_id, applier, self.ranges)
            result.bytes_fetched += desc.size
            return result
        assert self._toc is not None and self._fetcher is not None
        stats = apply_chunked(
            self._toc,
            self.ranges,
            applier,
            self.paths,
            files=self.files,
            side=self._side_source,
            fetcher=self._fetcher,
        )
        self.close(write_cache=True)  # the cache writes of this layer are done when it is
        fetched = self.ranges.bytes_fetched + (self._side.bytes_fetched if self._side else 0)
        requests = self.ranges.requests + (self._side.requests if self._side else 0)
        stats.digest = desc.digest
        stats.compressed_size = fetched
        mode = "partial" if requests else "cache"  # TOC and every needed file were cached
        return LayerFetchResult(stats, mode, fetched)

    def close(self, *, write_cache: bool = False) -> None:
        """Stop the worker (it finishes the read it is in); write the verified files held for the
        cache (``write_cache``, once the layer is applied) or drop them."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._abandoned = not write_cache
            fetcher = self._fetcher
        self._settled.set()  # a worker waiting for the selection sees ``_closed``
        if fetcher is not None:
            fetcher.close()
        if write_cache and self._writer is not None:
            self._writer.flush()  # alongside the worker's flush: the layer is done when both are
        if self._abandoned or not self._ready.is_set():
            self.ranges.close()  # the pull failed: do not wait for a read in progress
        if self._started:
            self._thread.join()
        whole_body, self._whole_body = self._whole_body, None
        if whole_body is not None:  # read, but the layer was not applied (``PartialLayers.settle``)
            whole_body.close()  # type: ignore[attr-defined]
        if self._writer is not None:
            self._writer.close(write=write_cache)
        self.ranges.close()
        if self._side is not None:
            self._side.close()


class PartialLayers:
    """The partially fetched layers of one pull, each started ``window`` layers ahead of its turn
    (so TOCs and chunks of later layers are fetched while earlier ones are applied)."""

    def __init__(
        self,
        client: RegistryClient,
        repository: str,
        layers: Sequence[tuple[int, oci.Descriptor]],
        paths: Sequence[str] | None,
        *,
        cache: ContentCache | None = None,
        window: int = WINDOW,
        paths_known: bool = True,
    ) -> None:
        self.client, self.repository, self.paths, self.cache = client, repository, paths, cache
        self.paths_known = paths_known  # False: started early, ``settle`` gives the selection
        self.pending = list(layers)  # (position in the image, descriptor), in order
        self.window = window
        self.started: dict[int, PartialLayer] = {}
        self.hold = HoldBudget()  # verified files held for the cache, all layers together
        self.gate = ParseGate()

    def advance(self, position: int) -> None:
        """The layer at ``position`` is next: start the partial ones up to ``window`` ahead, the
        highest first (its TOC request goes out first: it is parsed first, see ``ParseGate``)."""
        new: list[PartialLayer] = []
        while self.pending and (self.pending[0][0] <= position or len(self.started) < self.window):
            index, desc = self.pending.pop(0)
            layer = PartialLayer(
                self.client,
                self.repository,
                desc,
                self.paths,
                cache=self.cache,
                hold=self.hold,
                gate=self.gate,
                position=index,
                start=False,
                paths_known=self.paths_known,
            )
            self.started[index] = layer
            new.append(layer)
        for layer in reversed(new):
            layer.start()

    def select(self, paths: Sequence[str] | None) -> None:
        """The selection is known, before the pull's plan says which layers stay partial (layers
        started by ``start_early``): the started layers plan for ``paths`` as soon as their TOCs
        are parsed, so the first chunks are asked for while the pull still prepares its output.
        ``settle`` follows with the same paths.  A selection of everything plans nothing here:
        no layer stays partial then (``settle`` stops them all)."""
        if self.paths_known or PathSelection(list(paths) if paths is not None else None).everything:
            return
        self.paths, self.paths_known = paths, True
        for layer in self.started.values():
            layer.settle(paths)

    def settle(self, layers: Sequence[tuple[int, oci.Descriptor]], paths: Sequence[str] | None) -> None:
        """The pull's plan is known (layers started by ``start_early``): ``layers``, a subset of
        those given at first, are fetched partially for ``paths``; the others are stopped."""
        keep = {index for index, _ in layers}
        for index in [i for i in self.started if i not in keep]:
            self.started.pop(index).close()
        self.pending = [(i, d) for i, d in self.pending if i in keep]
        self.paths, self.paths_known = paths, True
        for layer in self.started.values():
            layer.settle(paths)

    def apply(self, position: int, diff_id: str, applier: Applier) -> LayerFetchResult:
        self.advance(position)
        layer = self.started.pop(position)
        try:
            result = layer.apply(applier, diff_id)
        finally:
            layer.close()
        self.advance(position + 1)  # only after a success: a failed pull starts no more fetches
        return result

    def close(self) -> None:
        for layer in self.started.values():
            layer.close()
        self.started.clear()


def _cached_toc(files: CacheFiles | None, location: TocLocation) -> Toc | None:
    """The TOC from the cache (kept under its checksum), verified; a bad entry is removed."""
    if files is None or location.checksum is None:
        return None
    data = files.get(location.checksum, location.length)
    if data is None:
        return None
    try:
        return parse_toc(data, location)
    except IntegrityError:  # a TOC we refuse: read it from the registry again (and refuse it)
        _evict(files.cache, location.checksum)
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
    from imgextract.layers.pipeline import apply_blob  # the whole-layer fallback only

    stats = apply_blob(
        body,  # type: ignore[arg-type]
        digest=desc.digest,
        size=desc.size,
        media_type=desc.media_type,
        diff_id=diff_id,
        applier=applier,
    )
    return LayerFetchResult(stats, "whole", ranges.bytes_fetched)
