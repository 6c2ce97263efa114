"""How mirror lists of several policies for one source are merged (table-driven)."""

from __future__ import annotations

import pytest

from imgextract.mirrors.convert import merged_mirror_sets
from imgextract.mirrors.policies import MirrorEntry

SOURCE = "quay.io/ns"


def _merge(*lists: list[str], never: tuple[bool, ...] = ()) -> tuple[list[str], bool]:
    entries = [
        MirrorEntry(
            source=SOURCE,
            mirrors=tuple(m),
            never_contact_source=(never[i] if never else False),
            origin=f"policy {i}",
        )
        for i, m in enumerate(lists)
    ]
    merged = merged_mirror_sets(entries)
    if not merged:
        return [], False
    (result,) = merged
    return list(result.mirrors), result.never_contact_source


@pytest.mark.parametrize(
    ("lists", "expected"),
    [
        ([["a", "b", "c"]], ["a", "b", "c"]),  # one list: kept as is
        ([["z", "y"], ["y", "x"]], ["z", "y", "x"]),  # chained through a shared mirror
        ([["b", "c"], ["a", "b"]], ["a", "b", "c"]),  # order of the policies does not matter
        ([["a", "b"], ["b", "a"]], ["a", "b"]),  # conflict: byte order breaks the cycle
        ([["b", "a"], ["a", "b"]], ["a", "b"]),
        ([["m2"], ["m1"]], ["m1", "m2"]),  # unrelated lists: byte order
        ([["z", SOURCE, "y"]], ["z", SOURCE, "y"]),  # the source listed mid-way stays there
        ([["z", SOURCE]], ["z"]),  # a trailing source is dropped
        ([[SOURCE], [SOURCE, SOURCE]], []),  # only the source: not a mirror set
        ([[]], []),  # no mirrors: ignored
        ([["B", "c"], ["a"]], ["B", "a", "c"]),  # byte order: upper case first
    ],
)
def test_merge_order(lists: list[list[str]], expected: list[str]) -> None:
    assert _merge(*lists)[0] == expected


def test_never_contact_source_on_any_entry_wins() -> None:
    assert _merge(["a"], ["b"], never=(False, True)) == (["a", "b"], True)
    assert _merge(["a"], ["b"], never=(False, False)) == (["a", "b"], False)


def test_entry_without_mirrors_does_not_carry_its_policy() -> None:
    assert _merge([], ["a"], never=(True, False)) == (["a"], False)
