"""Operator catalogs (file-based catalogs): streaming reader, typed model, channel graph, filters."""

from __future__ import annotations

from imgextract.catalog.fbc import CatalogFormatError, FbcObject, iter_catalog, iter_stream

__all__ = ["CatalogFormatError", "FbcObject", "iter_catalog", "iter_stream"]
