"""The catalog filter flags (``--package``, ``--channel``, ``--min-version``, ``--max-version``,
``--heads-only``, ``--all-bundles``) of ``catalog``, ``pull --from-catalog`` and ``job --from-catalog``.

A module of its own so that a plain ``pull`` declares them without importing the catalog commands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

FILTER_HELP = {
    "package": "keep this package (repeatable; default: every package); without --min-version/"
    "--max-version only the heads of its channels (--all-bundles: every bundle).",
    "channel": "keep only channels with this name (repeatable).",
    "min_version": "keep bundles at or above this version (semver), up to the channel head.",
    "max_version": "keep bundles at or below this version (semver; 1.2 admits every 1.2.x).",
    "heads_only": "keep only the head of each kept channel (also without --package).",
    "all_bundles": "keep every bundle of the kept channels (oc-mirror's full: true), not only the heads.",
}


def filter_options(f: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.option("--package", "packages", multiple=True, metavar="PKG", help=FILTER_HELP["package"]),
        click.option("--channel", "channels", multiple=True, metavar="CHANNEL", help=FILTER_HELP["channel"]),
        click.option("--min-version", default=None, metavar="VERSION", help=FILTER_HELP["min_version"]),
        click.option("--max-version", default=None, metavar="VERSION", help=FILTER_HELP["max_version"]),
        click.option("--heads-only", is_flag=True, help=FILTER_HELP["heads_only"]),
        click.option("--all-bundles", is_flag=True, help=FILTER_HELP["all_bundles"]),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def filter_argv(selection: Any) -> list[str]:
    """A :class:`~imgextract.catalog.CatalogFilter` as command-line arguments again (for the Indexed
    Job's pods), with the heads-or-every-bundle choice resolved and spelled out, so every pod
    selects the same set whatever the default."""
    argv: list[str] = []
    for p in selection.packages:
        argv += ["--package", p]
    for c in selection.channels:
        argv += ["--channel", c]
    if selection.min_version:
        argv += ["--min-version", selection.min_version]
    if selection.max_version:
        argv += ["--max-version", selection.max_version]
    argv.append("--heads-only" if selection.heads else "--all-bundles")
    return argv


FILTER_KEYS = ("packages", "channels", "min_version", "max_version", "heads_only", "all_bundles")
"""The keyword names the catalog filter flags fill (see :func:`filter_options`)."""


def pop_filter(kw: dict[str, Any]) -> Any:
    """The filter flags popped from ``kw``, validated (before any network)."""
    from imgextract.catalog import CatalogFilter
    from imgextract.errors import UsageError

    heads_only, all_bundles = kw.pop("heads_only"), kw.pop("all_bundles")
    if heads_only and all_bundles:
        raise UsageError("--heads-only and --all-bundles contradict each other: give one of them")
    return CatalogFilter(
        tuple(kw.pop("packages")),
        tuple(kw.pop("channels")),
        kw.pop("min_version") or None,
        kw.pop("max_version") or None,
        True if heads_only else (False if all_bundles else None),
    )
