"""The catalog filter flags (``--package``, ``--channel``, ``--min-version``, ``--max-version``,
``--heads-only``) of ``catalog``, ``pull --from-catalog`` and ``job --from-catalog``.

A module of its own so that a plain ``pull`` declares them without importing the catalog commands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

FILTER_HELP = {
    "package": "keep this package (repeatable; default: every package).",
    "channel": "keep only channels with this name (repeatable).",
    "min_version": "keep bundles at or above this version (semver), up to the channel head.",
    "max_version": "keep bundles at or below this version (semver; 1.2 admits every 1.2.x).",
    "heads_only": "keep only the head of each kept channel (oc-mirror's default selection).",
}


def filter_options(f: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.option("--package", "packages", multiple=True, metavar="PKG", help=FILTER_HELP["package"]),
        click.option("--channel", "channels", multiple=True, metavar="CHANNEL", help=FILTER_HELP["channel"]),
        click.option("--min-version", default=None, metavar="VERSION", help=FILTER_HELP["min_version"]),
        click.option("--max-version", default=None, metavar="VERSION", help=FILTER_HELP["max_version"]),
        click.option("--heads-only", is_flag=True, help=FILTER_HELP["heads_only"]),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def filter_argv(kw: dict[str, Any]) -> list[str]:
    """The filter flags as command-line arguments again (for the Indexed Job's pods)."""
    argv: list[str] = []
    for p in kw.get("packages", ()):
        argv += ["--package", p]
    for c in kw.get("channels", ()):
        argv += ["--channel", c]
    if kw.get("min_version"):
        argv += ["--min-version", kw["min_version"]]
    if kw.get("max_version"):
        argv += ["--max-version", kw["max_version"]]
    if kw.get("heads_only"):
        argv.append("--heads-only")
    return argv


FILTER_KEYS = ("packages", "channels", "min_version", "max_version", "heads_only")
"""The keyword names the catalog filter flags fill (see :func:`filter_options`)."""


def pop_filter(kw: dict[str, Any]) -> Any:
    """The filter flags popped from ``kw``, validated (before any network)."""
    from imgextract.catalog import CatalogFilter

    return CatalogFilter(
        tuple(kw.pop("packages")),
        tuple(kw.pop("channels")),
        kw.pop("min_version") or None,
        kw.pop("max_version") or None,
        kw.pop("heads_only"),
    )
