"""Fetch the configs directory of a catalog image once, into the content cache.

A catalog image carries its FBC at the path its ``operators.operatorframework.io.index.configs.v1``
label names. Only that path is extracted (the opm base layers are skipped where the layer index
allows), into ``<cache>/catalogs/<manifest digest>/``; the directory appears atomically (staged,
then renamed), so a concurrent or interrupted fetch never leaves a half catalog to be read. With the
cache disabled, the configs go to a temporary directory removed at exit.
"""

from __future__ import annotations

import atexit
import os
import secrets
import tempfile
from pathlib import Path

from imgextract.bundles import detect
from imgextract.bundles import labels as L
from imgextract.errors import InvalidBundleError
from imgextract.outputs.directory import force_rmtree
from imgextract.progress import NoProgress
from imgextract.reference import parse_reference
from imgextract.settings import CommonSettings, PullSettings, default_cache_dir


def fetch_configs(ref: str, common: CommonSettings | None = None) -> Path:
    """The local directory holding the catalog's FBC (the label's path inside the extracted root)."""
    from imgextract.api import Session
    from imgextract.extraction import extract

    common = common or CommonSettings()
    session = Session(common)
    image = session.resolve(parse_reference(ref))
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
            if not final.is_dir():  # someone else won the race: theirs is as good as ours
                raise
            force_rmtree(staging)
    except BaseException:
        if staging.exists():
            force_rmtree(staging)
        raise
    return final / configs
