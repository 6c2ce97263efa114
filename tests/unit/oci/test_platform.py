from __future__ import annotations

import pytest

from imgextract import oci
from imgextract.errors import NotFoundError, UsageError


def _index(*platforms: oci.Platform | None) -> oci.Index:
    return oci.Index(
        media_type=oci.OCI_INDEX,
        manifests=tuple(
            oci.Descriptor(media_type=oci.OCI_MANIFEST, digest=f"sha256:{i:064x}", size=1, platform=p)
            for i, p in enumerate(platforms)
        ),
    )


def test_parse() -> None:
    assert oci.Platform.parse("linux/arm64/v8") == oci.Platform("linux", "arm64", "v8")
    assert oci.Platform.parse("linux/amd64") == oci.Platform("linux", "amd64")


@pytest.mark.parametrize("text", ["linux", "linux/", "/amd64", "a/b/c/d", ""])
def test_parse_invalid(text: str) -> None:
    with pytest.raises(UsageError):
        oci.Platform.parse(text)


@pytest.mark.parametrize(
    ("want", "have"),
    [
        ("linux/arm64", oci.Platform("linux", "arm64", "v8")),
        ("linux/arm64/v8", oci.Platform("linux", "arm64")),
        ("linux/aarch64", oci.Platform("linux", "arm64", "v8")),
        ("linux/x86_64", oci.Platform("linux", "amd64")),
        ("linux/arm", oci.Platform("linux", "arm", "v7")),
        ("linux/armhf", oci.Platform("linux", "arm", "v7")),
        ("Linux/AMD64", oci.Platform("linux", "amd64")),
    ],
)
def test_normalised_match(want: str, have: oci.Platform) -> None:
    assert oci.Platform.parse(want).matches(have)


@pytest.mark.parametrize(
    ("want", "have"),
    [
        ("linux/arm/v6", oci.Platform("linux", "arm", "v7")),
        ("linux/amd64", oci.Platform("linux", "arm64")),
        ("linux/amd64", oci.Platform("windows", "amd64")),
        ("linux/arm64/v9", oci.Platform("linux", "arm64")),
    ],
)
def test_no_match(want: str, have: oci.Platform) -> None:
    assert not oci.Platform.parse(want).matches(have)


def test_select_first_matching_entry() -> None:
    index = _index(
        None,
        oci.Platform("linux", "amd64"),
        oci.Platform("linux", "arm64", "v8"),
        oci.Platform("linux", "arm64"),
    )
    assert oci.select_platform(index, oci.Platform.parse("linux/arm64")) is index.manifests[2]
    assert oci.select_platform(index, oci.Platform.parse("linux/amd64")) is index.manifests[1]


def test_select_absent_lists_available() -> None:
    index = _index(
        oci.Platform("linux", "amd64"), oci.Platform("linux", "s390x"), oci.Platform("unknown", "unknown")
    )
    with pytest.raises(NotFoundError) as info:
        oci.select_platform(index, oci.Platform.parse("linux/ppc64le"))
    assert "linux/ppc64le" in str(info.value)
    assert "linux/amd64, linux/s390x" in str(info.value)
    assert "unknown" not in str(info.value)
