"""Option groups shared by the commands, and turning their values into library settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from imgextract.cli.display import setup_logging
from imgextract.settings import CommonSettings


def common_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Transport, auth, mirror, platform and output options of every command that reads a registry."""
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
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=60.0,
            show_default=True,
            metavar="SECONDS",
            help="longest wait for one network read or connect.",
        ),
        click.option(
            "--retry-time",
            type=click.FloatRange(min=0),
            default=120.0,
            show_default=True,
            metavar="SECONDS",
            help="longest time one request or blob download spends waiting to retry or resume.",
        ),
        click.option("--json", "json_output", is_flag=True, help="print one JSON object on stdout."),
        click.option("-q", "--quiet", is_flag=True, help="no progress, no warnings."),
        click.option("-v", "--verbose", count=True, help="more logging on stderr (repeatable)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def cache_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--cache-dir`` and ``--no-cache``."""
    f = click.option("--no-cache", is_flag=True, help="do not use the content cache.")(f)
    f = click.option(
        "--cache-dir", type=click.Path(path_type=Path), default=None, help="content cache directory."
    )(f)
    return f


def common_settings(kw: dict[str, Any]) -> CommonSettings:
    """Pop the common options out of ``kw`` (configuring logging) and build the settings."""
    import os

    from imgextract.errors import UsageError
    from imgextract.settings import (
        AuthOptions,
        MirrorOptions,
        TransportOptions,
        host_platform,
    )

    setup_logging(kw.pop("verbose"), kw.pop("quiet"))
    platform = kw.pop("platform")
    if platform is not None and not platform.strip():
        raise UsageError("--platform must not be empty: give os/arch[/variant], e.g. linux/amd64")
    return CommonSettings(
        transport=TransportOptions(
            insecure_registries=insecure_hosts(kw.pop("insecure_registry")),
            ca_file=kw.pop("ca_file"),
            cert_dir=kw.pop("cert_dir"),
            timeout=kw.pop("timeout"),
            retry_time=kw.pop("retry_time"),
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
        platform=platform or host_platform(),
        env=dict(os.environ),
    )


def insecure_hosts(values: tuple[str, ...]) -> frozenset[str]:
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


def check_ref(ref: str) -> None:
    """skopeo-style transport prefixes are not references: say what to type instead."""
    from imgextract.errors import UsageError

    for prefix in ("docker://", "oci://", "http://", "https://"):
        if ref.lower().startswith(prefix):
            raise UsageError(f"REF takes no {prefix} prefix: use {ref[len(prefix) :]}", reference=ref)
