"""``Client``: one connection pool per registry, one content cache, one credential store.

::

    with imgextract.Client(insecure_registries=["localhost:5000"]) as client:
        for ref in refs:
            client.pull(ref, f"out/{name(ref)}")

Everything a client holds is built on first use and reused by every call: the mirror rules
(registries.conf, ICSP/IDMS/ITMS), the credential store, one ``RegistryClient`` (one
transport, so one set of kept-alive connections and one ``/v2/`` ping) per registry endpoint, and the
content cache.  ``close()`` (or leaving the ``with`` block) closes the connections.  A client may
be shared by threads.  The module-level functions (:func:`pull`, :func:`inspect`, :func:`copy`,
:func:`explain_mirrors`) run one call on a fresh client.

Options are named as the command-line flags in snake_case (``insecure_registries``, ``ca_file``,
``cert_dir``, ``creds``, ``authfile``, ``pull_secret``, ``icsp_files``, ``idms_files``,
``itms_files``, ``registries_conf``, ``registries_conf_dir``, ``platform``, ``cache_dir``,
``use_cache``) plus the transport knobs the CLI does not expose (``timeout``, ``retries``,
``retry_base_delay``, ``retry_max_delay``, ``user_agent``, ``chunk_size``) and ``env`` (the
environment to read defaults from); see :mod:`imgextract.settings`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Unpack

from imgextract import oci
from imgextract.errors import InvalidReference, UsageError, option, unknown_option
from imgextract.pull.resolve import Located, ResolvedImage, locate, resolve
from imgextract.reference import Reference
from imgextract.registry.client import RegistryClient
from imgextract.registry.pool import ClientPool
from imgextract.settings import OPTION_NAMES, ClientOptions, Settings

# ``operations`` (extraction, outputs, results) is imported by the calls that need it: ``render`` and
# the catalog queries start without it.
if TYPE_CHECKING:
    from imgextract import operations
    from imgextract.auth import CredentialStore
    from imgextract.cache import ContentCache
    from imgextract.call_options import (
        CatalogPullOptions,
        CopyOptions,
        InspectOptions,
        PullOptions,
        RenderOptions,
    )
    from imgextract.catalog import BundleOutcome, Catalog, CatalogPullResult
    from imgextract.mirrors import MirrorConfig
    from imgextract.progress import Progress
    from imgextract.rendering import Refs
    from imgextract.results import CopyResult, InspectResult, MirrorsResult, PullResult
    from imgextract.signatures import Policy, Verdict, Verifier

log = logging.getLogger(__name__)

__all__ = ["Client", "copy", "explain_mirrors", "inspect", "pull", "pull_catalog", "verify"]

_UNSET: Any = object()


class Client:
    """A registry client for many operations: ``with Client(**options) as client: client.pull(...)``.

    ``settings`` may be given instead of keyword options (a prebuilt :class:`~imgextract.settings.Settings`).
    Bad options raise :class:`~imgextract.errors.UsageError` here; configuration files are read on
    first use and raise :class:`~imgextract.errors.ConfigError`.
    """

    def __init__(self, *, settings: Settings | None = None, **options: Unpack[ClientOptions]) -> None:
        if settings is not None and options:
            raise UsageError("pass either settings or keyword options, not both")
        self.settings = settings if settings is not None else Settings.from_options(**options)
        self._platform = oci.Platform.parse(self.settings.platform)
        self._lock = threading.RLock()
        self._mirrors: MirrorConfig | None = None
        self._credentials: CredentialStore | None = None
        self._cache: ContentCache | None | object = _UNSET
        self._verifier: Verifier | None | object = _UNSET
        self._pool = ClientPool(self._make_registry_client)
        self._closed = False

    # --- resources, built on first use ------------------------------------------------------------

    @property
    def mirrors(self) -> MirrorConfig:
        """The mirror rules (registries.conf with drop-ins, ICSP/IDMS/ITMS), read once."""
        with self._lock:
            if self._mirrors is None:
                from imgextract.mirrors import load_mirror_config

                self._mirrors = load_mirror_config(self.settings.mirrors)
            return self._mirrors

    @property
    def credentials(self) -> CredentialStore:
        """The credential store (``creds``, ``pull_secret``, auth files, helpers), read once."""
        with self._lock:
            if self._credentials is None:
                from imgextract.auth import CredentialStore

                a = self.settings.auth
                self._credentials = CredentialStore.from_settings(
                    creds=a.creds, authfile=a.authfile, pull_secret=a.pull_secret, env=self.settings.env
                )
            return self._credentials

    @property
    def cache(self) -> ContentCache | None:
        """The content cache (None with ``use_cache=False``, or when its directory is unusable)."""
        with self._lock:
            if self._cache is _UNSET:
                self._cache = self._open_cache()
            return self._cache  # type: ignore[return-value]

    @property
    def verifier(self) -> Verifier | None:
        """The signature policy with its registries.d (None without ``policy``), read once."""
        with self._lock:
            if self._verifier is _UNSET:
                self._verifier = self._make_verifier(self.settings.signatures.policy)
            return self._verifier  # type: ignore[return-value]

    def _make_verifier(self, policy: str | os.PathLike[str] | Policy | None) -> Verifier | None:
        options = self.settings.signatures
        if policy is None:  # no policy: the signatures package is not even imported
            if options.registries_d is not None:
                raise UsageError(f"{option('registries_d')} has no effect without {option('policy')}")
            return None
        from imgextract.signatures import LookasideReader, Policy, Verifier, load_policy, load_registries_d

        loaded = policy if isinstance(policy, Policy) else load_policy(policy, env=self.settings.env)
        registries = load_registries_d(options.registries_d, env=self.settings.env)
        return Verifier(loaded, registries, LookasideReader(self.settings.transport))

    def _open_cache(self) -> ContentCache | None:
        if not self.settings.cache.use_cache:
            return None
        from imgextract.cache import ContentCache

        root = self.settings.cache_root
        try:
            return ContentCache(root)
        except OSError as exc:
            log.warning("content cache %s unusable (%s): pulling without it", root, exc)
            return None

    def _make_registry_client(self, registry: str, insecure: bool) -> RegistryClient:
        transport = self.settings.transport
        return RegistryClient(
            registry,
            transport,
            self.credentials,
            insecure=insecure or registry in transport.insecure_registries,
        )

    def registry_client(self, registry: str, *, insecure: bool = False) -> RegistryClient:
        """The shared low-level client of one registry endpoint (created on first use)."""
        if self._closed:
            raise UsageError("the client is closed")
        return self._pool.get(registry, insecure=insecure)

    def prepare(self) -> None:
        """Read the configuration now (mirror rules, credentials) and open the cache.

        Operations call this first, so that a bad configuration file fails before any network.
        """
        _ = self.mirrors, self.credentials, self.cache, self.verifier

    def scope_credentials(self, *refs: Reference) -> None:
        """``creds`` goes to these references' registries (and to those of every reference named
        in an earlier call of this client): a configured mirror gets them only when it is on the
        same registry, as containers/image does (``docker_image_src.go``: the credentials meant for
        the primary are not sent to mirrors on another domain), and a registry named only by image
        content (an imgpkg images.yml, a catalog's bundle images) never does.  Other hosts get what
        the auth files hold for them.  The scope only grows: concurrent calls for other registries
        never take credentials from a running one."""
        self.credentials.allow_flag_credentials(ref.registry for ref in refs)

    def scope_catalog_credentials(self, catalog: Catalog) -> None:
        """Before pulling a catalog's bundles: their registries come from the catalog's content, so
        ``creds`` goes only to the catalog image's registry (nowhere for a catalog directory);
        other registries get what the auth files hold for them."""
        self.scope_credentials(*_named_catalog_image(catalog))

    def sources_for(self, ref: Reference) -> list[tuple[Reference, RegistryClient | None]]:
        """Where to read ``ref`` from, as a pull does: allowed mirrors in order, then the primary
        (None for an endpoint the configuration blocks)."""
        return [
            (
                s.reference,
                None if s.blocked else self.registry_client(s.reference.registry, insecure=s.insecure),
            )
            for s in self.mirrors.pull_sources(ref.pull_ref())
        ]

    def locate(self, ref: Reference) -> Located:
        """The first step of :meth:`resolve`: what ``ref`` points at (its manifest or index), from
        the first of its sources that serves it; a tag is always asked at the source.  No config,
        no signature check: pass the answer to :meth:`resolve` to go on."""
        logical = ref.pull_ref()
        return locate(logical, self.mirrors.pull_sources(logical), self._pool_for_resolve(), self.cache)

    def resolve(
        self,
        ref: Reference,
        platform: oci.Platform | None = None,
        *,
        check_signatures: bool = True,
        prefer_compression: str = "auto",
        whole: bool = False,
        located: Located | None = None,
        early_tocs: bool = False,
    ) -> ResolvedImage:
        """Find ``ref`` through its sources (mirrors, then the primary): manifest and config, no layers.

        With a signature ``policy``, an image it does not accept is refused here
        (:class:`~imgextract.errors.SignatureRefused`), before anything reads a layer.  An index
        offering the platform as a gzip and a zstd image: ``prefer_compression`` ("gzip", "zstd")
        picks one, "auto" the one that fetches least (``whole``: every layer will be read).
        ``located``: :meth:`locate`'s answer for ``ref``, to go on from (no second manifest request).
        ``early_tocs`` (a pull that goes on to extract the image): the TOCs of its zstd:chunked
        layers are read while the config is fetched, unless a signature policy must accept the
        image first; the caller settles them (extraction) or calls ``image.close_early()``."""
        logical = ref.pull_ref()
        sources = self.mirrors.pull_sources(logical)
        cache = self.cache
        verifier = self.verifier if check_signatures else None
        image = resolve(
            logical,
            sources,
            self._pool_for_resolve(),
            platform or self._platform,
            cache,
            prefer_compression=prefer_compression,
            whole=whole,
            located=located,
            early_tocs=early_tocs and verifier is None,  # no layer byte before the policy accepts
        )
        if verifier is not None:
            from imgextract.signatures import require_accepted

            require_accepted(
                verifier.judge(image.reference, image.source.reference, image.client, image.manifest_digest)
            )
        return image

    def _pool_for_resolve(self) -> ClientPool:
        if self._closed:
            raise UsageError("the client is closed")
        return self._pool

    # --- operations ---------------------------------------------------------------------------------

    def pull(
        self,
        ref: str,
        output: str | os.PathLike[str] | None,
        *,
        paths: Sequence[str] = (),
        all: bool = False,
        force: bool = False,
        format: operations.OutputFormat = "dir",
        configmap_name: str | None = None,
        namespace: str | None = None,
        compress: operations.Compress = "auto",
        split: bool = False,
        olm_labels: bool = False,
        source_image: str | None = None,
        recursive: bool = False,
        kind: str | None = None,
        strict: bool = False,
        platform: str | None = None,
        prefer_compression: str = "auto",
        progress: Progress | None = None,
    ) -> PullResult:
        """Pull ``ref`` and extract it into ``output``, as ``bundle-extract pull REF -o OUT`` does.

        What is extracted depends on the image (registry+v1 and plain+v0 bundles, file-based
        catalogs, imgpkg bundles); any other image needs ``paths=[...]`` or ``all=True``.
        ``output`` must not exist or be empty unless ``force``; on failure nothing is left there.
        With ``format="configmap"`` the bundle becomes ConfigMaps written to the file ``output``,
        or, with ``output=None``, only returned in :attr:`PullResult.configmaps`.
        zstd:chunked layers are fetched partially (only the selected files' chunks) unless
        ``all``; ``prefer_compression`` chooses in a dual-compression index (see docs/formats.md).
        ``kind`` overrides detection from the labels (``registry+v1``, ``plain+v0``, ``fbc``,
        ``imgpkg``, ``image``); ``strict`` makes every label/annotations.yaml disagreement fatal.
        """
        from imgextract import operations

        options = operations.PullOptions(
            paths=paths,
            all=all,
            force=force,
            format=format,
            configmap=operations.ConfigMapOptions(
                name=configmap_name,
                namespace=namespace,
                compress=compress,
                split=split,
                olm_labels=olm_labels,
                source_image=source_image,
            ),
            recursive=recursive,
            prefer_compression=prefer_compression,
            kind=kind,
            strict=strict,
        )
        return operations.pull(
            self, ref, output, options, platform=self._platform_of(platform), progress=progress
        )

    def inspect(
        self, ref: str, *, platform: str | None = None, prefer_compression: str = "auto"
    ) -> InspectResult:
        """What a pull of ``ref`` would fetch: digest, source, platforms, labels, annotations, layers, kind
        (and, for a dual-compression index, both variants and which one a pull takes)."""
        from imgextract import operations

        return operations.inspect(
            self, ref, platform=self._platform_of(platform), prefer_compression=prefer_compression
        )

    def copy(
        self,
        ref: str,
        to_repo: str,
        *,
        concurrency: int = 5,
        lock_output: str | os.PathLike[str] | None = None,
    ) -> CopyResult:
        """Copy the imgpkg bundle ``ref`` and every image it references into ``to_repo``."""
        from imgextract import operations

        return operations.copy(self, ref, to_repo, concurrency=concurrency, lock_output=lock_output)

    def verify(
        self,
        ref: str,
        *,
        policy: str | os.PathLike[str] | Policy | None = None,
        platform: str | None = None,
    ) -> Verdict:
        """Judge ``ref`` by a signature policy, as ``bundle-extract verify REF`` does: a frozen
        :class:`~imgextract.signatures.Verdict`, accepted or not (never raises for a refusal).

        ``policy``: a policy.json path, ``"default"``, or a parsed
        :class:`~imgextract.signatures.Policy`; None: the client's ``policy`` setting, else
        ``"default"``.  Reads the manifest, the config and the signatures (from where the image is
        pulled: a mirror's lookaside and ``.sig`` tags), never a layer.  An unusable policy raises
        :class:`~imgextract.signatures.PolicyError`."""
        from imgextract.reference import parse_reference

        verifier = self._make_verifier(policy or self.settings.signatures.policy or "default")
        assert verifier is not None
        _ = self.mirrors, self.credentials, self.cache  # configuration errors before any network
        image = self.resolve(parse_reference(ref), self._platform_of(platform), check_signatures=False)
        return verifier.judge(image.reference, image.source.reference, image.client, image.manifest_digest)

    def explain_mirrors(self, ref: str) -> MirrorsResult:
        """The ordered endpoints a pull of ``ref`` would try, and the rule behind each (no network)."""
        from imgextract import operations

        return operations.explain_mirrors(self, ref, insecure_host=self.settings.transport.is_insecure)

    def open_catalog(self, ref: str | os.PathLike[str]) -> Catalog:
        """An operator catalog (a catalog image, or a file-based catalog directory) to query and
        filter: ``client.open_catalog(ref).filter(packages=["etcd"]).bundles()`` (its channels' heads)."""
        from imgextract.catalog import Catalog

        return Catalog.open(ref, client=self)

    def pull_catalog(
        self,
        catalog: str | os.PathLike[str] | Catalog,
        output: str | os.PathLike[str],
        *,
        packages: Sequence[str] = (),
        channels: Sequence[str] = (),
        min_version: str | None = None,
        max_version: str | None = None,
        heads_only: bool | None = None,
        shard: tuple[int, int] | None = None,
        jobs: int = 4,
        max_per_registry: int | None = None,
        on_done: Callable[[BundleOutcome], None] | None = None,
        pin_cpu: bool = True,
    ) -> CatalogPullResult:
        """Pull every bundle the filters select from ``catalog`` (image, directory, or an opened
        :class:`~imgextract.catalog.Catalog`) into ``output/<package>/<bundle name>/``, ``jobs`` at a
        time over this client's connection pools, as ``pull --from-catalog`` does; ``shard=(i, n)``
        keeps shard ``i`` of ``n``. Named ``packages`` without a version range select the heads of
        their channels unless ``heads_only=False`` (every bundle; see :meth:`Catalog.filter
        <imgextract.catalog.Catalog.filter>`). Complete bundles are skipped; a failing bundle does not stop the
        others (see :meth:`CatalogPullResult.raise_for_failures`). The workers share one CPU unless
        ``pin_cpu=False`` (:mod:`imgextract.cpupin`)."""
        from imgextract.catalog import Catalog, pull_bundles
        from imgextract.catalog.pull import check_pacing

        check_pacing(jobs, max_per_registry)  # before the catalog is fetched
        if shard is not None:
            from imgextract.catalog.filters import check_shard

            check_shard(*shard)
        cat = catalog if isinstance(catalog, Catalog) else Catalog.open(catalog, client=self)
        if packages or channels or min_version or max_version or heads_only:
            cat = cat.filter(packages, channels, min_version, max_version, heads_only)
        bundles = cat.shard(*shard) if shard is not None else cat.bundles()
        self.scope_catalog_credentials(cat)
        return pull_bundles(
            bundles,
            output,
            client=self,
            jobs=jobs,
            per_registry=max_per_registry,
            pin_cpu=pin_cpu,
            on_done=on_done,
        )

    def render(
        self,
        refs: Refs,
        *,
        migrate_level: str = "none",
        image_ref_template: str | None = None,
        jobs: int = 16,
        raw: bool = False,
        pin_cpu: bool = True,
    ) -> list[dict[str, Any]]:
        """Render bundle images, catalog images, bundle directories and FBC directories as
        ``opm render`` does: the objects in opm's order, as plain dicts (``raw=True``: property values
        kept as opm's JSON text, for :func:`imgextract.rendering.encode`).  ``migrate_level``:
        ``none``, ``bundle-object-to-csv-metadata`` or ``all``; ``image_ref_template``: the ``image`` of a
        bundle directory (``{{.Package}}``, ``{{.Name}}``, ``{{.Version}}``); ``jobs``: references
        at a time, on one CPU unless ``pin_cpu=False`` (:mod:`imgextract.cpupin`).  A bundle image
        already rendered at the same digest comes from the cache."""
        from imgextract import rendering

        fn = rendering.render_raw if raw else rendering.render
        return fn(
            self,
            refs,
            migrate_level=migrate_level,
            image_ref_template=image_ref_template,
            jobs=jobs,
            pin_cpu=pin_cpu,
        )

    def _platform_of(self, platform: str | None) -> oci.Platform | None:
        return None if platform is None else oci.Platform.parse(platform)

    # --- lifetime -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Close every registry connection; the client cannot be used afterwards."""
        with self._lock:
            self._closed = True
            self._pool.close()

    def __repr__(self) -> str:
        # what a log line needs; never credentials (see Settings' repr)
        insecure = sorted(self.settings.transport.insecure_registries)
        return (
            f"<Client {'closed' if self._closed else 'open'} platform={self.settings.platform!r} "
            f"insecure_registries={insecure!r} registries={self._pool.registries()!r}>"
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _named_catalog_image(catalog: Catalog) -> list[Reference]:
    """The catalog image the user named (none for a catalog directory)."""
    from imgextract.reference import parse_reference

    source = catalog.source
    if source is None or os.path.isdir(source) or (catalog.root is not None and str(catalog.root) == source):
        return []
    try:
        return [parse_reference(source)]
    except InvalidReference:
        return []


# --- one-shot functions -----------------------------------------------------------------------------


def _split(options: Mapping[str, Any], method: Callable[..., Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Client options (settings) apart from ``method``'s options; any other name is refused first."""
    code = method.__code__
    takes = set(code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount])
    unknown = sorted(set(options) - OPTION_NAMES - takes)
    if unknown:
        raise unknown_option(unknown, OPTION_NAMES | takes)
    # a per-call option when the method takes it (platform), else the client's default
    client = {k: v for k, v in options.items() if k in OPTION_NAMES and k not in takes}
    call = {k: v for k, v in options.items() if k not in client}
    return client, call


def pull(ref: str, output: str | os.PathLike[str] | None, **options: Unpack[PullOptions]) -> PullResult:
    """One pull on a fresh :class:`Client`: client options and :meth:`Client.pull` options together."""
    client_options, call = _split(options, Client.pull)
    with Client(**client_options) as client:
        return client.pull(ref, output, **call)


def inspect(ref: str, **options: Unpack[InspectOptions]) -> InspectResult:
    """One :meth:`Client.inspect` on a fresh :class:`Client`."""
    client_options, call = _split(options, Client.inspect)
    with Client(**client_options) as client:
        return client.inspect(ref, **call)


def copy(ref: str, to_repo: str, **options: Unpack[CopyOptions]) -> CopyResult:
    """One :meth:`Client.copy` on a fresh :class:`Client`."""
    client_options, call = _split(options, Client.copy)
    with Client(**client_options) as client:
        return client.copy(ref, to_repo, **call)


def verify(ref: str, **options: Any) -> Verdict:
    """One :meth:`Client.verify` on a fresh :class:`Client` (``policy=`` and ``registries_d=`` among the options)."""
    client_options, call = _split(options, Client.verify)  # policy: the call's (Client.verify takes it)
    with Client(**client_options) as client:
        return client.verify(ref, **call)


def render(refs: Refs, **options: Unpack[RenderOptions]) -> list[dict[str, Any]]:
    """One :meth:`Client.render` on a fresh :class:`Client` (client options may be mixed in)."""
    client_options, call = _split(options, Client.render)
    with Client(**client_options) as client:
        return client.render(refs, **call)


def explain_mirrors(ref: str, **options: Unpack[ClientOptions]) -> MirrorsResult:
    """One :meth:`Client.explain_mirrors` on a fresh :class:`Client` (mirror options only matter)."""
    client_options, call = _split(options, Client.explain_mirrors)
    with Client(**client_options) as client:
        return client.explain_mirrors(ref, **call)


def pull_catalog(
    catalog: str | os.PathLike[str] | Catalog,
    output: str | os.PathLike[str],
    **options: Unpack[CatalogPullOptions],
) -> CatalogPullResult:
    """One :meth:`Client.pull_catalog` on a fresh :class:`Client` (client options may be mixed in);
    ``catalog`` may be a :class:`~imgextract.catalog.Catalog` opened (and filtered) before."""
    client_options, call = _split(options, Client.pull_catalog)
    with Client(**client_options) as client:
        return client.pull_catalog(catalog, output, **call)
