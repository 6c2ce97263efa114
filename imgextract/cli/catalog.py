"""``bundle-extract catalog packages|channels|bundles|images|render REF``, and the bodies of
``pull --from-catalog`` and ``job --from-catalog``: parsing and rendering only."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

import click

from imgextract.cli.filters import filter_argv, filter_options, pop_filter
from imgextract.cli.options import (
    cache_options,
    check_ref,
    client_from,
    common_options,
    json_help,
    refuse_json_with,
    render_output_options,
    signature_options,
)
from imgextract.errors import printable


def open_filtered(ref: str, selection: Any, client: Any) -> Any:
    """Open REF (catalog image or FBC directory) through ``client`` and apply ``selection``."""
    import os

    from imgextract.catalog import Catalog

    if not os.path.isdir(ref):
        from imgextract.errors import UsageError

        if ref.startswith(("/", "./", "../", "~")) or os.path.exists(ref):
            raise UsageError(
                f"{ref}: not a directory (REF is a catalog image or a file-based catalog directory)"
            )
        check_ref(ref)
    cat = Catalog.open(ref, client=client)
    return cat.apply(selection) if not selection.empty else cat


def shown(text: object) -> str:
    """Catalog text as printed: whoever wrote the catalog chose it, so control characters and bidi
    overrides are escaped (they could rewrite the terminal, or split one item over two lines)."""
    return printable(str(text))


def _warn_replaced(cat: Any, quiet: bool) -> None:
    if quiet:
        return
    for pkg, (old, new) in sorted(cat.replaced_defaults().items()):
        click.echo(
            f"bundle-extract: note: package {shown(pkg)}: default channel {shown(old)} filtered out, "
            f"{shown(new)} is the default",
            err=True,
        )


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A rich table on a terminal, else one item per line (tab-separated fields)."""
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title, show_lines=False)
        for c in columns:
            table.add_column(c, overflow="fold")
        for r in rows:
            table.add_row(*(Text(shown(cell)) for cell in r))  # Text: no rich markup from the catalog
        Console().print(table)
        return
    for r in rows:
        click.echo("\t".join(shown(cell) for cell in r))


def _catalog_command(name: str, doc: str) -> Callable[[Callable[..., Any]], click.Command]:
    def wrap(render: Callable[[Any, bool], None]) -> click.Command:
        @catalog.command(name, help=doc)
        @click.argument("ref")
        @filter_options
        @json_help("print a JSON array on stdout.")
        @signature_options
        @cache_options
        @common_options
        def command(ref: str, **kw: Any) -> None:
            json_output, quiet = kw["json_output"], kw["quiet"]
            selection = pop_filter(kw)
            with client_from(kw) as client:
                cat = open_filtered(ref, selection, client)
            _warn_replaced(cat, quiet or json_output)
            render(cat, json_output)

        return command

    return wrap


@click.group()
def catalog() -> None:
    """Query an operator catalog (a catalog image or a file-based catalog directory) without opm.

    \b
    Filters (as oc-mirror selects bundles): no --package means every package, every bundle;
    --package P keeps the head of each of P's channels (--all-bundles: every bundle);
    --channel keeps channels of that name; --min-version/--max-version keep the bundles of that
    inclusive semver range; --heads-only keeps each channel's head (also without --package).
    A package whose default channel is filtered out gets the kept channel with the highest
    version as its default, and a note says so.
    """


def _emit(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2))


@_catalog_command("packages", "List the packages: name, default channel, channels.")
def _packages(cat: Any, as_json: bool) -> None:
    pkgs = cat.packages()
    if as_json:
        _emit([p.to_json() for p in pkgs])
        return
    rows = [
        (
            p.name,
            (p.default_channel or "") + (f" (was {p.replaced_default})" if p.replaced_default else ""),
            ",".join(p.channels),
        )
        for p in pkgs
    ]
    _table("packages", ("PACKAGE", "DEFAULT CHANNEL", "CHANNELS"), rows)


@_catalog_command("channels", "List the channels: package, channel, head, number of entries.")
def _channels(cat: Any, as_json: bool) -> None:
    chans = cat.channels()
    if as_json:
        _emit([c.to_json() for c in chans])
        return
    rows = [(c.package, c.name, ",".join(c.heads), str(len(c.entries))) for c in chans]
    _table("channels", ("PACKAGE", "CHANNEL", "HEAD", "ENTRIES"), rows)


@_catalog_command("bundles", "List the bundles: package, name, version, channels, image.")
def _bundles(cat: Any, as_json: bool) -> None:
    bundles = cat.bundles()
    if as_json:
        _emit([b.to_json() for b in bundles])
        return
    rows = [(b.package, b.name, b.version, ",".join(b.channels), b.image) for b in bundles]
    _table("bundles", ("PACKAGE", "BUNDLE", "VERSION", "CHANNELS", "IMAGE"), rows)


@_catalog_command("images", "List every image the selected bundles need (bundle images included), sorted.")
def _images(cat: Any, as_json: bool) -> None:
    images = cat.related_images()
    if as_json:
        _emit(images)
        return
    for image in images:
        click.echo(shown(image))


