"""``bundle-extract copy REF --to-repo REPO``: relocate an imgpkg bundle and its images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from imgextract.cli.display import emit_json
from imgextract.cli.options import NonEmptyPath, check_ref, client_from, common_options


@click.command()
@click.argument("ref")
@click.option("--to-repo", required=True, metavar="REPO", help="destination repository (no tag or digest).")
@click.option(
    "--lock-output", type=NonEmptyPath(path_type=Path), default=None, help="write a BundleLock here."
)
@click.option(
    "--concurrency", type=click.IntRange(min=1), default=5, show_default=True, help="parallel blob copies."
)
@common_options
def copy(ref: str, to_repo: str, lock_output: Path | None, concurrency: int, **kw: Any) -> None:
    """Copy an imgpkg bundle and every image it references into REPO, and write its locations image."""
    json_output = kw["json_output"]
    check_ref(ref)
    check_ref(to_repo)
    with client_from(kw) as client:
        result = client.copy(ref, to_repo, lock_output=lock_output, concurrency=concurrency)
    data = result.to_json()
    if json_output:
        emit_json(data)
    else:
        blobs = ", ".join(f"{n} {outcome}" for outcome, n in sorted(data["blobs"].items())) or "none"
        click.echo(
            f"copied {ref} -> {result.bundle_ref} ({data['images']} images, "
            f"{len(data['bundles'])} bundles; blobs: {blobs})"
        )
