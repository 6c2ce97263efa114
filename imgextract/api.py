"""The library's front door: ``pull``, ``inspect`` and ``explain_mirrors`` with typed settings in.

Data flows one way: reference -> sources (mirrors) -> client -> manifest -> plan -> applier -> output.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgextract import oci
from imgextract.auth import CredentialStore
from imgextract.bundles import detect, registry_v1
from imgextract.bundles.registry_v1 import BundleInfo
from imgextract.errors import ImgExtractError, NotFoundError, UsageError
from imgextract.mirrors import MirrorSettings, load_mirror_config, mirrors_json
from imgextract.outputs.directory import StagingDir, atomic_write, check_output_dir, force_rmtree
from imgextract.progress import NoProgress, Progress
from imgextract.pull.extract import LayerReport, content_cache, extract
from imgextract.pull.resolve import ClientPool, ResolvedImage, resolve
from imgextract.reference import Reference, parse_reference
from imgextract.registry.client import RegistryClient
from imgextract.registry.transport import TransportSettings
from imgextract.settings import CommonSettings, CopySettings, PullSettings

log = logging.getLogger(__name__)


@dataclass
class Result:
    """What ``pull`` and ``inspect`` report (the ``--json`` object of shared/spec/cli.md)."""

    reference: str
    resolved: Reference
    digest: str
    source: str
    media_type: str
    platform: str | None
    kind: str
    bundle: BundleInfo | None
    layers: list[LayerReport]
    labels: dict[str, str] = field(default_factory=dict)
    platforms: list[str] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    output: str | None = None
    imgpkg: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "reference": self.reference,
            "resolved": {
                "registry": self.resolved.registry,
                "repository": self.resolved.repository,
                "tag": self.resolved.tag,
                "digest": self.digest,
            },
            "source": self.source,
            "mediaType": self.media_type,
            "platform": self.platform,
            "kind": self.kind,
            "bundle": self.bundle.to_json() if self.bundle else None,
            "layers": [layer.to_json() for layer in self.layers],
            "files": self.files,
            "bytes": self.bytes,
            "output": self.output,
        }
        if self.imgpkg is not None:
            out["imgpkg"] = self.imgpkg
        return out


def mirror_settings(common: CommonSettings) -> MirrorSettings:
    mo = common.mirrors
    return MirrorSettings(
        icsp_files=list(mo.icsp_files),
        idms_files=list(mo.idms_files),
        itms_files=list(mo.itms_files),
        registries_conf=mo.registries_conf,
        registries_conf_dir=mo.registries_conf_dir,
        env=common.env,
    )


class Session:
    """Everything resolved once from CommonSettings: mirror rules, credentials, one client per registry."""

    def __init__(self, common: CommonSettings) -> None:
        self.common = common
        self.mirrors = load_mirror_config(mirror_settings(common))
        a = common.auth
        self.credentials = CredentialStore.from_settings(
            creds=a.creds, authfile=a.authfile, pull_secret=a.pull_secret, env=common.env
        )
        t = common.transport
        self.transport = TransportSettings(
            insecure_registries=t.insecure_registries,
            ca_file=t.ca_file,
            cert_dir=t.cert_dir,
            timeout=t.timeout,
            retries=t.retries,
            deadline=t.deadline,
            retry_time=t.retry_time,
        )
        self.pool = ClientPool(self._make_client)
        self.platform = oci.Platform.parse(common.platform)
        self.cache = content_cache(common)

    def _make_client(self, registry: str, insecure: bool) -> RegistryClient:
        return RegistryClient(
            registry,
            self.transport,
            self.credentials,
            insecure=insecure or registry in self.transport.insecure_registries,
        )

    def scope_credentials(self, *refs: Reference) -> None:
        """``--creds`` goes to these references' registries and their configured mirrors only."""
        registries = set()
        for ref in refs:
            registries.add(ref.registry)
            registries.update(s.reference.registry for s in self.mirrors.pull_sources(ref.pull_ref()))
        self.credentials.scope_flag_credentials(registries)

    def sources_for(self, ref: Reference) -> list[tuple[Reference, RegistryClient | None]]:
        """Where to read ``ref`` from, as pull does: allowed mirrors in order, then the primary
        (None for an endpoint the configuration blocks)."""
        return [
            (s.reference, None if s.blocked else self.pool.get(s.reference.registry, insecure=s.insecure))
            for s in self.mirrors.pull_sources(ref.pull_ref())
        ]

    def resolve(self, ref: Reference) -> ResolvedImage:
        logical = ref.pull_ref()
        return resolve(logical, self.mirrors.pull_sources(logical), self.pool, self.platform, self.cache)


