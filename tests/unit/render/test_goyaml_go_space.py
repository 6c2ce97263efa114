"""goyaml keeps its own copy of Go's unicode.IsSpace set (a bundle's rendering imports nothing of
the catalog reader): it must stay the catalog reader's set, character for character."""

from __future__ import annotations

import unicodedata

from imgextract.catalog import fbc
from imgextract.catalog.render import goyaml


def test_same_set_as_the_catalog_reader() -> None:
    assert goyaml._go_space() == fbc.GO_SPACE


def test_go_unicode_isspace() -> None:
    # Go: '\t', '\n', '\v', '\f', '\r', ' ', U+0085 (NEL), U+00A0 (NBSP), and category Zs/Zl/Zp
    expected = {c for c in map(chr, range(0x110000)) if unicodedata.category(c) in ("Zs", "Zl", "Zp")}
    expected |= set("\t\n\v\f\r \x85\xa0")
    assert set(goyaml._go_space()) == expected
