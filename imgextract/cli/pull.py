"""``bundle-extract pull REF -o OUT``: pull an image and extract what matters."""

from __future__ import annotations

from typing import Any

import click

from imgextract.cli.display import emit_json
from imgextract.cli.filters import FILTER_KEYS, filter_options, pop_filter
from imgextract.cli.options import (
    cache_options,
    check_ref,
    client_from,
    common_options,
    json_help,
    pin_cpu_option,
    prefer_compression_option,
    signature_options,
)
from imgextract.cli.signals import InterruptibleProgress


@click.command()
@click.argument("ref", required=False)
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="OUT",
    help="directory to create (must not exist or be empty; --force replaces it); with --format "
    "configmap a file, or '-' for stdout.",
)
@click.option(
    "--path", "paths", multiple=True, metavar="PATH", help="extract only this path of the image (repeatable)."
)
@click.option("--all", "all_paths", is_flag=True, help="extract the whole root filesystem.")
@click.option("--force", is_flag=True, help="replace OUT if it exists and is not empty.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["dir", "configmap"]),
    default="dir",
    show_default=True,
    help="files under OUT, or a ConfigMap as OLM stores an unpacked registry+v1 bundle.",
)
@click.option(
    "--configmap-name", default=None, help="ConfigMap name (default: OLM's sha256 of the pull spec)."
)
@click.option("--namespace", default=None, help="ConfigMap namespace.")
@click.option(
    "--compress",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="ConfigMap: gzip+base64 binaryData (auto: when not all UTF-8 or too large).",
)
@click.option("--split", is_flag=True, help="write several ConfigMaps when one would exceed 1 MiB.")
@click.option("--olm-labels", is_flag=True, help="label the ConfigMap olm.managed=true.")
@click.option(
    "--source-image",
    default=None,
    help="the reference to record as olm.sourceImage (and name the ConfigMap after), e.g. when "
    "pulling a staged copy.",
)
@click.option("-r", "--recursive", is_flag=True, help="imgpkg bundles: also pull nested bundles.")
@signature_options
@click.option(
    "--from-catalog",
    "catalog_ref",
    default=None,
    metavar="CATALOG",
    help="pull every selected bundle of this catalog (image or FBC directory) into OUT/<package>/<bundle>/.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="--from-catalog: bundles at a time.",
)
@click.option(
    "--max-per-registry",
    type=click.IntRange(min=1),
    default=None,
    help="--from-catalog: bundles at a time from one registry (default: --jobs).",
)
@pin_cpu_option("--from-catalog: keep the bundle workers")
@click.option(
    "--shard",
    default=None,
    metavar="I/N",
    help="--from-catalog: only shard I of N (a deterministic, disjoint part of the selection).",
)
@filter_options
@prefer_compression_option
@click.option(
    "--kind",
    type=click.Choice(["registry+v1", "plain+v0", "fbc", "imgpkg", "image"]),
    default=None,
    help="treat the image as this kind instead of detecting it from its labels (e.g. a bundle built "
    "without labels, which OLM unpacks all the same).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="fail on any disagreement between bundle labels and annotations.yaml (channels included; "
    "by default only what changes OLM's reading of the bundle fails).",
)
@json_help("print one JSON object on stdout (--from-catalog: one compact line per bundle).")
@cache_options
@common_options
def pull(
    ref: str | None,
    output: str,
    paths: tuple[str, ...],
    all_paths: bool,
    force: bool,
    fmt: str,
    configmap_name: str | None,
    namespace: str | None,
    compress: str,
    split: bool,
    olm_labels: bool,
    source_image: str | None,
    recursive: bool,
    catalog_ref: str | None,
    jobs: int,
    max_per_registry: int | None,
    pin_cpu: bool,
    shard: str | None,
    prefer_compression: str,
    kind: str | None,
    strict: bool,
    **kw: Any,
) -> None:
    """Pull REF and extract it into OUT.

    REF is [registry[:port]/]repo[:tag][@digest], normalised as docker does (busybox means
    docker.io/library/busybox:latest). What is extracted depends on the image: a registry+v1 bundle
    gives its manifests and metadata directories, a plain+v0 bundle manifests/, a file-based catalog
    the directory its configs label names, an imgpkg bundle its whole content; any other image needs
    --path or --all.
    With --policy, an image the policy does not accept is refused (exit 8) before any layer is fetched.
    On failure nothing is left at OUT.

    With --from-catalog CATALOG (and no REF): every bundle the catalog filters select (--package P:
    the heads of P's channels, --all-bundles: all of P's bundles) is pulled into
    OUT/<package>/<bundle name>/, --jobs at a time over one connection pool per registry; finished
    bundles are skipped on a rerun; with --json one line per bundle. The exit code is the first
    failing bundle's, 0 when all succeeded.
    """
    from imgextract.cli.progress import make_progress
    from imgextract.errors import UsageError

    json_output, quiet = kw["json_output"], kw["quiet"]
    # a plain pull must not pay for the catalog package's import (semver, pathspec, the FBC reader)
    selection = pop_filter(kw) if catalog_ref is not None else None
    popped = [kw.pop(k) for k in FILTER_KEYS] if selection is None else []
    filtering = any(popped)
    if output == "-" and (fmt == "dir" or catalog_ref is not None):
        raise UsageError(
            "-o - writes to stdout, which only --format configmap does; for a directory named '-' use -o ./-"
        )
    if catalog_ref is not None:
        from imgextract.cli.catalog import pull_from_catalog

        if ref is not None:
            raise UsageError("give either REF or --from-catalog CATALOG, not both")
        single_only = {
            "--path": paths,
            "--all": all_paths,
            "--force": force,
            "--format configmap": fmt != "dir",
            "--recursive": recursive,
            "--source-image": source_image,
            "--configmap-name": configmap_name,
        }
        used = [flag for flag, value in single_only.items() if value]
        if used:
            raise UsageError(f"{', '.join(used)} do not apply to --from-catalog")
        with client_from(kw) as client:
            pull_from_catalog(
                catalog_ref,
                output,
                jobs=jobs,
                shard=shard,
                per_registry=max_per_registry,
                pin_cpu=pin_cpu,
                client=client,
                json_output=json_output,
                quiet=quiet,
                selection=selection,
            )
        return
    if ref is None:
        raise UsageError("missing REF (or --from-catalog CATALOG)")
    if shard is not None or filtering:
        raise UsageError("--shard and catalog filters need --from-catalog")
    check_ref(ref)
    if not output:
        raise UsageError("-o/--output must not be empty")
    if json_output and output == "-":
        raise UsageError(
            "--json and -o - both write to stdout: write the ConfigMap to a file (-o FILE) or drop --json"
        )
    with client_from(kw) as client:
        progress = InterruptibleProgress(make_progress(quiet=quiet, json_output=json_output or output == "-"))
        try:
            result = client.pull(
                ref,
                output,
                paths=paths,
                all=all_paths,
                force=force,
                format=fmt,  # type: ignore[arg-type]
                configmap_name=configmap_name,
                namespace=namespace,
                compress=compress,  # type: ignore[arg-type]
                split=split,
                olm_labels=olm_labels,
                source_image=source_image,
                recursive=recursive,
                prefer_compression=prefer_compression,
                kind=kind,
                strict=strict,
                progress=progress,
            )
        finally:
            progress.close()
    if result.configmaps and output == "-":
        from imgextract.outputs.configmap import dump_yaml

        click.echo(dump_yaml(list(result.configmaps)), nl=False)
    if json_output:
        emit_json(result.to_json())
    elif not quiet:
        click.echo(
            f"{result.kind} {result.resolved.name}@{result.digest} from {result.source}: "
            f"{result.files} files, {result.bytes} bytes -> {result.output}",
            err=output == "-",
        )