def _result(
    given: str, image: ResolvedImage, plan: detect.Plan, bundle: BundleInfo | None, layers: list[LayerReport]
) -> Result:
    return Result(
        reference=given,
        resolved=image.reference,
        digest=image.digest,
        source=image.endpoint,
        media_type=image.media_type,
        platform=image.platform,
        kind=plan.kind,
        bundle=bundle,
        layers=layers,
        labels=dict(image.config.labels),
        platforms=image.platforms,
    )


def inspect(reference: str, common: CommonSettings) -> Result:
    session = Session(common)
    ref = parse_reference(reference)
    session.scope_credentials(ref)
    image = session.resolve(ref)
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
    return _result(reference, image, plan, bundle, layers)


def _validate(root: Path, plan: detect.Plan, *, strict: bool = False) -> BundleInfo | None:
    if plan.paths is not None:
        missing = [p for p in plan.paths if not os.path.lexists(root / p)]
        if missing and plan.kind not in ("registry+v1", "plain+v0"):
            raise NotFoundError(f"path {missing[0]!r} not in image")
    if plan.kind == "registry+v1":
        return registry_v1.check(root, plan, strict=strict)
    if plan.kind == "plain+v0":
        return registry_v1.check_plain(root, plan)
    return None


def _count(root: Path) -> tuple[int, int]:
    files = total = 0
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            if not os.path.islink(p):
                files += 1
                total += os.lstat(p).st_size
    return files, total


def pull(settings: PullSettings, *, progress: Progress | None = None) -> Result:
    progress = progress or NoProgress()
    ref = parse_reference(settings.reference)
    if settings.format == "dir":  # fail before any network
        check_output_dir(Path(settings.output), force=settings.force)
    else:
        _check_configmap_target(settings.output, force=settings.force)
    session = Session(settings.common)
    session.scope_credentials(ref)
    image = session.resolve(ref)
    try:
        plan = detect.plan(
            image.config.labels, paths=settings.paths, all_paths=settings.all, kind=settings.kind
        )
        if settings.format == "dir":
            return _pull_to_dir(settings, session, image, plan, progress)
        return _pull_to_configmap(settings, image, plan, progress)
    except ImgExtractError as exc:
        exc.reference = exc.reference or settings.reference
        exc.endpoint = exc.endpoint or image.endpoint
        raise


def _localize_imgpkg(
    settings: PullSettings, session: Session, image: ResolvedImage, root: Path, progress: Progress
) -> dict[str, Any]:
    """imgpkg bundles: rewrite .imgpkg/images.yml to where the images are now (and pull nested bundles)."""
    from imgextract import imgpkg

    def extract_into(img: ResolvedImage, dest: Path) -> None:
        extract(img, detect.plan(img.config.labels, all_paths=True), dest, settings, progress)

    report = imgpkg.localize_pull(
        root, image, recursive=settings.recursive, resolve=session.resolve, extract_into=extract_into
    )
    if not report.relocation.rewritten:
        log.warning("%s", report.relocation.message())
    return report.to_json()


def _pull_to_dir(
    settings: PullSettings, session: Session, image: ResolvedImage, plan: detect.Plan, progress: Progress
) -> Result:
    out = Path(settings.output)
    staging = StagingDir(out, force=settings.force)
    imgpkg_report = None
    with staging as root:
        layers = extract(image, plan, root, settings, progress)
        if plan.kind == "imgpkg":
            imgpkg_report = _localize_imgpkg(settings, session, image, root, progress)
        bundle = _validate(root, plan, strict=settings.strict)
        files, nbytes = _count(root)
        staging.commit()
    result = _result(settings.reference, image, plan, bundle, layers)
    result.files, result.bytes, result.output = files, nbytes, str(out)
    result.imgpkg = imgpkg_report
    return result


