"""Find the image: try each source (mirrors, then the primary) until one serves the manifest.

Like containers/image: the first source whose manifest fetch succeeds serves every blob of
the pull.  A source that fails at the network level, answers "not found", refuses us, or serves
content whose digest does not verify is skipped; when all fail, one error lists every endpoint
tried and why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from imgextract import oci
from imgextract.errors import (
    AuthError,
    ImgExtractError,
    IntegrityError,
    LocalFilesystemError,
    NotFoundError,
    SourceError,
    UnreachableError,
    printable,
    remedy,
)
from imgextract.mirrors import Source
from imgextract.oci.digest import compute_digest
from imgextract.records import Record
from imgextract.reference import Reference
from imgextract.registry.client import ManifestResponse, RegistryClient
from imgextract.registry.pool import ClientPool

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from imgextract.cache import ContentCache
    from imgextract.pull.partial import PartialLayers
    from imgextract.pull.variants import VariantChoice

MAX_CONFIG_BYTES = 8 * 1024 * 1024


class ResolvedImage(Record):
    """The image a pull found: where, its manifest and config, and how to fetch its blobs."""

    __slots__ = (
        "reference",
        "source",
        "client",
        "digest",
        "media_type",
        "manifest_digest",
        "manifest",
        "config",
        "config_raw",
        "platform",
        "platforms",
        "cache",
        "variant",
        "fallbacks",
        "early",
    )

    def __init__(
        self,
        reference: Reference,
        source: Source,
        client: RegistryClient,
        digest: str,
        media_type: str,
        manifest_digest: str,
        manifest: oci.Manifest,
        config: oci.ImageConfig,
        config_raw: bytes,
        platform: str | None,
        platforms: list[str] | None = None,
        cache: ContentCache | None = None,
        variant: VariantChoice | None = None,
        fallbacks: list[tuple[Source, RegistryClient]] | None = None,
    ) -> None:
        self.reference = reference  # the logical reference (as normalised for the pull)
        self.source = source  # the endpoint that served it
        self.client = client
        self.digest = digest  # digest of what the reference points at (index or manifest)
        self.media_type = media_type  # media type of that top-level object
        self.manifest_digest = manifest_digest  # the platform-specific manifest's digest
        self.manifest = manifest
        self.config = config
        self.config_raw = config_raw
        self.platform = platform
        self.platforms: list[str] = platforms if platforms is not None else []
        self.cache = cache  # the session's content cache, for this image's blobs too
        self.variant = variant  # dual-compression index: what was offered and chosen
        # the sources after the one that served, in pull order (not blocked): where a blob that
        # fails verification is fetched again
        self.fallbacks: list[tuple[Source, RegistryClient]] = fallbacks if fallbacks is not None else []
        # zstd:chunked layers whose TOCs are being read since the manifest was known (``resolve``
        # with ``early_tocs``): taken by the pull's extraction, or closed by ``close_early``
        self.early: PartialLayers | None = None

    @property
    def repository(self) -> str:
        return self.source.reference.repository

    @property
    def endpoint(self) -> str:
        return self.source.reference.name

    def take_early(self) -> PartialLayers | None:
        """The layers started early (once: the caller settles or closes them)."""
        early, self.early = self.early, None
        return early

    def select_early(self, paths: Sequence[str] | None) -> None:
        """The pull's selection is known: the layers started early plan for it now, while the
        pull prepares its output (``PartialLayers.select``); the extraction still settles them."""
        if self.early is not None:
            self.early.select(paths)

    def close_early(self) -> None:
        """Stop the layers started early, if nothing took them (the pull failed before)."""
        early = self.take_early()
        if early is not None:
            early.close()


class Attempt:
    """A source tried, and why it failed."""

    __slots__ = ("endpoint", "error")

    def __init__(self, endpoint: str, error: ImgExtractError) -> None:
        self.endpoint = endpoint
        self.error = error

    def __repr__(self) -> str:
        return f"Attempt(endpoint={self.endpoint!r}, error={self.error!r})"


def _read_config(
    client: RegistryClient, repository: str, desc: oci.Descriptor, cache: ContentCache | None
) -> bytes:
    if desc.size > MAX_CONFIG_BYTES:
        raise IntegrityError(f"image config is {desc.size} bytes, more than the {MAX_CONFIG_BYTES} allowed")
    cached = cache.read_small_blob(desc.digest, MAX_CONFIG_BYTES + 1) if cache is not None else None
    if cached is not None:
        data = cached
        if compute_digest(data, algorithm=desc.digest.split(":", 1)[0]) != desc.digest:
            log.warning("content cache: blob %s does not match its digest; evicted", desc.digest)
            assert cache is not None
            _best_effort(lambda: cache.evict_blob(desc.digest))
            cached = None
    if cached is None:
        data = client.read_blob(repository, desc.digest, limit=MAX_CONFIG_BYTES)
    if len(data) != desc.size:
        raise IntegrityError(f"image config is {len(data)} bytes, the manifest says {desc.size}")
    if cached is None and cache is not None:  # verified above, held in memory: no lock, no partial
        _best_effort(lambda: cache.put_small_blob(desc.digest, data, verified=True))
    return data


def _best_effort(action: Callable[[], object]) -> None:
    try:
        action()
    except (OSError, LocalFilesystemError) as exc:  # a full or read-only cache only costs a re-fetch
        log.debug("content cache write skipped: %s", exc)


def _get_manifest(
    client: RegistryClient, repository: str, identifier: str, cache: ContentCache | None
) -> ManifestResponse:
    """A manifest by digest may come from the content cache (verified on read); tags always ask the source."""
    by_digest = ":" in identifier
    if cache is not None and by_digest:
        hit = cache.get_manifest(identifier)
        if hit is not None:
            return ManifestResponse(hit[0], hit[1], identifier)
    resp = client.get_manifest(repository, identifier)
    if cache is not None:
        # (get_manifest computed resp.digest over resp.raw, or checked it against the digest asked)
        _best_effort(lambda: cache.put_manifest(resp.digest, resp.raw, resp.media_type, verified=True))
    return resp


def fetch_image(
    client: RegistryClient,
    source: Source,
    logical: Reference,
    platform: oci.Platform,
    cache: ContentCache | None = None,
    *,
    prefer_compression: str = "auto",
    whole: bool = False,
    top: ManifestResponse | None = None,
    early_tocs: bool = False,
) -> ResolvedImage:
    """The image at ``source``; ``top``: what the reference points at, when already fetched.
    ``early_tocs``: start reading the TOCs of zstd:chunked layers as soon as the manifest is
    known, while the config is fetched (``ResolvedImage.early``)."""
    phys = source.reference
    variant: VariantChoice | None = None
    if top is None:
        top = _get_manifest(client, phys.repository, phys.identifier, cache)
    platforms: list[str] = []
    chosen: str | None = None
    if oci.is_index(top.media_type):
        index = oci.parse_index(top.raw, top.media_type)
        platforms = [str(d.platform) for d in index.manifests if d.platform is not None]
        desc = oci.select_platform(index, platform)
        from imgextract.pull.variants import choose_variant, platform_variants  # indexes only

        pair = platform_variants(index, platform)
        if pair is not None:  # a gzip and a zstd variant: take the one that fetches least
            gz, zs = (_get_manifest(client, phys.repository, d.digest, cache) for d in pair)
            variant = choose_variant(
                (pair[0], oci.parse_manifest(gz.raw, gz.media_type)),
                (pair[1], oci.parse_manifest(zs.raw, zs.media_type)),
                prefer=prefer_compression,
                whole=whole,
            )
            desc, resp = (pair[1], zs) if variant.chosen == "zstd" else (pair[0], gz)
        else:
            resp = _get_manifest(client, phys.repository, desc.digest, cache)
        # (an entry without a platform: the config says what it is, and a mismatch is warned of)
        chosen = str(desc.platform) if desc.platform else None
    else:
        resp = top
    manifest = oci.parse_manifest(resp.raw, resp.media_type)
    early = None
    if early_tocs and not whole and any(d.annotations for d in manifest.layers):
        from imgextract.pull.partial import start_early  # (a layer may be zstd:chunked)

        early = start_early(client, phys.repository, manifest.layers, cache)
    try:
        config_raw = _read_config(client, phys.repository, manifest.config, cache)
        config = oci.ImageConfig.parse(config_raw, manifest.config.media_type, manifest.artifact_type)
    except BaseException:
        if early is not None:
            early.close()
        raise
    if chosen is None and config.os:
        chosen = str(config.platform)
        if config.architecture and not config.platform.matches(platform):
            # a single-platform image: nothing to choose, but say so, as podman does
            log.warning("image platform (%s) does not match the requested platform (%s)", chosen, platform)
    image = ResolvedImage(
        logical,
        source,
        client,
        top.digest,
        top.media_type,
        resp.digest,
        manifest,
        config,
        config_raw,
        chosen,
        platforms,
        cache,
        variant,
    )
    image.early = early
    return image


class Located:
    """What a reference points at (a manifest or an index), as the first source that served it
    sent it: the first step of :func:`resolve`, which may go on from here.  Its digest alone can
    already answer a caller that keeps results by digest."""

    __slots__ = ("attempts", "client", "index", "top")

    def __init__(
        self, index: int, client: RegistryClient, top: ManifestResponse, attempts: list[Attempt]
    ) -> None:
        self.index = index  # the source's position in the sources walked
        self.client = client
        self.top = top
        self.attempts = attempts  # the sources before it, and why each failed

    @property
    def digest(self) -> str:
        return self.top.digest

    @property
    def is_index(self) -> bool:
        return oci.is_index(self.top.media_type)


def locate(
    logical: Reference, sources: list[Source], pool: ClientPool, cache: ContentCache | None = None
) -> Located:
    """Walk the sources (mirrors, then the primary) until one serves the reference's manifest or
    index; a tag is always asked at the source, a digest may come from the content cache."""
    attempts: list[Attempt] = []
    for index, source in enumerate(sources):
        if source.blocked:
            attempts.append(_blocked(source))
            continue
        client = pool.get(source.reference.registry, insecure=source.insecure)
        phys = source.reference
        try:
            top = _get_manifest(client, phys.repository, phys.identifier, cache)
        except SourceError as exc:  # this source failed: try the next one
            attempts.append(Attempt(phys.name, exc))
            _log_failed(attempts[-1], more=index + 1 < len(sources))
        else:
            return Located(index, client, top, attempts)
    raise _combined_error(logical, attempts)


def _log_failed(attempt: Attempt, *, more: bool) -> None:
    """Say at -v which source failed and why, when another one is tried next (the last failure is
    the error itself)."""
    if more and log.isEnabledFor(logging.INFO):
        why = attempt.error.render_message(lambda kind, arg: arg if kind == "option" else "")
        log.info("%s", printable(f"{attempt.endpoint}: {why}; trying the next source"))


def _blocked(source: Source) -> Attempt:
    endpoint = source.reference.name
    why = f"blocked by registries policy ({source.rule}){remedy('explain_mirrors')}"
    return Attempt(endpoint, UnreachableError(why, endpoint=endpoint))


def resolve(
    logical: Reference,
    sources: list[Source],
    pool: ClientPool,
    platform: oci.Platform,
    cache: ContentCache | None = None,
    *,
    prefer_compression: str = "auto",
    whole: bool = False,
    located: Located | None = None,
    early_tocs: bool = False,
) -> ResolvedImage:
    """The image: its manifest and config from the first source that serves both (a source
    failing midway hands over to the next).  ``located``: :func:`locate`'s answer for these
    sources, to go on from; ``early_tocs``: see :func:`fetch_image`."""
    if located is None:
        located = locate(logical, sources, pool, cache)
    attempts = list(located.attempts)
    for index in range(located.index, len(sources)):
        source = sources[index]
        top: ManifestResponse | None = None
        if index == located.index:
            client, top = located.client, located.top
        elif source.blocked:
            attempts.append(_blocked(source))
            continue
        else:
            client = pool.get(source.reference.registry, insecure=source.insecure)
        try:
            image = fetch_image(
                client,
                source,
                logical,
                platform,
                cache,
                prefer_compression=prefer_compression,
                whole=whole,
                top=top,
                early_tocs=early_tocs,
            )
        except SourceError as exc:  # this source failed: try the next one
            attempts.append(Attempt(source.reference.name, exc))
            _log_failed(attempts[-1], more=index + 1 < len(sources))
        else:
            later = sources[index + 1 :]
            image.fallbacks = [
                (s, pool.get(s.reference.registry, insecure=s.insecure)) for s in later if not s.blocked
            ]
            return image
    raise _combined_error(logical, attempts)


def _combined_error(logical: Reference, attempts: list[Attempt]) -> ImgExtractError:
    if not attempts:
        return UnreachableError("no source to pull from", reference=str(logical))
    if len(attempts) == 1:
        err = attempts[0].error
        err.reference = err.reference or str(logical)
        err.endpoint = err.endpoint or attempts[0].endpoint
        return err
    detail = "; ".join(f"{a.endpoint}: {a.error.template}" for a in attempts)
    classes = {type(a.error) for a in attempts}
    message = f"every source failed ({detail})"
    if classes == {NotFoundError}:
        return NotFoundError(message, reference=str(logical))
    if all(issubclass(c, (NotFoundError, AuthError)) for c in classes) and AuthError in classes:
        return AuthError(message, reference=str(logical))
    if all(issubclass(c, (NotFoundError, IntegrityError)) for c in classes) and IntegrityError in classes:
        return IntegrityError(message, reference=str(logical))
    return UnreachableError(message, reference=str(logical))
