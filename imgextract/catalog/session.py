"""The catalog's link to the pull pipeline: fetch a catalog image's configs, pull one bundle.

Everything in ``imgextract.catalog`` that reaches a registry goes through this module, over the
session an :class:`imgextract.Client` is (mirror rules, credentials, one connection pool per
registry, the content cache).

A catalog image carries its FBC at the path its ``operators.operatorframework.io.index.configs.v1``
label names. Only that path is extracted (base layers are skipped where the layer index allows),
into ``<cache>/catalogs/<manifest digest>/``; the directory appears atomically (staged, renamed), so
an interrupted fetch never leaves a half catalog to be read. Each use touches that directory (its
mtime is when it was last used, for ``cache prune --max-age``); the staging directory carries its
owner (:mod:`imgextract.procowner`) so ``cache prune`` can tell one left by a killed process. With the
cache disabled the configs go to a temporary directory removed at exit.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import weakref
from pathlib import Path
from typing import Protocol

from imgextract.bundles import detect
from imgextract.bundles import labels as L
from imgextract.catalog.model import Bundle
from imgextract.errors import InvalidBundleError, local_filesystem_error
from imgextract.layers.applier import Limits
from imgextract.operations import PullOptions, Session
from imgextract.operations import pull as pull_image
from imgextract.outputs.directory import force_rmtree
from imgextract.procowner import owner_token
from imgextract.progress import NoProgress
from imgextract.pull.extract import extract
from imgextract.reference import parse_reference
from imgextract.results import PullResult
from imgextract.settings import Settings


class CatalogSession(Session, Protocol):
    """A Session (``imgextract.Client``) with its settings (the cache directory)."""

    @property
    def settings(self) -> Settings: ...


class ScratchRoot:
    """A catalog image extracted without a cache, in a temporary directory removed when this
    object is garbage-collected (every Catalog reading it holds it) or at exit, whichever is first:
    a long-running process does not keep one directory per catalog it ever read."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self._finalizer = weakref.finalize(self, force_rmtree, base)


def fetch_configs(session: CatalogSession, ref: str) -> tuple[Path, ScratchRoot | None]:
    """The local directory holding the catalog image's FBC, and (without a cache) the
    :class:`ScratchRoot` whose lifetime is the directory's."""
    scratch: ScratchRoot | None = None
    session.prepare()
    image = session.resolve(parse_reference(ref))
    labels = image.config.labels
    if L.FBC_CONFIGS not in labels:
        raise InvalidBundleError(
            f"{ref} is not a file-based catalog image (no {L.FBC_CONFIGS} label)", reference=ref
        )
    plan = detect.plan(labels)
    assert plan.paths is not None
    configs = plan.paths[0]
    settings = session.settings
    try:
        if settings.cache.use_cache:
            base = settings.cache_root / "catalogs"
            final = base / image.digest.replace(":", "-")
            if final.is_dir():
                try:
                    os.utime(final)  # recency for ``cache prune --max-age``
                except OSError:  # a read-only cache is still usable
                    pass
                return final / configs, None
            base.mkdir(parents=True, exist_ok=True)
        else:
            base = Path(tempfile.mkdtemp(prefix="bundle-extract-catalog-"))
            scratch = ScratchRoot(base)
            final = base / "root"
        staging = base / f".staging-{owner_token()}-{secrets.token_hex(6)}"
        staging.mkdir(mode=0o700)
    except OSError as exc:
        err = local_filesystem_error(exc)
        err.reference = ref
        raise err from None
    try:
        extract(image, plan, staging, Limits(), NoProgress())
        if not (staging / configs).is_dir():
            raise InvalidBundleError(
                f"{ref}: catalog configs directory /{configs} is not in the image", reference=ref
            )
        try:
            os.rename(staging, final)
        except OSError:
            if not final.is_dir():  # another process won the race: its copy is as good
                raise
            force_rmtree(staging)
    except BaseException:
        if staging.exists():
            force_rmtree(staging)
        raise
    return final / configs, scratch


def pull_bundle(session: Session, bundle: Bundle, dest: Path, replace: bool) -> PullResult:
    """Pull ``bundle.image`` into ``dest`` (staged beside it, renamed into place).  ``creds`` stays
    scoped as the caller set it (the catalog image's registry): the bundle's registry comes from
    the catalog's content.  ``dest`` is checked once, by its staging directory (the catalog pull
    made its parent and knows whether it exists: ``replace``)."""
    return pull_image(
        session, bundle.image, dest, PullOptions(force=replace), scope_credentials=False, check_early=False
    )
