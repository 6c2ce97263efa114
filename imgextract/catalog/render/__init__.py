"""opm-identical rendering: registry+v1 bundle directories and FBC objects to ``olm.bundle`` & co.

* :mod:`.bundle` - a bundle directory to the ``olm.bundle`` object (operator-registry's rules);
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

from imgextract.catalog.render.bundle import BundleError, RenderedBundle, render_bundle
from imgextract.catalog.render.fbc import normalize
from imgextract.catalog.render.gojson import RawJSON
from imgextract.catalog.render.migrate import migrate_bundle
from imgextract.catalog.render.pipeline import RenderError, RenderOptions, render_refs
from imgextract.catalog.render.writer import encode, write, write_fbc, write_json, write_ndjson, write_yaml

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
