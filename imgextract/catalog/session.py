"""The catalog's link to the pull pipeline: fetch a catalog image's configs, pull one bundle.

Everything in ``imgextract.catalog`` that talks to a registry goes through this module, over one
``api.Session`` (mirror rules, credentials, one client per registry, the content cache).

A catalog image carries its FBC at the path its ``operators.operatorframework.io.index.configs.v1``
label names. Only that path is extracted (base layers are skipped where the layer index allows),
into ``<cache>/catalogs/<manifest digest>/``; the directory appears atomically (staged, renamed), so
an interrupted fetch never leaves a half catalog to be read. With the cache disabled the configs go
to a temporary directory removed at exit.
"""

from __future__ import annotations

import atexit
import os
import secrets
import tempfile
import threading
from pathlib import Path
from typing import Any

from imgextract.api import Result, Session, _pull_to_dir
from imgextract.bundles import detect
from imgextract.bundles import labels as L
from imgextract.catalog.model import Bundle
from imgextract.errors import ImgExtractError, InvalidBundleError
from imgextract.outputs.directory import force_rmtree
from imgextract.progress import NoProgress
from imgextract.pull.extract import extract
from imgextract.reference import parse_reference
from imgextract.settings import CommonSettings, PullSettings, default_cache_dir


class CatalogSession:
    """One session shared by every fetch and pull of a run (thread-safe client creation)."""

    def __init__(self, common: CommonSettings | None = None) -> None:
        self.common = common or CommonSettings()
        self.session = Session(self.common)
        lock = threading.Lock()
        pool_get = self.session.pool.get

        def get(registry: str, *, insecure: bool) -> Any:
            with lock:
                return pool_get(registry, insecure=insecure)

        self.session.pool.get = get  # type: ignore[method-assign]

    def fetch_configs(self, ref: str) -> Path:
        """The local directory holding the catalog image's FBC."""
        common = self.common
        image = self.session.resolve(parse_reference(ref))
        labels = image.config.labels
        if L.FBC_CONFIGS not in labels:
            raise InvalidBundleError(
                f"{ref} is not a file-based catalog image (no {L.FBC_CONFIGS} label)", reference=ref
            )
        plan = detect.plan(labels)
        assert plan.paths is not None
        configs = plan.paths[0]
        if common.use_cache:
            base = (common.cache_dir or default_cache_dir(common.env)) / "catalogs"
            final = base / image.digest.replace(":", "-")
            if final.is_dir():
                return final / configs
            base.mkdir(parents=True, exist_ok=True)
        else:
            base = Path(tempfile.mkdtemp(prefix="bundle-extract-catalog-"))
            atexit.register(force_rmtree, base)
            final = base / "root"
        staging = base / f".staging-{secrets.token_hex(6)}"
        staging.mkdir(mode=0o700)
        try:
            settings = PullSettings(reference=ref, output=str(staging), common=common)
            extract(image, plan, staging, settings, NoProgress())
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
        return final / configs

    def pull_bundle(self, bundle: Bundle, dest: Path, replace: bool) -> Result:
        """Pull ``bundle.image`` into ``dest`` (staged beside it, renamed into place)."""
        ref = parse_reference(bundle.image)
        settings = PullSettings(reference=bundle.image, output=str(dest), common=self.common, force=replace)
        image = self.session.resolve(ref)
        try:
            plan = detect.plan(image.config.labels)
            return _pull_to_dir(settings, self.session, image, plan, NoProgress())
        except ImgExtractError as exc:
            exc.reference = exc.reference or bundle.image
            exc.endpoint = exc.endpoint or image.endpoint
            raise


def fetch_configs(ref: str, common: CommonSettings | None = None) -> Path:
    return CatalogSession(common).fetch_configs(ref)
