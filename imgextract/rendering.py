"""``render``: opm-identical ``olm.bundle`` (and FBC) objects, as a library call.

``render(refs)`` renders bundle images, catalog images, bundle directories and FBC directories the way
``opm render`` does (see ``imgextract.catalog.render``), with this project's registry access (mirrors,
credentials, TLS, platform) and content cache; ``encode(objects, "json"|"yaml"|"ndjson")`` gives opm's
bytes.  One session (connection pools, credentials, cache) serves every reference.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from imgextract.catalog.render.pipeline import RenderError, RenderOptions, render_refs
from imgextract.catalog.render.writer import FORMATS, opm_order, to_python, write
from imgextract.errors import ImgExtractError, InvalidBundleError, UsageError
from imgextract.settings import CommonSettings, PullSettings

__all__ = ["FORMATS", "encode", "render", "render_raw"]


class _SessionSource:
    """The pull machinery as the renderer's ImageSource."""

    def __init__(self, common: CommonSettings) -> None:
        from imgextract.api import Session

        self.session = Session(common)
        self.common = common
        self.cache_root: Path | None = self.session.cache.root if self.session.cache is not None else None

    def resolve(self, ref: str) -> Any:
        from imgextract.reference import parse_reference

        try:
            return self.session.resolve(parse_reference(ref))
        except ImgExtractError as exc:
            exc.reference = exc.reference or ref
            raise

    def extract(self, image: Any, paths: tuple[str, ...], dest: Path) -> None:
        from imgextract.bundles.detect import Plan
        from imgextract.progress import NoProgress
        from imgextract.pull.extract import extract

        settings = PullSettings(reference="", output=str(dest), common=self.common)
        extract(image, Plan("image", paths), dest, settings, NoProgress())


def render_raw(
    refs: list[str] | str,
    *,
    migrate_level: str = "none",
    image_ref_template: str | None = None,
    jobs: int = 8,
    common: CommonSettings | None = None,
) -> list[dict[str, Any]]:
    """The rendered objects in opm's shape (property values kept as the JSON text opm writes)."""
    if isinstance(refs, str):
        refs = [refs]
    source = None
    if any(not Path(r).exists() for r in refs):
        source = _SessionSource(common or CommonSettings())
    try:
        return render_refs(
            refs,
            source,
            RenderOptions(migrate_level=migrate_level, image_ref_template=image_ref_template, jobs=jobs),
        )
    except RenderError as exc:
        if exc.kind == "usage":
            raise UsageError(str(exc)) from exc
        raise InvalidBundleError(str(exc)) from exc


def render(
    refs: list[str] | str,
    *,
    migrate_level: str = "none",
    image_ref_template: str | None = None,
    jobs: int = 8,
    common: CommonSettings | None = None,
) -> list[dict[str, Any]]:
    """Render ``refs`` as ``opm render`` would and return the objects as plain dicts, in opm's order.

    ``migrate_level``: ``none`` or ``bundle-object-to-csv-metadata``; ``image_ref_template``: the
    ``image`` of a bundle directory (``{{.Package}}``, ``{{.Name}}``, ``{{.Version}}``); ``jobs``:
    references rendered at a time; ``common``: registry access and cache settings.
    """
    objs = render_raw(
        refs, migrate_level=migrate_level, image_ref_template=image_ref_template, jobs=jobs, common=common
    )
    return [to_python(o) for o in opm_order(objs)]


def encode(objs: list[dict[str, Any]], fmt: str = "json") -> str:
    """``opm render -o json|yaml`` bytes (as text) of rendered objects; ``ndjson``: one per line."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown output format {fmt!r} (one of {', '.join(FORMATS)})")
    buf = io.StringIO()
    write(objs, buf, fmt)
    return buf.getvalue()
