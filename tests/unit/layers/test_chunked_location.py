"""Where a zstd:chunked TOC is: the layer annotations, read as containers/storage reads them.

``manifest-position`` is ``offset:length:uncompressedLength:manifestType`` and
``manifest-checksum`` the digest of the compressed TOC bytes, under either spelling
(``io.containers.`` from skopeo 1.9, ``io.github.containers.`` from newer writers).  A layer
is read partially only when it is a zstd layer with both annotations and the TOC type is 1
(``manifestTypeCRFS``); any other layer is fetched whole (and verified whole).
"""

from __future__ import annotations

import pytest

from imgextract.errors import IntegrityError, LimitExceeded
from imgextract.layers.chunked.toc import MAX_TOC_BYTES, TocLocation, is_chunked, toc_location

ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
SUM = "sha256:" + "ab" * 32


def _notes(position: str, checksum: str | None = SUM, prefix: str = "io.containers.") -> dict[str, str]:
    notes = {f"{prefix}zstd-chunked.manifest-position": position}
    if checksum is not None:
        notes[f"{prefix}zstd-chunked.manifest-checksum"] = checksum
    return notes


@pytest.mark.parametrize("prefix", ["io.containers.", "io.github.containers."])
def test_position_fields_are_offset_length_uncompressed_length_and_type(prefix: str) -> None:
    assert toc_location(_notes("1234:56:789:1", prefix=prefix)) == TocLocation(1234, 56, 789, SUM)
    assert is_chunked(ZSTD, _notes("1234:56:789:1", prefix=prefix))


def test_only_zstd_layers_are_chunked() -> None:
    notes = _notes("1234:56:789:1")
    assert is_chunked("application/vnd.oci.image.layer.v1.tar+zstd", notes)
    assert is_chunked("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", notes)
    assert not is_chunked("application/vnd.oci.image.layer.v1.tar+gzip", notes)
    assert not is_chunked("application/vnd.oci.image.layer.v1.tar", notes)
    assert not is_chunked(ZSTD, {})
    assert not is_chunked(ZSTD, None)


def test_another_toc_type_or_no_checksum_means_the_whole_layer() -> None:
    """manifestType 1 is the only TOC format (``manifestTypeCRFS``); without the checksum the TOC
    could not be verified: both layers are fetched whole, not refused."""
    assert toc_location(_notes("1234:56:789:2")) is None
    assert toc_location(_notes("1234:56:789:0")) is None
    assert toc_location(_notes("1234:56:789:1", checksum=None)) is None
    assert not is_chunked(ZSTD, _notes("1234:56:789:1", checksum=None))


@pytest.mark.parametrize(
    "position",
    [
        "1234:56:789",
        "1234:56:789:1:0",
        "",
        "1234:56:-789:1",
        "+1234:56:789:1",
        "1234: 56:789:1",
        "\u0661:56:789:1",
    ],
)
def test_a_malformed_position_is_an_integrity_error(position: str) -> None:
    with pytest.raises(IntegrityError, match="manifest position"):
        toc_location(_notes(position))


@pytest.mark.parametrize("checksum", ["sha512:" + "ab" * 64, "sha256:" + "AB" * 32, "ab" * 32, "sha256:abc"])
def test_a_checksum_that_is_not_a_sha256_digest_is_an_integrity_error(checksum: str) -> None:
    with pytest.raises(IntegrityError):
        toc_location(_notes("1234:56:789:1", checksum=checksum))


@pytest.mark.parametrize(
    "position", ["1234:0:789:1", "1234:56:0:1", f"0:{MAX_TOC_BYTES + 1}:789:1", f"0:56:{MAX_TOC_BYTES + 1}:1"]
)
def test_an_empty_or_oversized_toc_is_refused(position: str) -> None:
    with pytest.raises(LimitExceeded):
        toc_location(_notes(position))
