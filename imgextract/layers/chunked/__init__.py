"""zstd:chunked layers: read the table of contents, fetch only the wanted files' chunks, apply them.

``toc``: the layer annotations, the footer and the TOC (verified against the annotated checksum,
validated: names inside the root, ranges inside the data area and never overlapping).
``plan``: which compressed byte ranges the wanted paths need.  ``assemble``: the TOC as applier
members, file data decompressed from those ranges with every chunk's and file's digest checked,
over its parts: ``fetcher`` (the fetch-ahead thread and its bounded queue), ``cachewriter``
(verified files into the content cache in batches), ``decoder`` (decompressing a file, or a run of
small files in one call), ``checks`` (chunk and file digests) and ``interfaces`` (the
``RangeSource``, the ``FileStore`` and the shapes of file data).  Byte ranges come from a
``RangeSource`` (the registry implements it); nothing here speaks HTTP.
"""

from __future__ import annotations

from imgextract.layers.chunked.assemble import apply_chunked
from imgextract.layers.chunked.interfaces import RangeSource
from imgextract.layers.chunked.plan import plan_ranges
from imgextract.layers.chunked.toc import (
    Toc,
    TocEntry,
    TocLocation,
    TocUnsupported,
    is_chunked,
    parse_footer,
    parse_toc,
    toc_location,
)

__all__ = [
    "RangeSource",
    "Toc",
    "TocEntry",
    "TocLocation",
    "TocUnsupported",
    "apply_chunked",
    "is_chunked",
    "parse_footer",
    "parse_toc",
    "plan_ranges",
    "toc_location",
]
