"""The keyword options of the one-shot functions, typed: a client's options plus one call's.

``imgextract.pull(ref, out, insecure_registries=[...], paths=[...])`` takes the options of
:class:`~imgextract.Client` (:class:`~imgextract.settings.ClientOptions`) together with those of
:meth:`Client.pull <imgextract.Client.pull>`; these TypedDicts spell out each union so that mypy
checks the names and types of a one-shot call as it checks the method.  The client imports this
module for type checking only (no start-up cost); a test keeps each one equal to its method's
keyword parameters.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from imgextract.settings import ClientOptions

if TYPE_CHECKING:
    from imgextract.catalog import BundleOutcome
    from imgextract.operations import Compress, OutputFormat
    from imgextract.progress import Progress


class PullOptions(ClientOptions, total=False):
    """:func:`imgextract.pull`: the client's options and :meth:`Client.pull <imgextract.Client.pull>`'s."""

    paths: Sequence[str]
    all: bool
    force: bool
    format: OutputFormat
    configmap_name: str | None
    namespace: str | None
    compress: Compress
    split: bool
    olm_labels: bool
    source_image: str | None
    recursive: bool
    kind: str | None
    strict: bool
    prefer_compression: str
    progress: Progress | None


class InspectOptions(ClientOptions, total=False):
    """:func:`imgextract.inspect`: the client's options and ``prefer_compression``."""

    prefer_compression: str


class CopyOptions(ClientOptions, total=False):
    """:func:`imgextract.copy`: the client's options and ``concurrency``, ``lock_output``."""

    concurrency: int
    lock_output: str | os.PathLike[str] | None


class RenderOptions(ClientOptions, total=False):
    """:func:`imgextract.render`: the client's options and :meth:`Client.render <imgextract.Client.render>`'s."""

    migrate_level: str
    image_ref_template: str | None
    jobs: int
    raw: bool
    pin_cpu: bool


class CatalogPullOptions(ClientOptions, total=False):
    """:func:`imgextract.pull_catalog`: the client's options and the catalog filters and pacing."""

    packages: Sequence[str]
    channels: Sequence[str]
    min_version: str | None
    max_version: str | None
    heads_only: bool | None
    shard: tuple[int, int] | None
    jobs: int
    max_per_registry: int | None
    on_done: Callable[[BundleOutcome], None] | None
    pin_cpu: bool


__all__ = ["CatalogPullOptions", "CopyOptions", "InspectOptions", "PullOptions", "RenderOptions"]
