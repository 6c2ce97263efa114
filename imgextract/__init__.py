"""bundle-extract: pull container images from OCI registries and extract what matters.

The library is the product; the ``bundle-extract`` command is one of its users::

    import imgextract

    result = imgextract.pull("quay.io/example/etcd-bundle:v0.9.4", "out/etcd")
    print(result.kind, result.digest, result.files)

    with imgextract.Client(insecure_registries=["localhost:5000"]) as client:
        info = client.inspect("localhost:5000/team/bundle:v1")
        cms = client.pull("localhost:5000/team/bundle:v1", None, format="configmap").configmaps
        print(imgextract.dump_yaml(list(cms)))

A :class:`Client` holds one connection pool per registry, one content cache and one credential
store; the module-level functions run one call on a fresh client.  Results are frozen dataclasses
whose ``to_json()`` is the command line's ``--json`` object.  Every failure is an
:class:`ImgExtractError` (the tree is drawn in :mod:`imgextract.errors`).  The library never prints:
warnings are records of the ``imgextract`` loggers (a ``NullHandler`` keeps them off stderr until
the application configures logging).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Unpack

from imgextract._version import VERSION as __version__
from imgextract.errors import (
    AuthError,
    ConfigError,
    ContentMismatch,
    DecompressionLimit,
    ImgExtractError,
    IntegrityError,
    InvalidBundleError,
    InvalidReference,
    LimitExceeded,
    LocalFilesystemError,
    NotFoundError,
    RegistryError,
    SignatureRefused,
    SourceError,
    UnknownOption,
    UnreachableError,
    UsageError,
)
from imgextract.lazy import lazy_exports

# ``imgextract.pull`` is both the pipeline package (``imgextract/pull/``) and the one-shot function
# below.  Importing the package (its ``__init__`` is a docstring) before ``def pull`` makes the
# function own the attribute: later imports of ``imgextract.pull.*`` find the package in
# ``sys.modules`` and never rebind it.
import imgextract.pull as _pipeline  # noqa: E402, F401  isort: skip


if TYPE_CHECKING:
    from imgextract.call_options import PullOptions
    from imgextract.catalog import BundleOutcome, Catalog, CatalogPullResult
    from imgextract.client import Client, copy, explain_mirrors, inspect, pull_catalog, render, verify
    from imgextract.outputs.configmap import dump_yaml
    from imgextract.reference import Reference, parse_reference
    from imgextract.results import (
        BundleInfo,
        CopyResult,
        InspectResult,
        LayerReport,
        MirrorsResult,
        PullResult,
        Source,
    )
    from imgextract.settings import ClientOptions, Settings
    from imgextract.signatures import Verdict

# Imported on first use, so that ``import imgextract`` (and the CLI's start-up) stays cheap.
_LAZY = {
    "Reference": "imgextract.reference",
    "parse_reference": "imgextract.reference",
    "Catalog": "imgextract.catalog",
    "CatalogPullResult": "imgextract.catalog",
    "BundleOutcome": "imgextract.catalog",
    "pull_catalog": "imgextract.client",
    "Client": "imgextract.client",
    "inspect": "imgextract.client",
    "copy": "imgextract.client",
    "explain_mirrors": "imgextract.client",
    "verify": "imgextract.client",
    "Verdict": "imgextract.signatures",
    "render": "imgextract.client",
    "dump_yaml": "imgextract.outputs.configmap",
    "BundleInfo": "imgextract.results",
    "CopyResult": "imgextract.results",
    "InspectResult": "imgextract.results",
    "LayerReport": "imgextract.results",
    "MirrorsResult": "imgextract.results",
    "PullResult": "imgextract.results",
    "Source": "imgextract.results",
    "Settings": "imgextract.settings",
    "ClientOptions": "imgextract.settings",
}


def pull(ref: str, output: str | os.PathLike[str] | None, **options: Unpack[PullOptions]) -> PullResult:
    """One pull on a fresh :class:`Client` (see :meth:`Client.pull`; client options may be mixed in:
    every name is in :class:`imgextract.call_options.PullOptions`)."""
    from imgextract.client import pull as one_shot_pull

    return one_shot_pull(ref, output, **options)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())

# The library reports through the ``imgextract`` loggers and never writes to stderr itself: without
# this handler an application that configured no logging would get every WARNING printed by
# Python's last-resort handler.  Records still propagate to whatever handlers the application (or
# the ``bundle-extract`` command) installs.
logging.getLogger(__name__).addHandler(logging.NullHandler())


__all__ = [
    "AuthError",
    "BundleInfo",
    "BundleOutcome",
    "Catalog",
    "CatalogPullResult",
    "Client",
    "ClientOptions",
    "ConfigError",
    "ContentMismatch",
    "CopyResult",
    "DecompressionLimit",
    "ImgExtractError",
    "InspectResult",
    "IntegrityError",
    "InvalidBundleError",
    "InvalidReference",
    "LayerReport",
    "LimitExceeded",
    "LocalFilesystemError",
    "MirrorsResult",
    "NotFoundError",
    "PullResult",
    "Reference",
    "RegistryError",
    "Settings",
    "SignatureRefused",
    "Source",
    "SourceError",
    "UnknownOption",
    "UnreachableError",
    "UsageError",
    "Verdict",
    "__version__",
    "copy",
    "dump_yaml",
    "explain_mirrors",
    "inspect",
    "parse_reference",
    "pull",
    "pull_catalog",
    "verify",
    "render",
]
