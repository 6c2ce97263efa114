"""The operations end to end: inspect, pull (to a directory or ConfigMaps), copy, explain mirrors.

Each function takes a :class:`Session` (what :class:`imgextract.Client` holds: mirror rules,
credentials, one registry client per registry, the content cache) and returns a frozen result.
Nothing here prints; output files are written atomically (nothing is left at OUT on failure).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

from imgextract import oci
from imgextract.bundles import detect, registry_v1
from imgextract.bundles.registry_v1 import BundleInfo
from imgextract.errors import ImgExtractError, InvalidBundleError, NotFoundError, UsageError, option, remedy
from imgextract.layers.applier import Limits
from imgextract.mirrors import MirrorConfig
from imgextract.outputs.directory import StagingDir, atomic_write, check_output_dir, force_rmtree
from imgextract.progress import NoProgress, Progress
from imgextract.pull.extract import LayerReport, extract, extract_counted
from imgextract.pull.resolve import ResolvedImage
from imgextract.records import FrozenRecord
from imgextract.reference import Reference, parse_reference, registry_api_host
from imgextract.registry.client import RegistryClient
from imgextract.results import InspectResult, PullResult

if TYPE_CHECKING:  # (imported where they are made: a pull needs neither)
    from imgextract.results.copy import CopyResult
    from imgextract.results.mirrors import MirrorsResult

log = logging.getLogger(__name__)

OutputFormat = Literal["dir", "configmap"]
Compress = Literal["auto", "always", "never"]


class Session(Protocol):
    """What an operation needs from the client that runs it."""

    @property
    def mirrors(self) -> MirrorConfig: ...

    def prepare(self) -> None: ...

    def resolve(
        self,
        ref: Reference,
        platform: oci.Platform | None = None,
        *,
        prefer_compression: str = "auto",
        whole: bool = False,
        early_tocs: bool = False,
    ) -> ResolvedImage: ...

    def registry_client(self, registry: str, *, insecure: bool = False) -> RegistryClient: ...

    def scope_credentials(self, *refs: Reference) -> None: ...

    def sources_for(self, ref: Reference) -> list[tuple[Reference, RegistryClient | None]]: ...


class ConfigMapOptions(FrozenRecord):
    """How a ``format="configmap"`` pull shapes its ConfigMaps (see docs/configmap.md).
    ``source_image`` is recorded as olm.sourceImage instead of the pulled reference."""

    __slots__ = ("name", "namespace", "compress", "split", "olm_labels", "source_image")

    def __init__(
        self,
        name: str | None = None,
        namespace: str | None = None,
        compress: Compress = "auto",
        split: bool = False,
        olm_labels: bool = False,
        source_image: str | None = None,
    ) -> None:
        self.name: Final = name
        self.namespace: Final = namespace
        self.compress: Final = compress
        self.split: Final = split
        self.olm_labels: Final = olm_labels
        self.source_image: Final = source_image


class PullOptions(FrozenRecord):
    """What one pull extracts and where (the per-call options of :meth:`imgextract.Client.pull`).

    ``recursive``: imgpkg, also pull nested bundles; ``prefer_compression``: dual-compression
    indexes, "auto" | "gzip" | "zstd"; ``kind``: override detection (registry+v1, plain+v0, fbc,
    imgpkg, image); ``strict``: every label/annotations.yaml disagreement is fatal (channels
    included)."""

    __slots__ = (
        "paths",
        "all",
        "force",
        "format",
        "configmap",
        "recursive",
        "limits",
        "prefer_compression",
        "kind",
        "strict",
    )

    def __init__(
        self,
        paths: Sequence[str] = (),
        all: bool = False,
        force: bool = False,
        format: OutputFormat = "dir",
        configmap: ConfigMapOptions | None = None,
        recursive: bool = False,
        limits: Limits | None = None,
        prefer_compression: str = "auto",
        kind: str | None = None,
        strict: bool = False,
    ) -> None:
        if isinstance(paths, str):
            raise UsageError(f"{option('paths')} takes a list of paths, got a single string {paths!r}")
        configmap = configmap if configmap is not None else ConfigMapOptions()
        if format not in ("dir", "configmap"):
            raise UsageError(f"{option('format')} must be 'dir' or 'configmap', got {format!r}")
        if configmap.compress not in ("auto", "always", "never"):
            raise UsageError(f"compress must be 'auto', 'always' or 'never', got {configmap.compress!r}")
        _check_compression(prefer_compression)
        self.paths: Final = tuple(paths)
        detect.check_request(paths=self.paths, all_paths=all, kind=kind)  # before any request
        self.all: Final = all
        self.force: Final = force
        self.format: Final = format
        self.configmap: Final = configmap
        self.recursive: Final = recursive
        self.limits: Final = limits if limits is not None else Limits()
        self.prefer_compression: Final = prefer_compression
        self.kind: Final = kind
        self.strict: Final = strict


def _check_compression(value: str) -> None:
    if value not in ("auto", "gzip", "zstd"):
        raise UsageError(f"{option('prefer_compression')} must be 'auto', 'gzip' or 'zstd', got {value!r}")


def _image_result(
    given: str,
    image: ResolvedImage,
    plan: detect.Plan,
    bundle: BundleInfo | None,
    layers: Sequence[LayerReport],
) -> InspectResult:
    return InspectResult(
        reference=given,
        resolved=image.reference,
        digest=image.digest,
        source=image.endpoint,
        media_type=image.media_type,
        platform=image.platform,
        kind=plan.kind,
        bundle=bundle,
        layers=tuple(layers),
        labels=dict(image.config.labels),
        annotations=dict(image.manifest.annotations),
        platforms=tuple(image.platforms),
        compression=image.variant.to_json() if image.variant is not None else None,
    )


def _pull_result(
    given: str,
    image: ResolvedImage,
    plan: detect.Plan,
    bundle: BundleInfo | None,
    layers: Sequence[LayerReport],
) -> PullResult:
    base = _image_result(given, image, plan, bundle, layers)
    return PullResult(**{f: getattr(base, f) for f in InspectResult.__dataclass_fields__})


def inspect(
    session: Session,
    reference: str,
    *,
    platform: oci.Platform | None = None,
    prefer_compression: str = "auto",
) -> InspectResult:
    """Resolve ``reference`` and describe it, without downloading any layer."""
    _check_compression(prefer_compression)
    session.prepare()
    ref = parse_reference(reference)
    session.scope_credentials(ref)
    image = session.resolve(ref, platform, prefer_compression=prefer_compression)
    try:
        plan = detect.plan(image.config.labels, all_paths=True)
    except UsageError:
        plan = detect.Plan("image", None)
    layers = [LayerReport(d.digest, d.size, d.media_type, False) for d in image.manifest.layers]
    bundle = None
    if plan.kind in ("registry+v1", "plain+v0"):
        from imgextract.bundles import labels as L

        lab = image.config.labels
        bundle = BundleInfo(
            lab.get(L.PACKAGE),
            registry_v1._channels(lab.get(L.CHANNELS)),
            lab.get(L.DEFAULT_CHANNEL),
            plan.manifests_dir,
            plan.metadata_dir,
            {},
        )
    return _image_result(reference, image, plan, bundle, layers)


def _validate(root: Path, plan: detect.Plan, *, strict: bool = False) -> BundleInfo | None:
    if plan.paths is not None:
        missing = [p for p in plan.paths if not os.path.lexists(root / p)]
        if missing and plan.kind not in ("registry+v1", "plain+v0"):
            raise NotFoundError(f"path {'/' + missing[0]!r} not in image")
    if plan.kind == "registry+v1":
        return registry_v1.check(root, plan, strict=strict)
    if plan.kind == "plain+v0":
        return registry_v1.check_plain(root, plan)
    return None


def _count(root: Path) -> tuple[int, int]:
    """Files (not symlinks or directories) below ``root`` and their total size: one ``lstat`` per
    file, the type comes from the directory listing."""
    files = total = 0
    pending = [os.fspath(root)]
    while pending:
        with os.scandir(pending.pop()) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif not entry.is_symlink():
                    files += 1
                    total += entry.stat(follow_symlinks=False).st_size
    return files, total


def pull(
    session: Session,
    reference: str,
    output: str | os.PathLike[str] | None,
    options: PullOptions,
    *,
    platform: oci.Platform | None = None,
    progress: Progress | None = None,
    scope_credentials: bool = True,
    check_early: bool = True,
) -> PullResult:
    """Pull ``reference`` into ``output`` (a new directory, or a ConfigMap YAML file).

    With ``format="configmap"``, ``output`` None (or ``"-"``) writes nothing: the ConfigMap objects
    come back in :attr:`PullResult.configmaps`.  ``scope_credentials=False``: the caller already
    scoped ``creds`` (a catalog's bundle is named by the catalog's content, not by the user).
    ``check_early=False``: the caller already knows the output can be written (a catalog's bundle
    directory), so it is checked only once, when its staging directory is made (before any write).
    """
    progress = progress or NoProgress()
    ref = parse_reference(reference)
    target = None if output is None else os.fspath(output)
    if options.format == "dir":  # fail before any network
        if not target:
            raise UsageError(f"{option('output')} must name a directory")
        if check_early:
            check_output_dir(Path(target), force=options.force, sweep_beside=False)  # StagingDir sweeps
    else:
        _check_configmap_target(target, force=options.force)
    session.prepare()
    if scope_credentials:
        session.scope_credentials(ref)
    image = session.resolve(
        ref, platform, prefer_compression=options.prefer_compression, whole=options.all, early_tocs=True
    )
    try:
        plan = detect.plan(image.config.labels, paths=options.paths, all_paths=options.all, kind=options.kind)
        image.select_early(plan.paths)  # zstd:chunked layers plan their chunks while the output is prepared
        if options.format == "dir":
            assert target is not None
            return _pull_to_dir(session, reference, Path(target), options, image, plan, progress)
        return _pull_to_configmap(reference, target, options, image, plan, progress)
    except ImgExtractError as exc:
        exc.reference = exc.reference or reference
        exc.endpoint = exc.endpoint or image.endpoint
        raise
    finally:
        image.close_early()  # (taken by the extraction unless it failed before)


def _localize_imgpkg(
    session: Session, options: PullOptions, image: ResolvedImage, root: Path, progress: Progress
) -> dict[str, Any]:
    """imgpkg bundles: rewrite .imgpkg/images.yml to where the images are now (and pull nested bundles)."""
    from imgextract import imgpkg

    def extract_into(img: ResolvedImage, dest: Path) -> None:
        extract(img, detect.plan(img.config.labels, all_paths=True), dest, options.limits, progress)

    def resolve(ref: Reference) -> ResolvedImage:
        return session.resolve(ref)

    report = imgpkg.localize_pull(
        root, image, recursive=options.recursive, resolve=resolve, extract_into=extract_into
    )
    if not report.relocation.rewritten:
        log.warning("%s", report.relocation.message())
    return report.to_json()


def _pull_to_dir(
    session: Session,
    reference: str,
    out: Path,
    options: PullOptions,
    image: ResolvedImage,
    plan: detect.Plan,
    progress: Progress,
) -> PullResult:
    staging = StagingDir(out, force=options.force)
    imgpkg_report = None
    with staging as root:
        layers, counted = extract_counted(image, plan, root, options.limits, progress)
        if plan.kind == "imgpkg":
            imgpkg_report = _localize_imgpkg(session, options, image, root, progress)
            counted = None  # it rewrites files and may add nested bundles
        bundle = _validate(root, plan, strict=options.strict)
        files, nbytes = counted if counted is not None else _count(root)
        staging.commit()
    return _replace(
        _pull_result(reference, image, plan, bundle, layers),
        files=files,
        bytes=nbytes,
        output=str(out),
        imgpkg=imgpkg_report,
    )


def _replace(result: PullResult, **changes: Any) -> PullResult:
    import dataclasses

    return dataclasses.replace(result, **changes)


def _check_configmap_target(output: str | None, *, force: bool) -> None:
    if output is None or output == "-":
        return
    target = Path(output)
    if target.is_dir():
        raise UsageError(
            f"output {target} is a directory: {option('format', 'configmap')} writes a file"
            f"{remedy('configmap_target')}"
        )
    if target.exists() and not force:
        raise UsageError(f"output {target} exists (use {option('force')} to replace it)")
    if not Path(os.path.abspath(target)).parent.is_dir():
        raise UsageError(f"parent directory of {target} does not exist; create it first")


def _pull_to_configmap(
    reference: str,
    output: str | None,
    options: PullOptions,
    image: ResolvedImage,
    plan: detect.Plan,
    progress: Progress,
) -> PullResult:
    from imgextract.outputs import configmap

    if plan.kind != "registry+v1":
        raise UsageError(
            f"{option('format', 'configmap')} needs a registry+v1 bundle, this image is {plan.kind}"
        )
    target = None if output is None or output == "-" else Path(output)
    if target is not None and target.exists() and not options.force:
        raise UsageError(f"output {target} exists (use {option('force')} to replace it)")
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="bundle-extract-"))
    try:
        layers = extract(image, plan, scratch, options.limits, progress)
        bundle = _validate(scratch, plan, strict=options.strict)
        assert bundle is not None and plan.manifests_dir and plan.metadata_dir
        files = _bundle_files(scratch, [plan.manifests_dir, plan.metadata_dir])
    finally:
        force_rmtree(scratch)
    opts = options.configmap
    source_image = opts.source_image or reference
    name = opts.name or configmap.default_name(source_image)
    cms = configmap.build_configmaps(
        files,
        name=name,
        namespace=opts.namespace,
        annotations=bundle.annotations,
        source_image=source_image,
        resolved_digest=image.digest,
        compress=opts.compress,
        split=opts.split,
        olm_labels=opts.olm_labels,
    )
    if target is not None:
        atomic_write(target, configmap.dump_yaml(cms).encode())
    return _replace(
        _pull_result(reference, image, plan, bundle, layers),
        files=len(files),
        bytes=sum(len(v) for v in files.values()),
        output=output,
        configmaps=tuple(cms),
    )


def _bundle_files(root: Path, dirs: list[str]) -> dict[str, bytes]:
    """Regular files directly in the manifests and metadata dirs (as OLM reads them), by relative path.

    A directory inside them is refused (InvalidBundleError) as opm's ConfigMap writer refuses it:
    leaving its files out silently could drop the CSV (see docs/configmap.md).
    """
    from imgextract.layers.fsroot import RootFS

    files: dict[str, bytes] = {}
    with RootFS(root) as fs:
        for d in dirs:
            base = root / d
            if not base.is_dir():
                continue
            for p in sorted(base.iterdir()):
                rel = f"{d.rstrip('/')}/{p.name}"
                target = p
                if p.is_symlink():  # opm reads through it: resolve it inside the image, as in the container
                    canon = fs.canonical([*d.rstrip("/").split("/"), p.name])
                    target = root / canon
                    if target.is_symlink() or not (target.is_dir() or target.is_file()):
                        raise InvalidBundleError(
                            f"{rel} is a symlink to {canon}, which is not a file of the extracted bundle "
                            f"(opm fails on it too); pull with {option('format', 'dir')} to see it"
                        )
                if target.is_dir():
                    raise InvalidBundleError(
                        f"{rel}/ is a directory: a bundle ConfigMap holds only the files "
                        f"directly in {d.rstrip('/')}/ (opm refuses subdirectories too); move its files up, "
                        f"or pull with {option('format', 'dir')}"
                    )
                if target.is_file():
                    files[rel] = target.read_bytes()
    return files


def explain_mirrors(
    session: Session, reference: str, *, insecure_host: Callable[..., bool] | None = None
) -> MirrorsResult:
    """The ordered endpoints a pull of ``reference`` would try, and why (no network).

    ``insecure_host`` (the transport's ``is_insecure``) marks an endpoint insecure as the pull's
    transport does: its own registries.conf entry says so, or ``insecure_registries`` names its
    registry (or the host serving that registry's API)."""
    config = session.mirrors
    ref = parse_reference(reference)
    sources = config.pull_sources(ref)
    if insecure_host is not None:
        import dataclasses

        sources = [
            s
            if s.insecure or not insecure_host(s.reference.registry, registry_api_host(s.reference.registry))
            else dataclasses.replace(s, insecure=True)
            for s in sources
        ]
    from imgextract.results.mirrors import MirrorsResult

    return MirrorsResult(reference=str(ref.pull_ref()), sources=tuple(sources))


def copy(
    session: Session,
    reference: str,
    to_repo: str,
    *,
    concurrency: int = 5,
    lock_output: str | os.PathLike[str] | None = None,
) -> CopyResult:
    """Relocate an imgpkg bundle and all its images into ``to_repo``; write the locations images."""
    from imgextract import imgpkg

    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise UsageError(f"{option('concurrency')} must be a positive integer, got {concurrency!r}")
    lock_path = None if lock_output is None else Path(lock_output)
    if lock_path is not None and (lock_path.is_dir() or not Path(os.path.abspath(lock_path)).parent.is_dir()):
        raise UsageError(
            f"{option('lock_output')} {lock_path}: is a directory, or its directory does not exist"
        )
    session.prepare()
    destination = imgpkg.parse_destination(to_repo)
    session.scope_credentials(parse_reference(reference), destination)
    report = imgpkg.copy_bundle(
        reference,
        destination,
        client_for=lambda registry: session.registry_client(registry),
        concurrency=concurrency,
        lock_output=lock_path,
        sources_for=session.sources_for,
    )
    from imgextract.results.copy import CopyResult

    return CopyResult.from_report(report)


__all__ = [
    "ConfigMapOptions",
    "PullOptions",
    "Session",
    "copy",
    "explain_mirrors",
    "inspect",
    "pull",
]
