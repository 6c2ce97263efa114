from __future__ import annotations

import pytest

from imgextract import oci
from imgextract.errors import NotFoundError, UsageError
from imgextract.oci.platform import host_architecture


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


@pytest.mark.parametrize(
    "text",
    [
        "linux/",
        "/amd64",
        "a/b/c/d",
        "",
        "/linux/arm",
        "linux/arm/",
        "linux /arm",
        "linux/&arm",
        "linux/arm/foo/bar",
    ],
)
def test_parse_invalid(text: str) -> None:
    """containerd ``TestParseSelectorInvalid`` (empty, leading or trailing slash, spaces, an
    invalid character, too many components), and this project's own malformed cases."""
    with pytest.raises(UsageError):
        oci.Platform.parse(text)


HOST = host_architecture()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("arm", "linux/arm"),
        ("armel", "linux/arm/v6"),
        ("armhf", "linux/arm"),
        ("Aarch64", "linux/arm64"),
        ("x86_64", "linux/amd64"),
        ("i386", "linux/386"),
        ("s390x", "linux/s390x"),
        ("linux", f"linux/{HOST}"),
        ("macOS", f"darwin/{HOST}"),
        ("windows", f"windows/{HOST}"),
    ],
)
def test_one_part_specifiers_name_an_os_or_an_architecture(text: str, expected: str) -> None:
    """containerd ``TestParseSelector``: a specifier of one part is an operating system Go knows
    (the host's architecture is implied) or else an architecture Go knows, normalised (the host's
    operating system, linux here, is implied).  ``platforms.Format`` of the result is ``expected``
    (Go's spelling: arm/v7 and arm64/v8 without the variant)."""
    got = oci.Platform.parse(text)
    assert str(got) == expected
    assert got.matches(oci.Platform.parse(expected))


@pytest.mark.parametrize("text", ["foo", "linuxx", "amd65"])
def test_one_part_naming_no_known_os_or_architecture_is_refused(text: str) -> None:
    """containerd ``platforms.Parse``: "unknown operating system or architecture"."""
    with pytest.raises(UsageError, match="unknown operating system or architecture"):
        oci.Platform.parse(text)


@pytest.mark.parametrize(
    ("text", "matching"),
    [
        ("linux/arm64", ["linux/aarch64", "linux/aarch64/v8", "linux/arm64/v8"]),
        ("linux/arm64/v8", ["linux/aarch64", "linux/aarch64/v8", "linux/arm64"]),
        ("linux/arm", ["linux/arm/v7", "linux/armhf", "linux/arm/7"]),
        ("linux/arm/v6", ["linux/armel"]),
        ("linux/arm/v7", ["linux/arm", "linux/armhf"]),
        ("Linux/x86_64", ["linux/amd64"]),
    ],
)
def test_containerd_selector_matches(text: str, matching: list[str]) -> None:
    """containerd ``TestParseSelector``'s ``matches`` column: the platforms each specifier's
    matcher (``NewMatcher``, normalised on both sides) accepts."""
    wanted = oci.Platform.parse(text)
    for other in matching:
        os_name, arch, *variant = other.split("/")
        assert wanted.matches(oci.Platform(os_name, arch, variant[0] if variant else "")), other


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


ARM = {v: oci.Platform("linux", "arm", v) for v in ("v5", "v6", "v7", "v8")}


@pytest.mark.parametrize(
    ("want", "offered", "chosen"),
    [
        ("linux/arm/v7", ("v6", "v5"), "v6"),  # no v7: the most capable compatible variant
        ("linux/arm", ("v5", "v6"), "v6"),  # linux/arm means v7, as in containerd
        ("linux/arm/v8", ("v5", "v7"), "v7"),
        ("linux/arm/v7", ("v6", "v7"), "v7"),  # an exact entry wins wherever it is
        ("linux/arm/v6", ("v7", "v5"), "v5"),
    ],
)
def test_arm_variants_fall_back_to_older_compatible_ones(
    want: str, offered: tuple[str, ...], chosen: str
) -> None:
    """containerd ``platforms.Only`` (and containers/image ``WantedPlatforms``' compatibility list):
    an arm/vN machine runs vN-1 ... v5 images, so an index lacking vN still serves it, the newest
    compatible variant first."""
    index = _index(*(ARM[v] for v in offered))
    got = oci.select_platform(index, oci.Platform.parse(want))
    assert got.platform == ARM[chosen]