def _check_configmap_target(output: str, *, force: bool) -> None:
    if output == "-":
        return
    target = Path(output)
    if target.is_dir():
        raise UsageError(
            f"output {target} is a directory: --format configmap writes a file (-o FILE, or -o - for stdout)"
        )
    if target.exists() and not force:
        raise UsageError(f"output {target} exists (use --force to replace it)")
    if not Path(os.path.abspath(target)).parent.is_dir():
        raise UsageError(f"parent directory of {target} does not exist; create it first")


def _pull_to_configmap(
    settings: PullSettings, image: ResolvedImage, plan: detect.Plan, progress: Progress
) -> Result:
    from imgextract.outputs import configmap

    if plan.kind != "registry+v1":
        raise UsageError(f"--format configmap needs a registry+v1 bundle, this image is {plan.kind}")
    target = None if settings.output == "-" else Path(settings.output)
    if target is not None and target.exists() and not settings.force:
        raise UsageError(f"output {target} exists (use --force to replace it)")
    scratch = Path(tempfile.mkdtemp(prefix="bundle-extract-"))
    try:
        layers = extract(image, plan, scratch, settings, progress)
        bundle = _validate(scratch, plan, strict=settings.strict)
        assert bundle is not None and plan.manifests_dir and plan.metadata_dir
        files = _bundle_files(scratch, [plan.manifests_dir, plan.metadata_dir])
    finally:
        force_rmtree(scratch)
    opts = settings.configmap
    source_image = opts.source_image or settings.reference
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
    text = configmap.dump_yaml(cms)
    if target is None:
        import sys

        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        atomic_write(target, text.encode())
    result = _result(settings.reference, image, plan, bundle, layers)
    result.files = len(files)
    result.bytes = sum(len(v) for v in files.values())
    result.output = settings.output
    return result


def _bundle_files(root: Path, dirs: list[str]) -> dict[str, bytes]:
    """Regular files directly in the manifests and metadata dirs (as OLM reads them), by relative path.

    A directory inside them is refused (exit 6) as opm's ConfigMap writer refuses it: the keys of an
    unpacked-bundle ConfigMap are bare file names, so OLM could not read a file below a subdirectory,
    and leaving it out silently could drop the CSV.
    """
    from imgextract.errors import InvalidBundleError

    files: dict[str, bytes] = {}
    for d in dirs:
        base = root / d
        if not base.is_dir():
            continue
        for p in sorted(base.iterdir()):
            if p.is_dir() and not p.is_symlink():
                raise InvalidBundleError(
                    f"{d.rstrip('/')}/{p.name}/ is a directory: a bundle ConfigMap holds only the files "
                    f"directly in {d.rstrip('/')}/ (opm refuses subdirectories too); move its files up, "
                    "or pull with --format dir"
                )
            if p.is_file() and not p.is_symlink():
                files[f"{d.rstrip('/')}/{p.name}"] = p.read_bytes()
    return files


def explain_mirrors(reference: str, common: CommonSettings) -> dict[str, Any]:
    return mirrors_json(load_mirror_config(mirror_settings(common)), parse_reference(reference))


def copy(settings: CopySettings) -> Any:
    """Relocate an imgpkg bundle and all its images into ``settings.to_repo``; write the locations images."""
    from imgextract import imgpkg

    session = Session(settings.common)
    destination = imgpkg.parse_destination(settings.to_repo)
    session.scope_credentials(parse_reference(settings.reference), destination)
    return imgpkg.copy_bundle(
        settings.reference,
        destination,
        client_for=lambda registry: session.pool.get(registry, insecure=False),
        concurrency=settings.concurrency,
        lock_output=settings.lock_output,
        sources_for=session.sources_for,
    )
