"""``bundle-extract job REF``: print a Kubernetes Job that pulls REF into a ConfigMap in a cluster;
``job --from-catalog CATALOG --shards N``: an Indexed Job whose pod I pulls shard I of the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from imgextract.cli.filters import filter_options
from imgextract.cli.options import signature_options


@click.command()
@click.argument("ref", required=False)
@click.option("--namespace", required=True, help="namespace of the Job (and the ConfigMap it prints).")
@click.option(
    "--image", required=True, help="the bundle-extract image to run (build it from the Containerfile)."
)
@click.option("--service-account", default=None, help="ServiceAccount the pod runs as.")
@click.option("--pull-secret-name", default=None, help="Secret (dockerconfigjson) mounted as the auth file.")
@click.option(
    "--pull-secret-type",
    type=click.Choice(["dockerconfigjson", "dockercfg"]),
    default="dockerconfigjson",
    show_default=True,
)
@click.option("--configmap-name", default=None, help="ConfigMap name (default: OLM's name for REF).")
@click.option(
    "--via-imagestream",
    is_flag=True,
    help="OpenShift: stage REF (by digest) in the integrated registry through an ImageStream first.",
)
@click.option(
    "--imagestream-name",
    default=None,
    help="with --via-imagestream: the ImageStream name (default: bundle-<hash of REF>).",
)
@click.option(
    "--import-mode", type=click.Choice(["Legacy", "PreserveOriginal"]), default="Legacy", show_default=True
)
@click.option(
    "--registry-host", default=None, help="integrated registry host (default: the in-cluster service)."
)
@click.option(
    "--active-deadline-seconds",
    type=int,
    default=None,
    help="the Job fails when it runs longer (default: 600; 21600 with --from-catalog).",
)
@click.option(
    "--ttl-seconds-after-finished",
    type=int,
    default=None,
    help="the finished Job is deleted after this long (default: 3600; 86400 with --from-catalog).",
)
@click.option(
    "--pull-arg", "pull_args", multiple=True, help="extra argument for the pull command (repeatable)."
)
@click.option(
    "--from-catalog",
    "catalog_ref",
    default=None,
    metavar="CATALOG",
    help="print an Indexed Job that pulls every selected bundle of this catalog image, one shard per pod.",
)
@click.option(
    "--shards", type=click.IntRange(min=1), default=None, help="with --from-catalog: number of shards (pods)."
)
@click.option(
    "--parallelism",
    type=click.IntRange(min=1),
    default=None,
    help="with --from-catalog: pods at a time (default: --shards).",
)
@click.option(
    "--output-claim",
    default="bundle-extract-bundles",
    show_default=True,
    help="with --from-catalog: PersistentVolumeClaim the pods write the bundles to (ReadWriteMany across nodes).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="with --from-catalog: bundles at a time per pod.",
)
@signature_options
@click.option(
    "--policy-configmap",
    default=None,
    metavar="NAME",
    help="ConfigMap holding policy.json (and the keys it names), mounted at "
    "/etc/bundle-extract/policy; the pull verifies with it (default --policy there).",
)
@click.option(
    "--registries-d-configmap",
    default=None,
    metavar="NAME",
    help="ConfigMap holding registries.d files, mounted at /etc/bundle-extract/registries.d "
    "(default --registries-d there).",
)
@filter_options
def job(
    ref: str | None,
    namespace: str,
    image: str,
    service_account: str | None,
    pull_secret_name: str | None,
    pull_secret_type: str,
    configmap_name: str | None,
    via_imagestream: bool,
    imagestream_name: str | None,
    import_mode: str,
    registry_host: str | None,
    active_deadline_seconds: int | None,
    ttl_seconds_after_finished: int | None,
    pull_args: tuple[str, ...],
    catalog_ref: str | None,
    shards: int | None,
    parallelism: int | None,
    output_claim: str,
    jobs: int,
    policy: str | None,
    registries_d: Path | None,
    policy_configmap: str | None,
    registries_d_configmap: str | None,
    **filters: Any,
) -> None:
    """Print a Kubernetes Job (restricted Pod Security) that runs `pull REF --format configmap` in a cluster.

    With --from-catalog CATALOG --shards N: an Indexed Job (completionMode: Indexed) whose pod I runs
    `pull --from-catalog CATALOG --shard I/N` into the --output-claim volume (see docs/in-cluster.md).

    --policy and --registries-d go to the pod's pull as given: paths inside the pod (or 'default').
    The files themselves come from ConfigMaps with --policy-configmap/--registries-d-configmap.
    """
    from imgextract.cli.options import check_image, check_ref, check_registry_host
    from imgextract.errors import UsageError
    from imgextract.outputs.configmap import dump_yaml
    from imgextract.outputs.kube.job import render_job

    for typed in (ref, catalog_ref):
        if typed is not None:
            check_ref(typed)
    check_image(image)
    if registry_host is not None:
        check_registry_host(registry_host)
    registries_dir = None if registries_d is None else str(registries_d)
    if catalog_ref is not None:
        if ref is not None:
            raise UsageError("give either REF or --from-catalog CATALOG, not both")
        if shards is None:
            raise UsageError("--from-catalog needs --shards N")
        single_only = {
            "--configmap-name": configmap_name,
            "--via-imagestream": via_imagestream,
            "--imagestream-name": imagestream_name,
            "--registry-host": registry_host,
        }
        used = [flag for flag, value in single_only.items() if value]
        if used:
            raise UsageError(f"{', '.join(used)} do not apply to --from-catalog")
        from imgextract.cli.catalog import job_from_catalog

        click.echo(
            job_from_catalog(
                catalog_ref,
                shards=shards,
                output_claim=output_claim,
                filters=filters,
                namespace=namespace,
                image=image,
                parallelism=parallelism,
                jobs=jobs,
                service_account=service_account,
                pull_secret_name=pull_secret_name,
                pull_secret_type=pull_secret_type,
                active_deadline_seconds=active_deadline_seconds or 6 * 3600,
                ttl_seconds_after_finished=24 * 3600
                if ttl_seconds_after_finished is None
                else ttl_seconds_after_finished,
                extra_args=pull_args,
                policy=policy,
                registries_d=registries_dir,
                policy_configmap=policy_configmap,
                registries_d_configmap=registries_d_configmap,
            ),
            nl=False,
        )
        return
    if ref is None:
        raise UsageError("missing REF (or --from-catalog CATALOG --shards N)")
    if shards is not None or parallelism is not None or any(filters.values()):
        raise UsageError("--shards, --parallelism and catalog filters need --from-catalog")

    objects = render_job(
        ref,
        namespace=namespace,
        image=image,
        service_account=service_account,
        pull_secret_name=pull_secret_name,
        configmap_name=configmap_name,
        via_imagestream=via_imagestream,
        imagestream_name=imagestream_name,
        registry_host_override=registry_host,
        extra_args=pull_args,
        import_mode=import_mode,  # type: ignore[arg-type]
        active_deadline_seconds=600 if active_deadline_seconds is None else active_deadline_seconds,
        ttl_seconds_after_finished=3600 if ttl_seconds_after_finished is None else ttl_seconds_after_finished,
        pull_secret_type=pull_secret_type,  # type: ignore[arg-type]
        policy=policy,
        registries_d=registries_dir,
        policy_configmap=policy_configmap,
        registries_d_configmap=registries_d_configmap,
    )
    click.echo(dump_yaml(objects), nl=False)
