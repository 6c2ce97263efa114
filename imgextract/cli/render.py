"""``bundle-extract render REF...``: what ``opm render`` prints, byte for byte (json, yaml), or NDJSON."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from imgextract.cli.options import (
    cache_options,
    check_ref,
    client_from,
    common_options,
    pin_cpu_option,
    refuse_json_with,
    render_output_options,
    signature_options,
)


@click.command()
@click.argument("refs", nargs=-1, required=True, metavar="REF...")
@render_output_options
@click.option(
    "--migrate-level",
    type=click.Choice(["none", "bundle-object-to-csv-metadata", "all"]),
    default="none",
    show_default=True,
    help="bundle-object-to-csv-metadata (or all): olm.csv.metadata instead of olm.bundle.object (OpenShift >= 4.17).",
)
@click.option(
    "--image-ref-template",
    default=None,
    metavar="T",
    help="image of a rendered bundle directory, from {{.Package}}, {{.Name}} and {{.Version}}.",
)
@click.option(
    "-j", "--jobs", type=click.IntRange(1, 64), default=16, show_default=True, help="references at a time."
)
@pin_cpu_option("keep the workers")
@signature_options
@cache_options
@common_options
def render(
    refs: tuple[str, ...],
    fmt: str,
    migrate_level: str,
    image_ref_template: str | None,
    jobs: int,
    pin_cpu: bool,
    **kw: Any,
) -> None:
    """Render bundle images, catalog images, bundle directories and FBC directories as opm does.

    Each REF is a directory (a bundle when it has manifests/ and metadata/, otherwise a file-based
    catalog) or an image reference; an image is a bundle or a catalog according to its labels. The
    objects are written together once every REF rendered, in opm's order (by package, then name).
    With --policy, every image REF is judged before any of its layers is read (refused: exit 8).
    """
    from imgextract.cli.signals import InterruptibleOutput
    from imgextract.errors import UsageError
    from imgextract.rendering import write_output

    for ref in refs:
        if not os.path.lexists(ref):  # a directory to render, else an image reference
            if ref.startswith(("/", "./", "../", "~")):
                raise UsageError(
                    f"{ref}: no such directory (REF is an image or a bundle or catalog directory)"
                )
            check_ref(ref)
    refuse_json_with(fmt, kw)
    with client_from(kw) as client:
        write_output(
            client,
            list(refs),
            InterruptibleOutput(sys.stdout.buffer),
            fmt,
            migrate_level=migrate_level,
            image_ref_template=image_ref_template,
            jobs=jobs,
            pin_cpu=pin_cpu,
        )
