"""The command line: parse flags, build settings, call ``api``, render results.

No business logic here.  Errors are mapped to exit codes in exactly one place (``main``).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from imgextract.errors import ImgExtractError

log = logging.getLogger("imgextract")


def _common_options(f: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.option(
            "--platform",
            default=None,
            metavar="OS/ARCH[/VARIANT]",
            help="os/arch[/variant] to select from an index (default: linux/<host arch>).",
        ),
        click.option(
            "--icsp-file",
            multiple=True,
            type=click.Path(path_type=Path),
            help="ImageContentSourcePolicy YAML (repeatable).",
        ),
        click.option(
            "--idms-file",
            multiple=True,
            type=click.Path(path_type=Path),
            help="ImageDigestMirrorSet YAML (repeatable).",
        ),
        click.option(
            "--itms-file",
            multiple=True,
            type=click.Path(path_type=Path),
            help="ImageTagMirrorSet YAML (repeatable).",
        ),
        click.option(
            "--registries-conf",
            type=click.Path(path_type=Path),
            default=None,
            help="containers-registries.conf(5) file.",
        ),
        click.option(
            "--registries-conf-dir",
            type=click.Path(path_type=Path),
            default=None,
            help="registries.conf.d drop-in directory.",
        ),
        click.option(
            "--authfile",
            type=click.Path(path_type=Path),
            default=None,
            help="auth.json / config.json to read credentials from.",
        ),
        click.option(
            "--pull-secret",
            type=click.Path(path_type=Path),
            default=None,
            help="Kubernetes pull Secret (YAML/JSON) or config.json.",
        ),
        click.option("--creds", default=None, metavar="USER[:PASS]", help="USER[:PASS] for the registry."),
        click.option(
            "--insecure-registry",
            multiple=True,
            metavar="HOST[:PORT]",
            help="HOST[:PORT] reachable over plain HTTP or unverified TLS (repeatable).",
        ),
        click.option(
            "--ca-file",
            type=click.Path(path_type=Path, exists=True, dir_okay=False),
            default=None,
            help="extra CA bundle (PEM).",
        ),
        click.option(
            "--cert-dir",
            type=click.Path(path_type=Path, file_okay=False),
            default=None,
            help="containers certs.d-style directory.",
        ),
        click.option("--json", "json_output", is_flag=True, help="print one JSON object on stdout."),
        click.option("-q", "--quiet", is_flag=True, help="no progress, no warnings."),
        click.option("-v", "--verbose", count=True, help="more logging on stderr (repeatable)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _common(kw: dict[str, Any]) -> Any:
    import os

    from imgextract.settings import (
        AuthOptions,
        CommonSettings,
        MirrorOptions,
        TransportOptions,
        host_platform,
    )

    _setup_logging(kw.pop("verbose"), kw.pop("quiet"))
    return CommonSettings(
        transport=TransportOptions(
            insecure_registries=_insecure_hosts(kw.pop("insecure_registry")),
            ca_file=kw.pop("ca_file"),
            cert_dir=kw.pop("cert_dir"),
        ),
        auth=AuthOptions(
            creds=kw.pop("creds"), authfile=kw.pop("authfile"), pull_secret=kw.pop("pull_secret")
        ),
        mirrors=MirrorOptions(
            icsp_files=tuple(kw.pop("icsp_file")),
            idms_files=tuple(kw.pop("idms_file")),
            itms_files=tuple(kw.pop("itms_file")),
            registries_conf=kw.pop("registries_conf"),
            registries_conf_dir=kw.pop("registries_conf_dir"),
        ),
        platform=kw.pop("platform") or host_platform(),
        env=dict(os.environ),
    )


def _insecure_hosts(values: tuple[str, ...]) -> frozenset[str]:
    """``--insecure-registry`` values as HOST[:PORT]; a scheme or trailing slash is tolerated, a path is not."""
    from imgextract.errors import UsageError

    hosts = set()
    for value in values:
        host = value.strip()
        for scheme in ("http://", "https://"):
            if host.lower().startswith(scheme):
                host = host[len(scheme) :]
        host = host.rstrip("/")
        if not host or "/" in host:
            raise UsageError(f"--insecure-registry {value!r}: expected HOST[:PORT], e.g. localhost:5000")
        hosts.add(host)
    return frozenset(hosts)


def _check_ref(ref: str) -> None:
    """skopeo-style transport prefixes are not references: say what to type instead."""
    from imgextract.errors import UsageError

    for prefix in ("docker://", "oci://", "http://", "https://"):
        if ref.lower().startswith(prefix):
            raise UsageError(f"REF takes no {prefix} prefix: use {ref[len(prefix) :]}", reference=ref)


def _setup_logging(verbose: int, quiet: bool) -> None:
    from imgextract.auth.redact import RedactingFilter

    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if verbose < 3:
        logging.getLogger("urllib3").setLevel(logging.WARNING)


def _emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bundle-extract")
def cli() -> None:
    """Pull container images from OCI registries and extract what matters, without a daemon.

    \b
    Exit codes: 0 ok, 1 internal error (a bug), 2 usage, 3 authentication,
    4 not found, 5 integrity, 6 invalid bundle, 7 registry unreachable.
    """


@cli.command()
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
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None, help="content cache directory.")
@click.option("--no-cache", is_flag=True, help="do not use the content cache.")
@_common_options
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
    cache_dir: Path | None,
    no_cache: bool,
    **kw: Any,
) -> None:
    """Pull REF and extract it into OUT.

    REF is [registry[:port]/]repo[:tag][@digest], normalised as docker does (busybox means
    docker.io/library/busybox:latest). What is extracted depends on the image: a registry+v1 bundle
    gives its manifests and metadata directories, a plain+v0 bundle manifests/, a file-based catalog
    the directory its configs label names, an imgpkg bundle its whole content; any other image needs
    --path or --all.
    On failure nothing is left at OUT.
    """
    import dataclasses

    from imgextract import api
    from imgextract.errors import UsageError
    from imgextract.progress import make_progress
    from imgextract.settings import ConfigMapOptions, PullSettings

    json_output, quiet = kw["json_output"], kw["quiet"]
    _check_ref(ref)
    if not output:
        raise UsageError("-o/--output must not be empty")
    if json_output and output == "-":
        raise UsageError(
            "--json and -o - both write to stdout: write the ConfigMap to a file (-o FILE) or drop --json"
        )
    common = dataclasses.replace(_common(kw), cache_dir=cache_dir, use_cache=not no_cache)
    settings = PullSettings(
        reference=ref,
        output=output,
        common=common,
        paths=paths,
        all=all_paths,
        force=force,
        recursive=recursive,
        format=fmt,  # type: ignore[arg-type]
        configmap=ConfigMapOptions(
            name=configmap_name,
            namespace=namespace,
            compress=compress,  # type: ignore[arg-type]
            split=split,
            olm_labels=olm_labels,
            source_image=source_image,
        ),
    )
    progress = _InterruptibleProgress(make_progress(quiet=quiet, json_output=json_output or output == "-"))
    try:
        result = api.pull(settings, progress=progress)
    finally:
        progress.close()
    if json_output:
        _emit_json(result.to_json())
    elif not quiet:
        click.echo(
            f"{result.kind} {result.resolved.name}@{result.digest} from {result.source}: "
            f"{result.files} files, {result.bytes} bytes -> {result.output}",
            err=output == "-",
        )


@cli.command()
@click.argument("ref")
@_common_options
def inspect(ref: str, **kw: Any) -> None:
    """Show what would be pulled: digest, source, platforms, labels, layers, kind."""
    from imgextract import api

    json_output = kw["json_output"]
    _check_ref(ref)
    result = api.inspect(ref, _common(kw))
    data = result.to_json()
    data["labels"] = result.labels
    data["platforms"] = result.platforms
    if json_output:
        _emit_json(data)
        return
    click.echo(f"Reference:  {data['reference']}")
    click.echo(f"Resolved:   {result.resolved.name}@{result.digest}")
    click.echo(f"Source:     {result.source}")
    click.echo(f"Media type: {result.media_type}")
    click.echo(
        f"Platform:   {result.platform}"
        + (f" (of {', '.join(result.platforms)})" if result.platforms else "")
    )
    click.echo(f"Kind:       {result.kind}")
    if result.bundle:
        b = result.bundle
        click.echo(f"Package:    {b.package}  channels: {','.join(b.channels)}  default: {b.default_channel}")
    click.echo("Labels:")
    for k, v in sorted(result.labels.items()):
        click.echo(f"  {k}={v}")
    click.echo("Layers:")
    for layer in result.layers:
        click.echo(f"  {layer.digest}  {layer.size:>12}  {layer.media_type}")


@cli.command()
@click.argument("ref")
@click.option("--to-repo", required=True, metavar="REPO", help="destination repository (no tag or digest).")
@click.option("--lock-output", type=click.Path(path_type=Path), default=None, help="write a BundleLock here.")
@click.option(
    "--concurrency", type=click.IntRange(min=1), default=5, show_default=True, help="parallel blob copies."
)
@_common_options
def copy(ref: str, to_repo: str, lock_output: Path | None, concurrency: int, **kw: Any) -> None:
    """Copy an imgpkg bundle and every image it references into REPO, and write its locations image."""
    import os

    from imgextract import api
    from imgextract.errors import UsageError
    from imgextract.settings import CopySettings

    json_output = kw["json_output"]
    _check_ref(ref)
    if lock_output is not None and (
        lock_output.is_dir() or not Path(os.path.abspath(lock_output)).parent.is_dir()
    ):
        raise UsageError(f"--lock-output {lock_output}: is a directory, or its directory does not exist")
    result = api.copy(
        CopySettings(
            reference=ref,
            to_repo=to_repo,
            common=_common(kw),
            lock_output=lock_output,
            concurrency=concurrency,
        )
    )
    data = result.to_json()
    if json_output:
        _emit_json(data)
    else:
        click.echo(
            f"copied {ref} -> {result.bundle_ref} ({data['images']} images, "
            f"{len(data['bundles'])} bundles, blobs {data['blobs']})"
        )


@cli.command()
@click.argument("ref")
@_common_options
def mirrors(ref: str, **kw: Any) -> None:
    """Explain the ordered endpoints a pull of REF would try, and the rule behind each (no network)."""
    from imgextract import api

    json_output = kw["json_output"]
    _check_ref(ref)
    data = api.explain_mirrors(ref, _common(kw))
    if json_output:
        _emit_json(data)
        return
    click.echo(data["reference"])
    for i, s in enumerate(data["sources"], 1):
        flags = ", ".join(f for f, on in (("insecure", s["insecure"]), ("blocked", s["blocked"])) if on)
        click.echo(f"  {i}. {s['reference']}" + (f" [{flags}]" if flags else "") + f"  <- {s['rule']}")


@cli.command()
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
    from imgextract.outputs.job import render_job

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
        pull_secret_type=pull_secret_type,
    )  # type: ignore[arg-type]
    click.echo(dump_yaml(objects), nl=False)


@cli.group()
def cache() -> None:
    """Manage the content cache (blobs and manifests by digest)."""


@cache.command("prune")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None, help="content cache directory.")
@click.option("--max-age", default=None, help="remove entries unused for this long (e.g. 30d, 12h, 90m).")
@click.option("--all", "everything", is_flag=True, help="remove everything (downloads in progress are kept).")
def cache_prune(cache_dir: Path | None, max_age: str | None, everything: bool) -> None:
    """Remove old entries from the content cache."""
    import os

    from imgextract.cache import ContentCache, parse_max_age
    from imgextract.errors import UsageError
    from imgextract.settings import default_cache_dir

    if (max_age is None) == (not everything):
        raise UsageError("cache prune needs exactly one of --max-age or --all")
    try:
        seconds = parse_max_age(max_age) if max_age is not None else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    root = cache_dir or default_cache_dir(os.environ)
    if not root.is_dir():
        click.echo(f"{root}: no cache")
        return
    report = ContentCache(root).prune(max_age=seconds, everything=everything)
    busy = f"; {report.busy} download(s) in progress left alone" if report.busy else ""
    click.echo(f"{root}: removed {report.files} files, {report.bytes} bytes{busy}")


class _Terminated(BaseException):
    """SIGTERM (kill, timeout, Kubernetes): unwind like Ctrl-C so staging directories are removed."""


_signalled: list[int] = []  # SIGINT/SIGTERM received (the exception may have been swallowed, see _reraise)


def _on_signal(signum: int, frame: object) -> None:
    _signalled.append(signum)
    _reraise()


def _reraise() -> None:
    """Raise for a signal received earlier: CPython clears an exception raised while an IO object's
    finalizer runs (urllib3 responses), so a Ctrl-C landing there would be lost and the pull completed."""
    if _signalled:
        raise KeyboardInterrupt() if _signalled[0] == signal.SIGINT else _Terminated()


class _InterruptibleProgress:
    """Progress callbacks (every chunk read by the applier) double as interrupt checkpoints."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def begin(self, total: int) -> None:
        _reraise()
        self.inner.begin(total)

    def layer_started(self, digest: str, size: int | None) -> None:
        _reraise()
        self.inner.layer_started(digest, size)

    def advance(self, digest: str, nbytes: int) -> None:
        _reraise()
        self.inner.advance(digest, nbytes)

    def layer_done(self, digest: str, *, fetched: bool) -> None:
        _reraise()
        self.inner.layer_done(digest, fetched=fetched)

    def close(self) -> None:
        self.inner.close()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the click group, map our exceptions to exit codes, one line on stderr."""
    import threading

    previous: dict[int, Any] = {}
    _signalled.clear()
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        cli.main(args=argv, prog_name="bundle-extract", standalone_mode=False)
    except _Terminated:
        click.echo("bundle-extract: terminated", err=True)
        sys.exit(143)
    except ImgExtractError as exc:
        from imgextract.auth.redact import redact

        click.echo(f"bundle-extract: error: {redact(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("bundle-extract: aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:  # one line, like every other error (cli.md)
        if isinstance(exc, getattr(click.exceptions, "NoArgsIsHelpError", ())):  # bare group: show its help
            exc.show()
            sys.exit(2)
        see = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.echo(f"bundle-extract: error: {exc.format_message()}{see}".replace("\n", " "), err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("bundle-extract: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the one place an unexpected bug becomes exit 1
        from imgextract.auth.redact import redact

        if _signalled:  # an interrupt turned into another exception (e.g. during a class definition)
            click.echo(
                "bundle-extract: " + ("aborted" if _signalled[0] == signal.SIGINT else "terminated"), err=True
            )
            sys.exit(128 + _signalled[0])

        click.echo(
            f"bundle-extract: internal error: {type(exc).__name__}: {redact(str(exc))} "
            "(this is a bug, please report it)",
            err=True,
        )
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            import traceback

            click.echo(
                redact(traceback.format_exc()), err=True, nl=False
            )  # never a raw traceback: it may hold secrets
        sys.exit(1)
    finally:
        for sig, handler in previous.items():
            if handler is not None:
                signal.signal(sig, handler)
    sys.exit(0)


if __name__ == "__main__":
    main()
