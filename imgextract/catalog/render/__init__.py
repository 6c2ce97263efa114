"""opm-identical rendering: registry+v1 bundle directories and FBC objects to ``olm.bundle`` & co.

* :mod:`.bundle` - a bundle directory to the ``olm.bundle`` object (operator-registry's rules), a
  :class:`~.rendered.RenderedBundle` (:mod:`.rendered`);
* :mod:`.migrate` - ``--migrate-level`` (``none``, ``bundle-object-to-csv-metadata``);
* :mod:`.fbc` - FBC objects normalised as ``opm render`` re-writes them;
* :mod:`.writer` - ``write_json`` / ``write_yaml`` / ``write_ndjson`` (opm's bytes and order);
* :mod:`.pipeline` - references (directories, bundle and catalog images) to objects, concurrently;
* :mod:`.gojson`, :mod:`.goyaml`, :mod:`.goyamlout` - the Go encoders and decoders whose rules decide
  the bytes.

The writers take any iterable of FBC objects (dicts in opm's field order; property values may be
:class:`~.gojson.RawJSON`), so ``catalog render`` writes through the same code; pass objects read
from a catalog through :func:`.fbc.normalize` first to get opm's re-encoding, or call
``write_fbc(objects, fmt, out)`` which does both, streaming.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgextract.lazy import lazy_exports

if TYPE_CHECKING:
    from imgextract.catalog.render.bundle import render_bundle
    from imgextract.catalog.render.fbc import normalize
    from imgextract.catalog.render.gojson import RawJSON
    from imgextract.catalog.render.migrate import migrate_bundle
    from imgextract.catalog.render.pipeline import RenderError, RenderOptions, render_refs
    from imgextract.catalog.render.rendered import BundleError, RenderedBundle
    from imgextract.catalog.render.writer import (
        encode,
        write,
        write_fbc,
        write_json,
        write_ndjson,
        write_yaml,
    )

FORMATS = ("json", "yaml", "ndjson")
"""The output formats (:mod:`.writer` writes them), named here: checking a format before the first
request loads no encoder."""

# Resolved on first use: a warm ``render`` (every bundle from the cache, written as JSON) never
# loads the bundle reader nor the YAML codecs.
_LAZY = {
    "BundleError": "imgextract.catalog.render.rendered",
    "RawJSON": "imgextract.catalog.render.gojson",
    "RenderError": "imgextract.catalog.render.pipeline",
    "RenderOptions": "imgextract.catalog.render.pipeline",
    "RenderedBundle": "imgextract.catalog.render.rendered",
    "encode": "imgextract.catalog.render.writer",
    "migrate_bundle": "imgextract.catalog.render.migrate",
    "normalize": "imgextract.catalog.render.fbc",
    "render_bundle": "imgextract.catalog.render.bundle",
    "render_refs": "imgextract.catalog.render.pipeline",
    "write": "imgextract.catalog.render.writer",
    "write_fbc": "imgextract.catalog.render.writer",
    "write_json": "imgextract.catalog.render.writer",
    "write_ndjson": "imgextract.catalog.render.writer",
    "write_yaml": "imgextract.catalog.render.writer",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())

__all__ = [
    "BundleError",
    "RawJSON",
    "RenderError",
    "RenderOptions",
    "RenderedBundle",
    "encode",
    "migrate_bundle",
    "normalize",
    "render_bundle",
    "render_refs",
    "write",
    "write_fbc",
    "write_json",
    "write_ndjson",
    "write_yaml",
]
