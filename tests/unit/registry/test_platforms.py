from __future__ import annotations

import pytest

from imgextract import manifests as m
from imgextract.errors import NotFoundError, UsageError


def _index(*platforms: m.Platform | None) -> m.Index:
    return m.Index(
        media_type=m.OCI_INDEX,
        manifests=tuple(
            m.Descriptor(media_type=m.OCI_MANIFEST, digest=f"sha256:{i:064x}", size=1, platform=p)
            for i, p in enumerate(platforms)
        ),
    )


def test_parse() -> None:
    assert m.Platform.parse("linux/arm64/v8") == m.Platform("linux", "arm64", "v8")
    assert m.Platform.parse("linux/amd64") == m.Platform("linux", "amd64")


@pytest.mark.parametrize("text", ["linux", "linux/", "/amd64", "a/b/c/d", ""])
def test_parse_invalid(text: str) -> None:
    with pytest.raises(UsageError):
        m.Platform.parse(text)


@pytest.mark.parametrize(
    ("want", "have"),
    [
        ("linux/arm64", m.Platform("linux", "arm64", "v8")),
        ("linux/arm64/v8", m.Platform("linux", "arm64")),
        ("linux/aarch64", m.Platform("linux", "arm64", "v8")),
        ("linux/x86_64", m.Platform("linux", "amd64")),
        ("linux/arm", m.Platform("linux", "arm", "v7")),
        ("linux/armhf", m.Platform("linux", "arm", "v7")),
        ("Linux/AMD64", m.Platform("linux", "amd64")),
    ],
)
def test_normalised_match(want: str, have: m.Platform) -> None:
    assert m.Platform.parse(want).matches(have)


@pytest.mark.parametrize(
    ("want", "have"),
    [
        ("linux/arm/v6", m.Platform("linux", "arm", "v7")),
        ("linux/amd64", m.Platform("linux", "arm64")),
        ("linux/amd64", m.Platform("windows", "amd64")),
        ("linux/arm64/v9", m.Platform("linux", "arm64")),
    ],
)
def test_no_match(want: str, have: m.Platform) -> None:
    assert not m.Platform.parse(want).matches(have)


def test_select_first_matching_entry() -> None:
    index = _index(
        None, m.Platform("linux", "amd64"), m.Platform("linux", "arm64", "v8"), m.Platform("linux", "arm64")
    )
    assert m.select_platform(index, m.Platform.parse("linux/arm64")) is index.manifests[2]
    assert m.select_platform(index, m.Platform.parse("linux/amd64")) is index.manifests[1]


def test_select_absent_lists_available() -> None:
    index = _index(
        m.Platform("linux", "amd64"), m.Platform("linux", "s390x"), m.Platform("unknown", "unknown")
    )
    with pytest.raises(NotFoundError) as info:
        m.select_platform(index, m.Platform.parse("linux/ppc64le"))
    assert "linux/ppc64le" in str(info.value)
    assert "linux/amd64, linux/s390x" in str(info.value)
    assert "unknown" not in str(info.value)
