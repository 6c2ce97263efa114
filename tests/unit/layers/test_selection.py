from __future__ import annotations

import pytest

from imgextract.errors import UsageError
from imgextract.layers.selection import PathSelection, normalize


@pytest.mark.parametrize(
    ("raw", "norm"),
    [("manifests/", "manifests"), ("/metadata", "metadata"), ("./a//b/./c/", "a/b/c"), ("/", ""), (".", "")],
)
def test_normalize(raw: str, norm: str) -> None:
    assert normalize(raw) == norm


@pytest.mark.parametrize("bad", ["../x", "a/../../b", "a\0b"])
def test_normalize_refuses(bad: str) -> None:
    with pytest.raises(UsageError):
        normalize(bad)


def test_none_and_root_select_everything() -> None:
    assert PathSelection(None).everything
    assert PathSelection(["/"]).everything
    assert PathSelection(None).wants("anything/at/all")


def test_wants_selected_below_and_on_the_way() -> None:
    s = PathSelection(["manifests/", "/a/b"])
    assert s.wants("manifests") and s.wants("manifests/x.yaml") and s.wants("a") and s.wants("a/b/c")
    assert not s.wants("manifestsx") and not s.wants("a/c") and not s.wants("metadata/annotations.yaml")
    assert s.covers("a/b/c") and not s.covers("a")


def test_aliases_extend_the_selection() -> None:
    s = PathSelection(["manifests"])
    s.set_aliases(["real/manifests"])
    assert s.wants("real/manifests/x") and s.wants("real") and not s.wants("other")
