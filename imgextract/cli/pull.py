"""``bundle-extract pull REF -o OUT``: pull an image and extract what matters."""

from __future__ import annotations

from typing import Any

import click

from imgextract.cli.display import emit_json
from imgextract.cli.options import cache_options, check_ref, client_from, common_options, signature_options
from imgextract.cli.signals import InterruptibleProgress


@click.command()
@click.argument("ref")
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
@cache_options
@common_options
def pull(
    ref: str,
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
    """
    from imgextract.cli.progress import make_progress
    from imgextract.errors import UsageError

    json_output, quiet = kw["json_output"], kw["quiet"]
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