@catalog.command("render")
@click.argument("ref")
@filter_options
@render_output_options
@signature_options
@cache_options
@common_options
def catalog_render(ref: str, fmt: str, **kw: Any) -> None:
    """Print the filtered catalog as FBC (packages, kept channel entries, kept bundles), as opm
    writes it (-o json/yaml byte for byte; ndjson: one compact object per line)."""
    from imgextract.catalog.render import normalize, write
    from imgextract.catalog.render.fbc import run_order

    refuse_json_with(fmt, kw)
    quiet = kw["quiet"]
    selection = pop_filter(kw)
    with client_from(kw) as client:
        cat = open_filtered(ref, selection, client)
    _warn_replaced(cat, quiet)
    # opm's writer and order (the selected objects are held to be sorted, as opm does), after
    # Render.Run's treatment of each bundle, as `render DIR` gives it
    write((run_order(normalize(o)) for o in cat.objects()), sys.stdout, fmt)


# ----------------------------------------------------------------------------- pull --from-catalog


class _BundleProgress:
    """A bundles bar on a terminal (stderr)."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._p = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._p.add_task("bundles", total=total)
        self._failed = 0
        self._p.start()

    def done(self, ok: bool) -> None:
        self._failed += 0 if ok else 1
        desc = "bundles" + (f" ({self._failed} failed)" if self._failed else "")
        self._p.update(self._task, advance=1, description=desc)

    def close(self) -> None:
        self._p.stop()


def bundle_line(o: Any) -> dict[str, Any]:
    """The ``--json`` line of one bundle: the library's object, the error in command-line terms."""
    from imgextract.cli.exits import describe, exit_code_for

    line: dict[str, Any] = o.to_json()
    if o.error is not None:
        line["error"] = {"exitCode": exit_code_for(o.error), "message": describe(o.error)}
    return line


def pull_from_catalog(
    catalog_ref: str,
    output: str,
    *,
    jobs: int,
    shard: str | None,
    per_registry: int | None,
    pin_cpu: bool = True,
    client: Any,
    json_output: bool,
    quiet: bool,
    selection: Any,
) -> None:
    """Run ``pull --from-catalog`` over ``client``; re-raises the first failing bundle's error (so
    the exit code is its exit code) after every bundle was tried."""
    from imgextract.catalog.filters import parse_shard
    from imgextract.catalog.pull import BundleOutcome, pull_bundles
    from imgextract.cli.exits import describe
    from imgextract.errors import UsageError

    if not output:
        raise UsageError("-o/--output must not be empty")
    index_count = parse_shard(shard) if shard else None
    cat = open_filtered(catalog_ref, selection, client)  # the same client pulls the bundles
    _warn_replaced(cat, quiet or json_output)
    bundles = cat.shard(*index_count) if index_count else cat.bundles()
    client.scope_catalog_credentials(cat)
    lock = threading.Lock()
    bar = _BundleProgress(len(bundles)) if sys.stderr.isatty() and not quiet and not json_output else None

    def on_done(o: BundleOutcome) -> None:
        with lock:
            if json_output:
                sys.stdout.write(json.dumps(bundle_line(o), separators=(",", ":")) + "\n")
                sys.stdout.flush()
            elif o.error is not None:
                click.echo(
                    f"bundle-extract: error: {shown(o.bundle.package)}/{shown(o.bundle.name)}: "
                    f"{describe(o.error)}",
                    err=True,
                )
            elif not quiet and bar is None:
                click.echo(
                    f"{'skipped' if o.skipped else 'pulled'} {shown(o.bundle.package)}/{shown(o.bundle.name)} "
                    f"-> {shown(o.output)}"
                )
            if bar is not None:
                bar.done(o.ok)

    try:
        result = pull_bundles(
            bundles,
            output,
            client=client,
            jobs=jobs,
            per_registry=per_registry,
            pin_cpu=pin_cpu,
            on_done=on_done,
        )
    finally:
        if bar is not None:
            bar.close()
    first = result.first_failure
    if not quiet or first is not None:
        summary = (
            f"{len(bundles)} bundles: {result.pulled} pulled, {result.skipped} already complete, "
            f"{result.failed} failed -> {output}"
        )
        if first is not None:
            summary += f"; first failure: {shown(first.bundle.package)}/{shown(first.bundle.name)}"
        if not json_output or first is not None:
            click.echo(f"bundle-extract: {summary}", err=True)
    result.raise_for_failures()


def job_from_catalog(
    catalog_ref: str, *, shards: int, output_claim: str, filters: dict[str, Any], **kw: Any
) -> str:
    """The Indexed Job as YAML."""
    from imgextract.outputs.configmap import dump_yaml
    from imgextract.outputs.kube.indexed_job import render_indexed_job

    selection = pop_filter(dict(filters))  # refuse bad filters here rather than in every pod
    job = render_indexed_job(
        catalog_ref, shards=shards, output_claim=output_claim, filter_args=filter_argv(selection), **kw
    )
    return str(dump_yaml([job]))
