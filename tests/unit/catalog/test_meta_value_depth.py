"""A deeply nested non-string meta value is printed in opm's error, not a crash.

Hazard: Go's ``fmt`` verbs were written as recursion (two Python frames a level), so a ``name``
nested 500 levels deep (JSON allows about 1000 here, Go 10000) raised RecursionError: exit 1,
"this is a bug", from ``catalog packages`` of a hostile catalog.
"""

from __future__ import annotations

import io

import pytest

from imgextract.catalog.fbc import CatalogFormatError, iter_stream
from imgextract.catalog.gofmt import go_t, go_v


def test_a_deeply_nested_meta_value_is_a_catalog_format_error() -> None:
    """``declcfg.extractUniqueMetaKeys``: ``got %t: %v`` of a list 900 levels deep."""
    depth = 900
    text = '{"schema": "olm.package", "name": ' + "[" * depth + "1" + "]" * depth + "}"
    with pytest.raises(CatalogFormatError) as info:
        list(iter_stream(io.BytesIO(text.encode()), "x.json"))
    message = str(info.value)  # (the error shortens what it shows of a long value)
    assert '"name" to be a string, got [[[[[[[[' in message, message[:200]
    assert message.endswith("]]]]]]]]"), message[-200:]


def test_go_verbs_over_values_deeper_than_the_recursion_limit() -> None:
    """Go's fmt prints any depth: maps and slices nested 5000 levels, mixed."""
    value: object = "leaf"
    for i in range(5000):
        value = {"k": value} if i % 2 else [value, None]
    printed = go_v(value)
    assert printed.startswith("map[k:[map[k:[") and printed.count("<nil>") == 2500
    assert go_t(value).startswith("map[%!t(string=k):[map[%!t(string=k):[")
    assert "%!t(string=leaf)" in go_t(value)
