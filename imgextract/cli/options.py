"""Option groups shared by the commands, declared beside the library's settings they fill.

Each option's parameter name is the setting's name in :mod:`imgextract.settings` (``--insecure-registry``
fills ``insecure_registries``, ``--icsp-file`` ``icsp_files``, ...), so :func:`client_from` hands
them to :class:`imgextract.Client` as they are: no CLI-side copy of the settings tree, and the
same validation (and the same errors) as for library users.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from imgextract.cli import collector
from imgextract.cli.display import setup_logging
from imgextract.settings import OPTION_NAMES

if TYPE_CHECKING:
    from imgextract.client import Client


class NonEmptyPath(click.Path):
    """A path option that refuses an empty value (``Path("")`` is the current directory: an empty
    ``--cache-dir`` would put the cache there, an empty ``--registries-conf-dir`` read it)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (str, bytes)) and not value:
            self.fail("must not be empty", param, ctx)
        return super().convert(value, param, ctx)


# One instance per kind of path, shared by the options (a type holds no per-option state): click
# looks its name up in the translation catalogue for every instance it creates (~0.1 ms each).
_PATH = NonEmptyPath(path_type=Path)
_DIRECTORY = NonEmptyPath(path_type=Path, file_okay=False)
_EXISTING_FILE = NonEmptyPath(path_type=Path, exists=True, dir_okay=False)


def common_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Transport, auth, mirror, platform and output options of every command that reads a registry."""
    opts = [
        click.option(
            "--platform",
            default=None,
            metavar="OS/ARCH[/VARIANT]",
            help="os/arch[/variant], os or arch to select from an index (default: linux/<host arch>).",
        ),
        click.option(
            "--icsp-file",
            "icsp_files",
            multiple=True,
            type=_PATH,
            help="ImageContentSourcePolicy YAML (repeatable).",
        ),
        click.option(
            "--idms-file",
            "idms_files",
            multiple=True,
            type=_PATH,
            help="ImageDigestMirrorSet YAML (repeatable).",
        ),
        click.option(
            "--itms-file",
            "itms_files",
            multiple=True,
            type=_PATH,
            help="ImageTagMirrorSet YAML (repeatable).",
        ),
        click.option(
            "--registries-conf",
            type=_PATH,
            default=None,
            help="containers-registries.conf(5) file.",
        ),
        click.option(
            "--registries-conf-dir",
            type=_PATH,
            default=None,
            help="registries.conf.d drop-in directory.",
        ),
        click.option(
            "--authfile",
            type=_PATH,
            default=None,
            help="auth.json / config.json to read credentials from.",
        ),
        click.option(
            "--pull-secret",
            type=_PATH,
            default=None,
            help="Kubernetes pull Secret (YAML/JSON) or config.json.",
        ),
        click.option("--creds", default=None, metavar="USER[:PASS]", help="USER[:PASS] for the registry."),
        click.option(
            "--insecure-registry",
            "insecure_registries",
            multiple=True,
            metavar="HOST[:PORT]",
            help="HOST[:PORT] reachable over plain HTTP or unverified TLS (repeatable).",
        ),
        click.option(
            "--ca-file",
            type=_EXISTING_FILE,
            default=None,
            help="extra CA bundle (PEM).",
        ),
        click.option(
            "--cert-dir",
            type=_DIRECTORY,
            default=None,
            help="containers certs.d-style directory.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=None,
            metavar="SECONDS",
            help="longest wait for one network read or connect (default 60).",
        ),
        click.option(
            "--retry-time",
            type=click.FloatRange(min=0),
            default=None,
            metavar="SECONDS",
            help="longest time one request or blob download spends waiting to retry or resume (default 120).",
        ),
        click.option("--json", "json_output", is_flag=True, help="print one JSON object on stdout."),
        click.option("-q", "--quiet", is_flag=True, help="no progress, no warnings."),
        click.option("-v", "--verbose", count=True, help="more logging on stderr (repeatable)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def json_help(text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Word ``--json``'s help for one command (what it prints there); put it above ``common_options``."""

    def set_help(f: Callable[..., Any]) -> Callable[..., Any]:
        for param in getattr(f, "__click_params__", []):
            if param.name == "json_output":
                param.help = text
        return f

    return set_help


def render_output_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``-o json|yaml|ndjson`` of the commands that print what ``opm render`` prints, and their
    ``--json`` (``-o json``: see :func:`refuse_json_with`); put it above ``common_options``."""
    f = json_help("the same as -o json (opm's JSON); refused with another -o.")(f)
    return click.option(
        "-o",
        "--output",
        "fmt",
        type=click.Choice(["json", "yaml", "ndjson"]),
        default="json",
        show_default=True,
        help="json and yaml as opm writes them; ndjson: one compact object per line.",
    )(f)


def refuse_json_with(fmt: str, kw: dict[str, Any]) -> None:
    """``render``-like commands print opm's JSON by default: ``--json`` is ``-o json`` there and
    must not be silently dropped in favour of another ``-o``."""
    from imgextract.errors import UsageError

    if kw.pop("json_output", False) and fmt != "json":
        raise UsageError(f"--json and -o {fmt} ask for different outputs: give one of them")


def prefer_compression_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--prefer-compression``: which variant of a dual-compression index to take."""
    return click.option(
        "--prefer-compression",
        type=click.Choice(["auto", "gzip", "zstd"]),
        default="auto",
        show_default=True,
        help="an index offering the platform as gzip and zstd: take this variant (auto: the one "
        "that fetches least, zstd:chunked when only some paths are extracted).",
    )(f)


