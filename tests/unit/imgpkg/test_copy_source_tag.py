"""Which tag ``copy`` re-applies in the destination and writes in the BundleLock, as imgpkg decides it.

imgpkg master (``cmd/copy_repo_src.go`` ``getSourceImages``, ``cmd/copy.go`` ``writeBundleLockOutput``)
takes the bundle's ``PlainImage.Tag()``: the source is parsed with go-containerregistry's
``name.ParseReference``; a tag reference gives its tag, ``latest`` when none was written; a digest
reference (also ``repo:tag@digest``, which ggcr reads as a digest) gives no tag.  The data is ours.
"""

from __future__ import annotations

import pytest

from imgextract.imgpkg.copy import source_tag
from imgextract.reference import parse_reference

D = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    "ref, tag",
    [
        ("registry.example/team/cfg:2.0", "2.0"),
        ("registry.example/team/cfg", "latest"),
        ("localhost:5000/cfg", "latest"),
        (f"registry.example/team/cfg@{D}", None),
        (f"registry.example/team/cfg:2.0@{D}", None),
    ],
)
def test_source_tag_is_plain_image_tag(ref: str, tag: str | None) -> None:
    """imgpkg ``PlainImage.Tag``: ``TagStr()`` of a tag reference (ggcr defaults it to latest), ""
    for a digest reference."""
    assert source_tag(parse_reference(ref)) == tag
