"""How ``CatalogFilter.heads_only`` resolves (catalogs-render.md "catalog"): None -> heads when packages
are named and no range is given, else every bundle; True/False force the choice."""

from __future__ import annotations

import pytest

from imgextract.catalog import CatalogFilter
from imgextract.errors import UsageError


@pytest.mark.parametrize(
    ("kwargs", "heads"),
    [
        ({}, False),
        ({"packages": ("p",)}, True),
        ({"packages": ("p",), "channels": ("stable",)}, True),
        ({"packages": ("p",), "min_version": "1.0.0"}, False),
        ({"packages": ("p",), "max_version": "2.0.0"}, False),
        ({"channels": ("stable",)}, False),
        ({"heads_only": True}, True),
        ({"packages": ("p",), "heads_only": False}, False),
        ({"packages": ("p",), "min_version": "1.0.0", "heads_only": False}, False),
    ],
)
def test_the_choice_resolves_as_the_contract_says(kwargs: dict[str, object], heads: bool) -> None:
    f = CatalogFilter(**kwargs)  # type: ignore[arg-type]
    assert f.heads is heads
    resolved = f.resolved()
    assert resolved.heads_only is heads and resolved.heads is heads
    assert resolved.resolved() == resolved


def test_empty_means_every_bundle() -> None:
    assert CatalogFilter().empty and CatalogFilter(heads_only=False).empty
    assert not CatalogFilter(heads_only=True).empty
    assert not CatalogFilter(packages=("p",), heads_only=False).empty


def test_forced_heads_with_a_range_is_refused_the_default_is_not() -> None:
    with pytest.raises(UsageError, match="cannot be combined"):
        CatalogFilter(packages=("p",), min_version="1.0.0", heads_only=True)
    assert not CatalogFilter(packages=("p",), min_version="1.0.0").heads
