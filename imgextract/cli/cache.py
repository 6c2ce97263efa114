"""``bundle-extract cache prune``: manage the content cache."""

from __future__ import annotations

from pathlib import Path

import click

from imgextract.cli.options import NonEmptyPath


@click.group()
def cache() -> None:
    """Manage the content cache (blobs and manifests by digest, renderings, extracted catalogs)."""


@cache.command("prune")
@click.option("--cache-dir", type=NonEmptyPath(path_type=Path), default=None, help="content cache directory.")
@click.option("--max-age", default=None, help="remove entries unused for this long (e.g. 30d, 12h, 90m).")
@click.option("--all", "everything", is_flag=True, help="remove everything (downloads in progress are kept).")
def cache_prune(cache_dir: Path | None, max_age: str | None, everything: bool) -> None:
    """Remove old entries from the content cache: blobs, manifests, layer index, bundle renderings
    (render/) and extracted catalogs (catalogs/)."""
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
        if root.exists():  # a file given for the directory: a mistake, not an empty cache
            raise UsageError(f"--cache-dir {root}: not a directory")
        click.echo(f"{root}: no cache")
        return
    report = ContentCache(root).prune(max_age=seconds, everything=everything)
    busy = f"; {report.busy} download(s) in progress left alone" if report.busy else ""
    click.echo(f"{root}: removed {report.files} files, {report.bytes} bytes{busy}")