@pytest.mark.parametrize(("want", "offered"), [("linux/arm/v6", ("v7", "v8")), ("linux/arm/v5", ("v6",))])
def test_arm_variants_never_fall_forward(want: str, offered: tuple[str, ...]) -> None:
    """A newer variant needs instructions the wanted machine may lack: never chosen."""
    with pytest.raises(NotFoundError):
        oci.select_platform(_index(*(ARM[v] for v in offered)), oci.Platform.parse(want))


def _offer(*platforms: str) -> oci.Index:
    return _index(*(oci.Platform.parse(p) for p in platforms))


@pytest.mark.parametrize(
    ("want", "offered", "chosen"),
    [
        ("linux/amd64/v3", ("linux/amd64",), 0),  # v1, the baseline, is spelled without a variant
        ("linux/amd64/v3", ("linux/amd64/v1",), 0),
        ("linux/amd64/v4", ("linux/amd64", "linux/amd64/v2"), 1),  # the most capable older level
        ("linux/x86_64/v2", ("linux/amd64",), 0),
        ("linux/amd64/v3", ("linux/amd64/v3", "linux/amd64/v2"), 0),
        ("linux/arm64/v8.2", ("linux/arm64/v8.1", "linux/arm64"), 0),
        ("linux/arm64/v8.2", ("linux/arm64",), 0),
        ("linux/arm64/v9", ("linux/arm64",), 0),
        ("linux/arm64/v9.1", ("linux/arm64/v8.6", "linux/arm64/v9"), 1),  # v9.x runs v9.0 ... first
        ("linux/arm64/v9.1", ("linux/arm64/v8.5", "linux/arm64/v8.7"), 0),  # ... then v8.(x+5) down
        ("linux/arm/v9", ("linux/arm/v5", "linux/arm/v8"), 1),
    ],
)
def test_older_variants_of_amd64_and_arm64_serve_newer_machines(
    want: str, offered: tuple[str, ...], chosen: int
) -> None:
    """containerd ``platforms.Only`` (``platformVector``): amd64/vN also runs amd64/vN-1 ... v1
    images, arm64/v8.x runs v8.x-1 ... v8, arm64/v9.x runs v9.x-1 ... v9 and then v8.x+5 ... v8,
    arm/vN runs vN-1 ... v5.  containers/image ``WantedPlatforms`` agrees where it has a rule (it
    always tries the variant-less entry after the wanted one)."""
    index = _offer(*offered)
    assert oci.select_platform(index, oci.Platform.parse(want)) is index.manifests[chosen]


@pytest.mark.parametrize(
    ("want", "offered"),
    [
        ("linux/amd64", ("linux/amd64/v2",)),  # never a newer level
        ("linux/amd64/v2", ("linux/386",)),  # nor another architecture (containerd alone falls to 386)
        ("linux/arm64", ("linux/arm/v7",)),  # (containerd alone falls back to 32-bit arm)
        ("linux/arm64", ("linux/arm64/v8.1",)),
        ("linux/arm64/v8.1", ("linux/arm64/v8.2",)),
        ("linux/arm64", ("linux/arm64/v8.0",)),  # v8.0 is not normalised to v8 by containerd
        ("linux/arm64/v9", ("linux/arm64/v8.6",)),  # v9.0 runs v8.5 at most
    ],
)
def test_no_newer_variant_and_no_other_architecture(want: str, offered: tuple[str, ...]) -> None:
    """containerd ``platforms.Only`` never walks up a variant chain; like containers/image's
    ``WantedPlatforms``, a pull here never takes another architecture (amd64 -> 386, arm64 -> arm)."""
    with pytest.raises(NotFoundError):
        oci.select_platform(_offer(*offered), oci.Platform.parse(want))


@pytest.mark.parametrize(
    "text",
    [
        "linux/&arm",
        "*/arm64",
        "linux/*",
        "linux /arm",
        "linux/arm64/v8 x",
        "linux/amd64:10.0",
        "windows(10.0)/amd64",
    ],
)
def test_platform_components_outside_containerds_specifier_grammar_are_usage_errors(text: str) -> None:
    """containerd ``platforms.Parse``: the os matches ``[A-Za-z0-9_-]+`` and the architecture and
    variant ``[A-Za-z0-9_.-]+`` (``specifierRe``); wildcards are refused.  Such text can never name
    an index entry, so it is a usage error (exit 2) rather than a platform not found (exit 4)."""
    with pytest.raises(UsageError, match="invalid platform"):
        oci.Platform.parse(text)


@pytest.mark.parametrize(
    "text",
    ["linux/arm64/v8.2", "linux/amd64/v3", "Linux/AMD64", "linux/x86_64", "linux/x86-64", "linux/arm_x/v7"],
)
def test_platform_components_inside_the_grammar_parse(text: str) -> None:
    assert str(oci.Platform.parse(text)) == text
