"""Choosing between the gzip and the zstd variant of one platform in a dual-compression index."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imgextract import oci
from imgextract.errors import IntegrityError
from imgextract.pull.variants import choose_variant, platform_variants

AMD64 = oci.Platform("linux", "amd64")
CHUNKED = {
    "io.containers.zstd-chunked.manifest-checksum": "sha256:" + "a" * 64,
    "io.containers.zstd-chunked.manifest-position": "100:20:40:1",
}


def _desc(digest: str, zstd: bool = False, platform: oci.Platform | None = AMD64) -> oci.Descriptor:
    notes = {"io.github.containers.compression.zstd": "true"} if zstd else {}
    return oci.Descriptor(
        oci.OCI_MANIFEST, "sha256:" + digest * 64, 500, annotations=notes, platform=platform
    )


def _manifest(sizes: list[int], *, zstd: bool = False, chunked: bool = False) -> oci.Manifest:
    mt = "application/vnd.oci.image.layer.v1.tar+" + ("zstd" if zstd else "gzip")
    layers = tuple(
        oci.Descriptor(mt, "sha256:" + str(i) * 64, size, annotations=CHUNKED if chunked else {})
        for i, size in enumerate(sizes)
    )
    config = oci.Descriptor("application/vnd.oci.image.config.v1+json", "sha256:" + "c" * 64, 10)
    return oci.Manifest(oci.OCI_MANIFEST, config, layers)


def test_platform_variants_needs_both() -> None:
    gz, zs = _desc("1"), _desc("2", zstd=True)
    arm = _desc("3", platform=oci.Platform("linux", "arm64"))
    assert platform_variants(oci.Index(oci.OCI_INDEX, (gz, zs, arm)), AMD64) == (gz, zs)
    assert platform_variants(oci.Index(oci.OCI_INDEX, (gz, arm)), AMD64) is None
    assert platform_variants(oci.Index(oci.OCI_INDEX, (zs, arm)), AMD64) is None


@pytest.mark.parametrize(
    ("zstd_sizes", "chunked", "whole", "prefer", "expected"),
    [
        ([900], True, False, "auto", "zstd"),  # a selection: TOCs and chunks only
        ([1100], True, False, "auto", "zstd"),  # even when bigger: chunks are at most the layer
        ([1100], True, True, "auto", "gzip"),  # --all: fewer layer bytes
        ([900], False, False, "auto", "zstd"),  # plain zstd: fewer bytes
        ([1000], False, False, "auto", "gzip"),  # tie: gzip
        ([900], True, False, "gzip", "gzip"),
        ([1100], False, True, "zstd", "zstd"),
    ],
)
def test_choose_variant(
    zstd_sizes: list[int], chunked: bool, whole: bool, prefer: str, expected: str
) -> None:
    choice = choose_variant(
        (_desc("1"), _manifest([1000])),
        (_desc("2", zstd=True), _manifest(zstd_sizes, zstd=True, chunked=chunked)),
        prefer=prefer,
        whole=whole,
    )
    assert choice.chosen == expected
    doc = choice.to_json()
    variants: Any = doc["variants"]
    assert [v["compression"] for v in variants] == ["gzip", "zstd:chunked" if chunked else "zstd"]


def test_a_variant_of_an_unsupported_digest_algorithm_is_an_integrity_error() -> None:
    """go-digest ``Digest.Validate`` (``ErrDigestUnsupported``): a chosen index entry whose digest
    we cannot verify is refused before anything is fetched, as :func:`oci.select_platform` does."""
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "manifests": [
                _desc("1").to_json(),
                {**_desc("2", zstd=True).to_json(), "digest": "blake3:" + "e" * 64},
            ],
        }
    ).encode()
    with pytest.raises(IntegrityError, match="unsupported digest algorithm"):
        platform_variants(oci.parse_index(raw), AMD64)


def test_platform_less_entries_pair_up_when_no_platform_matches() -> None:
    """containers/image ``TestOCI1IndexChooseInstanceByCompression`` (zstd-selection2.json,
    "matchesImageWithNoPlatform"): with no platform matching, the entries without a platform are
    the candidates, and their gzip (c767) and zstd (f2f5) variants are both offered; a platform
    that matches pairs its own entries only."""
    entries = (
        _desc("a"),
        _desc("b", zstd=True),
        _desc("7", platform=None),
        _desc("f", zstd=True, platform=None),
        _desc("4", platform=None),
    )
    index = oci.Index(oci.OCI_INDEX, entries)
    assert platform_variants(index, oci.Platform("linux", "matchesImageWithNoPlatform")) == (
        entries[2],
        entries[3],
    )
    assert platform_variants(index, AMD64) == (entries[0], entries[1])