def pin_cpu_option(applies: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--pin-cpu/--no-pin-cpu``: a worker pool kept on one CPU (:mod:`imgextract.cpupin`);
    ``applies`` names the pool ("the workers", "--from-catalog: the bundle workers")."""
    return click.option(
        "--pin-cpu/--no-pin-cpu",
        default=True,
        show_default=True,
        help=f"{applies} on one CPU (they take turns holding Python's lock; handing it between "
        "CPUs costs more than a second CPU gives).",
    )


def cache_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--cache-dir`` and ``--no-cache`` (settings ``cache_dir`` and ``use_cache``)."""
    f = click.option(
        "--no-cache",
        "use_cache",
        is_flag=True,
        flag_value=False,
        default=True,
        help="do not use the content cache.",
    )(f)
    f = click.option("--cache-dir", type=_PATH, default=None, help="content cache directory.")(f)
    return f


def signature_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--policy`` and ``--registries-d`` (settings ``policy`` and ``registries_d``; docs/signatures.md).

    A command carrying this group hands them to the Client with the other settings; every image the
    client resolves is then judged before any of its layers is read (refused: exit 8)."""
    f = click.option(
        "--registries-d",
        type=_DIRECTORY,
        default=None,
        metavar="DIR",
        help="containers-registries.d(5) directory: where signatures are (default: "
        "~/.config/containers/registries.d, else /etc/containers/registries.d).",
    )(f)
    f = click.option(
        "--policy",
        default=None,
        metavar="FILE|default",
        help="containers-policy.json(5): refuse an image it does not accept (exit 8), before any layer; "
        "'default' reads ~/.config/containers/policy.json, else /etc/containers/policy.json.",
    )(f)
    return f


def client_from(kw: dict[str, Any]) -> Client:
    """Pop the settings options out of ``kw`` (configuring logging first) and build the client."""
    from imgextract.client import Client

    collector.resume()  # the command's modules are loaded: its real work collects garbage as usual
    setup_logging(kw.pop("verbose"), kw.pop("quiet"))
    options = {name: kw.pop(name) for name in list(kw) if name in OPTION_NAMES}
    return Client(**{k: v for k, v in options.items() if v is not None})


def check_ref(ref: str, *, what: str = "REF", credentials: str = "with --creds or an auth file") -> None:
    """skopeo-style transport prefixes and URL user information are not references: say what to
    type instead, never repeating a password typed into REF (``what`` names the argument,
    ``credentials`` says where the user information goes instead)."""
    from imgextract.errors import UsageError
    from imgextract.reference import transport_prefix, userinfo_end, without_userinfo

    prefix = transport_prefix(ref)
    rest = ref[len(prefix) :]
    at = userinfo_end(rest)  # (a password may hold "/" and "@": it ends at the last "@" of no digest)
    if at >= 0:
        bare = rest[at + 1 :]
        raise UsageError(
            f"{what} takes no user:password@: use {bare} {credentials}", reference=without_userinfo(ref)
        )
    if prefix:
        raise UsageError(f"{what} takes no {prefix} prefix: use {rest}", reference=ref)


def check_registry_host(host: str) -> None:
    """``job --registry-host``: the host of the pod's pull reference, so a distribution/reference
    ``domain[:port]``; user information is refused without being repeated."""
    from imgextract.errors import InvalidReference, UsageError
    from imgextract.reference import parse_raw

    if "@" in host:
        raise UsageError(
            f"--registry-host takes no user:password@: use {host.rpartition('@')[2]} "
            "with a pull secret (--pull-secret-name)"
        )
    try:
        domain = parse_raw(f"{host}/x").domain
    except InvalidReference:
        domain = None
    if domain != host:
        raise UsageError("--registry-host: not a registry host[:port]", reference=host)


def check_image(image: str) -> None:
    """``job --image``: the pod's container image, which the kubelet parses as distribution/reference
    ``ParseNormalizedNamed`` does (a short name is fine, the node normalises it).  Refused here,
    before anything is printed, rather than as a pod stuck in ``InvalidImageName``; user
    information is refused without being repeated (it would land in the manifest)."""
    from imgextract.errors import InvalidReference, UsageError
    from imgextract.reference import parse_reference

    check_ref(image, what="--image", credentials="and give the node a pull secret for it")
    try:
        parse_reference(image)
    except InvalidReference as e:
        raise UsageError(f"--image: {e.message}", reference=image) from None
