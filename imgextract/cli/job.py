"""``bundle-extract job REF``: print a Kubernetes Job that pulls REF into a ConfigMap in a cluster."""

from __future__ import annotations

import click


@click.command()
@click.argument("ref")
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
    default=600,
    show_default=True,
    help="the Job fails when it runs longer.",
)
@click.option(
    "--ttl-seconds-after-finished",
    type=int,
    default=3600,
    show_default=True,
    help="the finished Job is deleted after this long.",
)
@click.option(
    "--pull-arg", "pull_args", multiple=True, help="extra argument for the pull command (repeatable)."
)
def job(
    ref: str,
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
    active_deadline_seconds: int,
    ttl_seconds_after_finished: int,
    pull_args: tuple[str, ...],
) -> None:
    """Print a Kubernetes Job (restricted Pod Security) that runs `pull REF --format configmap` in a cluster."""
    from imgextract.outputs.configmap import dump_yaml
    from imgextract.outputs.kube.job import render_job

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
        active_deadline_seconds=active_deadline_seconds,
        ttl_seconds_after_finished=ttl_seconds_after_finished,
        pull_secret_type=pull_secret_type,  # type: ignore[arg-type]
    )
    click.echo(dump_yaml(objects), nl=False)
